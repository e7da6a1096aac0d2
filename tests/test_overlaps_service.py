"""Overlapping parcels end to end: imported into the database, extracted by ``cbm extract``.

Rectangles on pixel boundaries, so each parcel's expected statistics are numpy over its own
rectangle, whatever other parcel covers the same pixels.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
from gridtools import CRS, rect, write_cog

from backend.catalogue import add_source
from backend.db import connect, database_url
from backend.parcels import import_parcels
from backend.settings import Settings

# pid -> (col0, row0, col1, row1) in 10 m pixels; even bounds so 20 m pixels nest
PARCELS = {"big": (2, 2, 40, 30), "inside": (10, 10, 20, 20), "twin1": (44, 4, 60, 20),
           "twin2": (44, 4, 60, 20), "partly": (30, 20, 50, 40), "alone": (2, 50, 12, 60)}


def _scene(tmp_path: Path) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    s2 = {b: rng.integers(100, 5000, (64, 64), dtype=np.uint16) for b in ("B02", "B03", "B04", "B08")}
    s2 |= {b: rng.integers(100, 5000, (32, 32), dtype=np.uint16) for b in ("B05", "B11")}
    s2["SCL"] = np.full((32, 32), 4, np.uint8)
    s2["SCL"][6:9, 6:9] = 9  # a cloud inside "inside" and "big"
    item = tmp_path / "cogs" / "S2A_MSIL2A_20250601T103031_R008_T31UFU"
    for band, arr in s2.items():
        write_cog(item / f"{band}.tif", arr, 10 if arr.shape == (64, 64) else 20,
                  None if band == "SCL" else 0)
    gpd.GeoDataFrame({"pid": list(PARCELS), "crop_code": ["1"] * len(PARCELS)},
                     geometry=[rect(*r) for r in PARCELS.values()], crs=CRS).to_file(tmp_path / "p.gpkg")
    return s2


def test_cbm_extract_gives_overlapping_parcels_their_own_pixels(clean_db: Settings, tmp_path: Path) -> None:
    s2 = _scene(tmp_path)
    import_parcels(clean_db, tmp_path / "p.gpkg", aoi="ov", year=2025)
    assert add_source(clean_db, str(tmp_path / "cogs")).added == 1
    env = {**os.environ, "CBM_DEMO_MODE": "true", "CBM_DATABASE_URL": database_url(clean_db)}
    res = subprocess.run([sys.executable, "-m", "backend", "extract", "--aoi", "ov", "--year", "2025"],
                         capture_output=True, text=True, env=env, timeout=300, check=False)
    assert res.returncode == 0, res.stderr
    with connect(clean_db) as conn:
        rows = {r["pid"]: r for r in conn.execute(
            "SELECT p.pid, s.n_total, s.valid_frac, cbm_hist(s.hist) AS hist, cbm_stats(s.stats) AS stats "
            "FROM signatures s JOIN parcels p ON p.set_id = s.set_id AND p.id = s.parcel_id").fetchall()}
    assert set(rows) == set(PARCELS)
    ok20 = s2["SCL"] != 9
    ok10 = np.repeat(np.repeat(ok20, 2, 0), 2, 1)
    for pid, (c0, r0, c1, r1) in PARCELS.items():
        row = rows[pid]
        assert row["n_total"] == (c1 - c0) * (r1 - r0), pid
        b04 = s2["B04"][r0:r1, c0:c1][ok10[r0:r1, c0:c1]].astype(np.float64)
        b11 = s2["B11"][r0 // 2:r1 // 2, c0 // 2:c1 // 2][ok20[r0 // 2:r1 // 2, c0 // 2:c1 // 2]]
        stats = np.array(row["stats"])  # bands B02 B03 B04 B05 B08 B11
        for got, v in ((stats[2], b04), (stats[5], b11.astype(np.float64))):
            assert got[0] == v.size and (got[3], got[4]) == (v.min(), v.max()), pid
            np.testing.assert_allclose(got[1:3], [v.mean(), v.std()], rtol=2e-6)
            np.testing.assert_array_equal(got[5:], np.percentile(v, [25, 50, 75]).astype(np.float32))
        hist = np.bincount(s2["SCL"][r0 // 2:r1 // 2, c0 // 2:c1 // 2].ravel(), minlength=12)
        np.testing.assert_array_equal(row["hist"], hist[:12], err_msg=pid)
        assert row["valid_frac"] == np.float32(b04.size / row["n_total"]), pid
