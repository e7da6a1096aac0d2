"""A tiny catalogued scene for chip tests: S2 (10 m and 20 m COGs, SCL) and S1, known values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from gridtools import CRS, X0, Y0, write_cog
from rasterio.warp import transform as warp_transform

from backend.catalogue import add_source
from backend.db import connect
from backend.settings import Settings

S2_DATE = "20250601T103031"
S2_DATE_2 = "20250611T103031"
S1_DATE = "20250603T055012"
S2_ITEM = f"S2A_MSIL2A_{S2_DATE}_R008_T31UFU"


def lonlat(col: float, row: float) -> tuple[float, float]:
    """WGS84 of a 10 m pixel position (col, row), e.g. (20.5, 30.5) is a pixel centre."""
    xs, ys = warp_transform(CRS, "EPSG:4326", [X0 + col * 10], [Y0 - row * 10])
    return float(xs[0]), float(ys[0])


def make_scene(root: Path) -> dict:
    """Write two S2 scenes and one S1 scene of COGs under ``root/cogs``; return their arrays."""
    rng = np.random.default_rng(11)
    s2 = {b: rng.integers(100, 5000, (64, 64), dtype=np.uint16) for b in ("B02", "B03", "B04", "B08")}
    s2 |= {b: rng.integers(100, 5000, (32, 32), dtype=np.uint16) for b in ("B05", "B11")}
    scl = np.full((32, 32), 4, np.uint8)
    scl[0:8, 0:8] = 9  # cloud in the top-left 80 x 80 m... at 20 m: 160 x 160 m
    s2["SCL"] = scl
    for date, bands in ((S2_DATE, s2), (S2_DATE_2, {**s2, "SCL": np.full((32, 32), 4, np.uint8)})):
        item = root / "cogs" / f"S2A_MSIL2A_{date}_R008_T31UFU"
        for band, arr in bands.items():
            write_cog(item / f"{band}.tif", arr, 10 if arr.shape == (64, 64) else 20,
                      None if band == "SCL" else 0)
    s1 = {b: rng.uniform(0.001, 0.5, (64, 64)).astype(np.float32) for b in ("VV", "VH")}
    for band, arr in s1.items():
        write_cog(root / "cogs" / f"S1A_IW_GRDH_{S1_DATE}_DEMO" / f"{band}.tif", arr, 10)
    return {"s2": s2, "s1": s1, "cogs": root / "cogs"}


def catalogue(settings: Settings, scene: dict) -> dict[str, dict]:
    """Catalogue the scene's folder; image rows by item id."""
    result = add_source(settings, str(scene["cogs"]))
    assert result.added == 3 and not result.rejected, result
    with connect(settings) as conn:
        rows = conn.execute("SELECT id, item_id, collection, kind, datetime, cloud_cover, epsg, bands, "
                            "item, item_hash FROM images").fetchall()
    return {r["item_id"]: r for r in rows}
