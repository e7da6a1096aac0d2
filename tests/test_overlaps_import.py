"""Overlaps in the import report: counts, largest area and share, pairs; refused above a share."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from realitems import SHARED_REALDATA
from shapely.geometry import box

from backend.db import connect, database_url
from backend.errors import InvalidInput
from backend.parcels import import_parcels
from backend.parcels.overlaps import MIN_OVERLAP_M2, find_overlaps, overlap_rows

X0, Y0 = 120_000.0, 480_000.0  # EPSG:28992


def _geoms() -> list[shapely.Polygon]:
    return [box(X0, Y0, X0 + 100, Y0 + 100),           # 0: overlaps 1 by 20 x 100
            box(X0 + 80, Y0, X0 + 180, Y0 + 100),      # 1
            box(X0 + 180, Y0, X0 + 280, Y0 + 100),     # 2: touches 1 only
            box(X0 + 200, Y0 + 20, X0 + 210, Y0 + 30),  # 3: inside 2
            box(X0, Y0 + 300, X0 + 50, Y0 + 350),      # 4: twin of 5
            box(X0, Y0 + 300, X0 + 50, Y0 + 350),      # 5
            box(X0 + 500, Y0, X0 + 600, Y0 + 100.00001)]  # 6: alone


def test_pairs_areas_and_shares() -> None:
    ov = find_overlaps(np.array(_geoms(), dtype=object))
    got = list(zip(ov.first.tolist(), ov.second.tolist(), strict=True))
    assert got == [(0, 1), (2, 3), (4, 5)]
    np.testing.assert_allclose(ov.area_m2, [2000, 100, 2500])
    np.testing.assert_allclose(ov.share, [0.2, 1.0, 1.0])
    assert ov.n_parcels == 6
    assert ov.summary() == {"n_parcels": 6, "n_pairs": 3, "max_area_m2": 2500.0, "max_share": 1.0}


def test_kept_rows_units_and_noise() -> None:
    geoms = np.array(_geoms(), dtype=object)
    kept = np.ones(len(geoms), bool)
    kept[5] = False  # a rejected twin is not an overlap
    ov = find_overlaps(geoms, kept, m2_per_unit2=4.0)
    assert ov.first.tolist() == [0, 2] and ov.second.tolist() == [1, 3]
    np.testing.assert_allclose(ov.area_m2, [8000, 400])
    sliver = np.array([box(0, 0, 10, 10), box(9.9995, 0, 20, 10)], dtype=object)  # 0.005 m²
    assert find_overlaps(sliver).first.size == 0 and MIN_OVERLAP_M2 > 0.005
    rows = overlap_rows(find_overlaps(geoms), np.array(list("abcdefg"), dtype=object))
    assert rows[0].row == 1 and rows[0].pid == "a" and "row 2 (pid b)" in rows[0].reason
    assert "2000.00 m²" in rows[0].reason and "20.0%" in rows[0].reason


def test_real_set_matches_brute_force() -> None:
    path = SHARED_REALDATA / "parcels" / "at" / "inspire_schlaege_2025-1_polygon.gpkg.zip"
    geoms = np.asarray(gpd.read_file(f"zip://{path}").geometry.make_valid().values, dtype=object)
    ov = find_overlaps(geoms)
    expected = []
    for i, j in combinations(range(geoms.size), 2):  # every pair, no index
        area = geoms[i].intersection(geoms[j]).area
        if area >= MIN_OVERLAP_M2:
            expected.append((i, j, area))
    assert expected  # the real set has overlapping declarations
    assert list(zip(ov.first.tolist(), ov.second.tolist(), strict=True)) == [(i, j) for i, j, _ in expected]
    np.testing.assert_allclose(ov.area_m2, [a for _, _, a in expected], rtol=1e-9)


def _file(tmp_path: Path) -> Path:
    gdf = gpd.GeoDataFrame({"pid": [f"p{i}" for i in range(7)], "crop_code": ["1"] * 7},
                           geometry=_geoms(), crs=28992)
    path = tmp_path / "ov.gpkg"
    gdf.to_file(path)
    return path


def test_import_reports_overlaps(clean_db, tmp_path: Path) -> None:
    res = import_parcels(clean_db, _file(tmp_path), aoi="ov", year=2025, report_path=tmp_path / "r.json")
    assert res.n_imported == 7 and res.n_rejected == 0
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["summary"]["overlaps"] == {"n_parcels": 6, "n_pairs": 3, "max_area_m2": 2500.0,
                                          "max_share": 1.0}
    assert doc["summary"]["n_null_crop"] == 0 and doc["summary"]["n_imported"] == 7
    pairs = [(r["pid"], r["reason"].split("pid ")[1].split(")")[0]) for r in doc["rows"]
             if r["code"] == "overlap"]
    assert pairs == [("p0", "p1"), ("p2", "p3"), ("p4", "p5")]
    with connect(clean_db) as conn:
        stored = conn.execute("SELECT report FROM parcel_sets WHERE id = %s", (res.set_id,)).fetchone()
    assert stored["report"]["overlaps"]["n_pairs"] == 3


def test_import_refuses_overlaps_above_the_share(clean_db, tmp_path: Path) -> None:
    strict = clean_db.model_copy(update={"max_overlap_share": 0.5})
    with pytest.raises(InvalidInput, match=r"2 pair\(s\).*more than 50%.*rows 3 and 4.*p2, p3"):
        import_parcels(strict, _file(tmp_path), aoi="ov", year=2025)
    with connect(clean_db) as conn:
        assert conn.execute("SELECT count(*) AS n FROM parcel_sets").fetchone()["n"] == 0
    lenient = clean_db.model_copy(update={"max_overlap_share": 0.25})  # 0.2 passes, 1.0 does not
    with pytest.raises(InvalidInput, match=r"2 pair\(s\)"):
        import_parcels(lenient, _file(tmp_path), aoi="ov", year=2025)


def test_cli_exit_code_65_when_refused(clean_db, tmp_path: Path) -> None:
    env = {**os.environ, "CBM_DEMO_MODE": "true", "CBM_DATABASE_URL": database_url(clean_db)}
    cmd = [sys.executable, "-m", "backend", "import", "parcels", str(_file(tmp_path)), "--aoi", "ov",
           "--year", "2025"]

    def run(*flags: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*cmd, *flags], capture_output=True, text=True, env=env | extra,
                              timeout=120, check=False)

    def n_sets() -> int:
        with connect(clean_db) as conn:
            return conn.execute("SELECT count(*) AS n FROM parcel_sets").fetchone()["n"]

    res = run(CBM_MAX_OVERLAP_SHARE="0.9")  # the p0/p1 twins share 100 %
    assert res.returncode == 65, res.stderr
    assert "CBM_MAX_OVERLAP_SHARE" in res.stderr and n_sets() == 0
    res = run("--max-overlap-share", "0.5")  # the flag alone: 2 pairs above 50 %, as the setting
    assert res.returncode == 65, res.stderr
    assert re.search(r"2 pair\(s\).*more than 50%.*--max-overlap-share", res.stderr) and n_sets() == 0
    res = run("--max-overlap-share", "1", CBM_MAX_OVERLAP_SHARE="0.9")  # the flag wins
    assert res.returncode == 0, res.stderr
    assert "3 pairs of parcels overlap" in res.stderr
    with connect(clean_db) as conn:
        assert conn.execute("SELECT count(*) AS n FROM parcels").fetchone()["n"] == 7
