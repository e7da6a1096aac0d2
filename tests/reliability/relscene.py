"""Reliability helpers: a tiny extraction scene (3 images x 4 parcels), S3 upload, row checksums.

The scene follows ``tests/test_extraction_service.py``: COGs written with rasterio, parcels on
pixel boundaries, imported and catalogued for real. The checksum covers every signature column
except surrogate ids, ordered by (pid, item id), so two runs compare row for row.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
from gridtools import CRS, rect, write_cog

from backend.catalogue import add_source
from backend.db import connect
from backend.parcels import import_parcels
from backend.settings import Settings

AOI, YEAR = "rl", 2025
ITEMS = ("S2A_MSIL2A_20250601T103031_R008_T31UFU", "S2B_MSIL2A_20250611T103031_R008_T31UFU",
         "S1A_IW_GRDH_20250603T055012_DEMO")
PARCELS = {"A": (2, 2, 12, 10), "B": (20, 4, 30, 14), "C": (40, 40, 50, 60), "D": (60, 60, 70, 70)}
CHECKSUM_SQL = """
SELECT count(*) AS n, count(DISTINCT (s.parcel_id, s.image_id)) AS n_distinct,
       md5(string_agg(concat_ws('|', p.pid, i.item_id, s.n_total, s.valid_frac, s.hist::text,
                                s.stats::text), E'\\n' ORDER BY p.pid, i.item_id)) AS md5
  FROM signatures s JOIN parcels p ON p.set_id = s.set_id AND p.id = s.parcel_id
  JOIN images i ON i.id = s.image_id
"""


def build_scene(root: Path) -> Path:
    """Write two S2 items, one S1 item and the parcel file under ``root``; returns the COG folder."""
    rng = np.random.default_rng(3)
    cogs = root / "cogs"
    for k, item in enumerate(ITEMS[:2]):
        for b in ("B02", "B03", "B04", "B08"):
            write_cog(cogs / item / f"{b}.tif", rng.integers(100, 5000, (64, 64), dtype=np.uint16), 10)
        for b in ("B05", "B11"):
            write_cog(cogs / item / f"{b}.tif", rng.integers(100, 5000, (32, 32), dtype=np.uint16), 20)
        scl = np.full((32, 32), 4, np.uint8)
        scl[2:7, 10:15] = 9 if k == 0 else 4
        write_cog(cogs / item / "SCL.tif", scl, 20)
    for b in ("VV", "VH"):
        write_cog(cogs / ITEMS[2] / f"{b}.tif", rng.random((64, 64), dtype=np.float32), 10)
    geoms = [rect(*r) for r in PARCELS.values()]
    gpd.GeoDataFrame({"pid": list(PARCELS), "crop_code": ["1"] * 4}, geometry=geoms,
                     crs=CRS).to_file(root / "parcels.gpkg")
    return cogs


def load_local(settings: Settings, root: Path) -> None:
    """Import the parcels and catalogue the local COG folder (3 jobs)."""
    import_parcels(settings, root / "parcels.gpkg", aoi=AOI, year=YEAR)
    result = add_source(settings, str(root / "cogs"))
    assert result.added == len(ITEMS) and not result.rejected, result


def local_items(settings: Settings) -> list[dict[str, Any]]:
    """The STAC items of the scene as catalogued by :func:`load_local` (local hrefs)."""
    with connect(settings) as conn:
        rows = conn.execute("SELECT item FROM images ORDER BY item_id").fetchall()
    return [r["item"] for r in rows]


def load_s3(settings: Settings, root: Path, items: list[dict[str, Any]], s3: Any, prefix: str) -> None:
    """Import the parcels and catalogue ``items`` re-pointed at ``s3://cbm/<prefix>/...``."""
    import_parcels(settings, root / "parcels.gpkg", aoi=AOI, year=YEAR)
    for item in items:
        item = json.loads(json.dumps(item))
        for name, asset in item["assets"].items():
            key = f"{prefix}/{item['id']}/{name}.tif"
            s3.upload_file(asset["href"], "cbm", key)
            asset["href"] = f"s3://cbm/{key}"
        path = root / f"{prefix}-{item['id']}.json"
        path.write_text(json.dumps(item))
        assert add_source(settings, str(path)).added == 1


def checksum(settings: Settings) -> dict[str, Any]:
    """Row count, distinct (parcel, image) count and md5 of all signature rows in order."""
    with connect(settings) as conn:
        return dict(conn.execute(CHECKSUM_SQL).fetchone())


def job_counts(settings: Settings) -> dict[str, int]:
    with connect(settings) as conn:
        rows = conn.execute("SELECT status, count(*) AS n FROM extraction_jobs GROUP BY status").fetchall()
    return {r["status"]: r["n"] for r in rows}


def record(kind: str, **data: Any) -> None:
    """Append one result line for ``bench/reliability.py`` (only when it runs the suite)."""
    path = os.environ.get("CBM_RELIABILITY_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"kind": kind, **data}) + "\n")
