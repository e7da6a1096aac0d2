"""A tiny multi-date S2 scene for batch tests: 6 images x 4 parcels, two identical parcel sets.

``bt`` is extracted by the batch runner, ``dx`` directly with ``extract``; their rows must match.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
from gridtools import CRS, rect, write_cog

from backend.catalogue import add_source
from backend.db import connect
from backend.parcels import import_parcels
from backend.settings import Settings

DATES = ["20250601T103031", "20250611T103031", "20250621T103031", "20250701T103031",
         "20250711T103031", "20250721T103031"]
PARCELS = {"A": (2, 2, 12, 10), "B": (20, 4, 30, 14), "C": (40, 40, 50, 60), "D": (60, 60, 70, 70)}
N_IMAGES, N_PARCELS = len(DATES), len(PARCELS)


def build(root: Path) -> Path:
    """Write the COGs and the parcel file under ``root``; returns the folder of COGs."""
    rng = np.random.default_rng(11)
    for i, date in enumerate(DATES):
        item = root / "cogs" / f"S2A_MSIL2A_{date}_R008_T31UFU"
        for band in ("B02", "B03", "B04", "B08"):
            write_cog(item / f"{band}.tif", rng.integers(100, 5000, (64, 64), dtype=np.uint16), 10, 0)
        for band in ("B05", "B11"):
            write_cog(item / f"{band}.tif", rng.integers(100, 5000, (32, 32), dtype=np.uint16), 20, 0)
        scl = np.full((32, 32), 4, np.uint8)
        scl[2:7, 10:15] = 9 if i % 2 else 4  # parcel B clouded on every other date
        write_cog(item / "SCL.tif", scl, 20, None)
    geoms = [rect(*r) for r in PARCELS.values()]
    gpd.GeoDataFrame({"pid": list(PARCELS), "crop_code": ["1"] * N_PARCELS}, geometry=geoms,
                     crs=CRS).to_file(root / "parcels.gpkg")
    return root / "cogs"


def load(settings: Settings, root: Path, aois: tuple[str, ...] = ("bt", "dx")) -> None:
    """Import one parcel set per AOI (year 2025) and catalogue the images (jobs for each set)."""
    cogs = build(root)
    for aoi in aois:
        import_parcels(settings, root / "parcels.gpkg", aoi=aoi, year=2025)
    result = add_source(settings, str(cogs))
    assert result.added == N_IMAGES and not result.rejected, result


def signatures(settings: Settings, aoi: str) -> dict[tuple[str, str], tuple]:
    """(pid, item id) -> (n_total, valid_frac, hist, stats) of a parcel set."""
    with connect(settings) as conn:
        rows = conn.execute(
            "SELECT p.pid, i.item_id, s.n_total, s.valid_frac, cbm_hist(s.hist) AS hist, "
            "cbm_stats(s.stats) AS stats FROM signatures s "
            "JOIN parcel_sets ps ON ps.id = s.set_id JOIN parcels p ON p.set_id = s.set_id "
            "AND p.id = s.parcel_id JOIN images i ON i.id = s.image_id WHERE ps.aoi = %s",
            (aoi,)).fetchall()
    return {(r["pid"], r["item_id"]): (r["n_total"], r["valid_frac"], r["hist"],
                                       np.array(r["stats"], dtype=float)) for r in rows}


def assert_same_rows(a: dict, b: dict) -> None:
    """Both sets hold the same rows (NaN stats compare equal)."""
    assert set(a) == set(b) and len(a) == N_IMAGES * N_PARCELS
    for key, (n, frac, hist, stats) in a.items():
        n2, frac2, hist2, stats2 = b[key]
        assert (n, frac, hist) == (n2, frac2, hist2), key
        np.testing.assert_array_equal(stats, stats2)


def jobs(settings: Settings, aoi: str, ptype: str = "") -> list[dict]:
    """The extraction jobs of a parcel set (year 2025; ``ptype`` ``""``: the main set)."""
    with connect(settings) as conn:
        return list(conn.execute(
            "SELECT j.id, j.status, j.attempts, j.worker, j.lease_until, j.finished_at "
            "FROM extraction_jobs j JOIN parcel_sets ps ON ps.id = j.set_id "
            "WHERE ps.aoi = %s AND ps.ptype = %s ORDER BY j.id",
            (aoi, ptype)))
