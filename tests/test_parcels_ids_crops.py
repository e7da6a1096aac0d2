"""Parcel ids (composite, row numbers, floats), crops (code or name, nulls, xlinks, HCAT) and CRS flags.

Each refusal asserts the message, the exit code and that the database is unchanged.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from backend.db import connect
from backend.errors import InvalidInput
from backend.parcels import ColumnMapping, import_parcels
from backend.parcels.ids import crop_values

X0, Y0 = 150_000.0, 450_000.0  # EPSG:28992


def counts(settings) -> dict[str, int]:
    with connect(settings) as c:
        return {t: c.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"]
                for t in ("parcel_sets", "parcels", "extraction_jobs")}


def stored(settings, set_id: int) -> list[tuple]:
    with connect(settings) as c:
        rows = c.execute("SELECT pid, cropcode, cropname FROM parcels WHERE set_id = %s ORDER BY id",
                         (set_id,)).fetchall()
    return [tuple(r.values()) for r in rows]


def gpkg(tmp_path, columns: dict, crs=28992, name="p.gpkg"):
    n = len(next(iter(columns.values())))
    geoms = [shapely.box(X0 + i * 200, Y0, X0 + i * 200 + 100, Y0 + 100) for i in range(n)]
    path = tmp_path / name
    gpd.GeoDataFrame(columns, geometry=geoms, crs=crs).to_file(path)
    return path


def refused(settings, path, match: str, **kw) -> None:
    before = counts(settings)
    with pytest.raises(InvalidInput, match=match) as info:
        import_parcels(settings, path, aoi="xx", year=2025, **kw)
    assert info.value.exit_code == 65
    assert counts(settings) == before


# ------------------------------------------------------------------------------- ids


def test_composite_id_of_two_columns_with_float_parts(clean_db, tmp_path):
    path = gpkg(tmp_path, {"block": ["B2", "B1", "B1"], "field": [1.0, 2.0, 1.0], "code": ["1", "2", "3"]})
    res = import_parcels(clean_db, path, aoi="xx", year=2025,
                         mapping=ColumnMapping(pid=("block", "field"), cropcode="code"))
    assert [r[:2] for r in stored(clean_db, res.set_id)] == [("B1_1", "3"), ("B1_2", "2"), ("B2_1", "1")]
    with connect(clean_db) as c:
        report = c.execute("SELECT report FROM parcel_sets").fetchone()["report"]
    assert report["columns"]["pid"] == ["block", "field"] and report["id_separator"] == "_"


def test_composite_id_part_holding_the_separator_refused(clean_db, tmp_path):
    path = gpkg(tmp_path, {"block": ["B_2", "B1"], "field": [1, 2], "code": ["1", "2"]})
    refused(clean_db, path, r"composite id column 'block' holds 'B_2'.*separator '_'.*ambiguous",
            mapping=ColumnMapping(pid=("block", "field"), cropcode="code"))


def test_single_column_not_unique_refuses_the_whole_import(clean_db, tmp_path):
    # The case: a non-unique column imported the unique rows and exited 0.
    path = gpkg(tmp_path, {"block": ["B1", "B1", "B2", "B3"], "code": ["1", "2", "3", "4"]})
    refused(clean_db, path, r"p\.gpkg: 2 of 4 rows rejected \(duplicate_pid 2\), nothing imported.*"
            r"--skip-invalid", mapping=ColumnMapping(pid="block", cropcode="code"))


def test_float_ids_become_integers(clean_db, tmp_path):
    path = gpkg(tmp_path, {"GEO_ID": [106806035.0, 106806054.0], "code": ["1", "2"]})
    res = import_parcels(clean_db, path, aoi="xx", year=2025,
                         mapping=ColumnMapping(pid="GEO_ID", cropcode="code"))
    assert [r[0] for r in stored(clean_db, res.set_id)] == ["106806035", "106806054"]


def test_id_from_row_numbers_rows_with_a_warning(clean_db, tmp_path):
    path = gpkg(tmp_path, {"code": ["7", "8", "9"]})
    refused(clean_db, path, r"cannot guess the parcel id column.*--id-from-row")
    res = import_parcels(clean_db, path, aoi="xx", year=2025,
                         mapping=ColumnMapping(cropcode="code", id_from_row=True))
    assert [r[:2] for r in stored(clean_db, res.set_id)] == [("1", "7"), ("2", "8"), ("3", "9")]
    assert any("do not carry over between years" in w for w in res.warnings)
    with pytest.raises(InvalidInput, match="not both"):
        ColumnMapping(pid="code", id_from_row=True)


def test_mapping_yaml_with_a_composite_id(clean_db, tmp_path):
    from backend.parcels import load_mapping

    path = tmp_path / "m.yaml"
    path.write_text("pid: [Markblok, Marknr]\ncropname: Afgroede\n")
    assert load_mapping(path) == ColumnMapping(pid=("Markblok", "Marknr"), cropname="Afgroede")
    path.write_text("id_from_row: yes please\n")
    with pytest.raises(InvalidInput, match="id_from_row must be true or false"):
        load_mapping(path)


# ------------------------------------------------------------------------------- crops


def test_crop_name_without_code_and_code_without_name(clean_db, tmp_path):
    path = gpkg(tmp_path, {"pid": ["1", "2"], "crop_name": ["Grasland", "Mais"]})
    res = import_parcels(clean_db, path, aoi="xx", year=2025)
    assert stored(clean_db, res.set_id) == [("1", None, "Grasland"), ("2", None, "Mais")]
    path = gpkg(tmp_path, {"pid": ["1", "2"], "crop_code": ["60", "201"]}, name="c.gpkg")
    res = import_parcels(clean_db, path, aoi="xx", year=2024)
    assert stored(clean_db, res.set_id) == [("1", "60", None), ("2", "201", None)]


def test_no_crop_column_refused(clean_db, tmp_path):
    path = gpkg(tmp_path, {"pid": ["1", "2"], "other": ["a", "b"]})
    refused(clean_db, path, r"cannot guess a crop code or crop name column.*--crop-code-col.*other")


def test_null_crops_counted_and_listed(clean_db, tmp_path):
    path = gpkg(tmp_path, {"pid": ["1", "2", "3"], "crop_code": ["60", None, None],
                           "crop_name": [None, "Mais", None]})
    report = tmp_path / "r.json"
    res = import_parcels(clean_db, path, aoi="xx", year=2025, report_path=report)
    assert res.n_imported == 3 and res.n_rejected == 0
    doc = json.loads(report.read_text())
    assert doc["summary"]["n_null_crop"] == 1
    assert [(r["row"], r["pid"], r["action"], r["code"]) for r in doc["rows"]] == [
        (3, "3", "warning", "null_crop")]


def test_eurocrops_hcat_columns_recognised(clean_db, tmp_path):
    path = gpkg(tmp_path, {"pid": ["1", "2"], "EC_hcat_c": ["3301010402", "3302000000"],
                           "EC_hcat_n": ["spring_barley", "pasture_meadow_grassland_grass"]})
    res = import_parcels(clean_db, path, aoi="xx", year=2025)
    assert stored(clean_db, res.set_id) == [("1", "3301010402", "spring_barley"),
                                           ("2", "3302000000", "pasture_meadow_grassland_grass")]


def test_xlink_crop_code_is_the_last_path_segment():
    df = pd.DataFrame({"specificPresence_href": [
        "http://example.org/codelist/crops/1120", "http://example.org/codelist/crops/PPH/", None,
        "http://inspire.ec.europa.eu/codelist/LandUseClassificationValue"]})
    assert crop_values(df, "specificPresence_href").tolist() == ["1120", "PPH", None, None]
    assert crop_values(df, None).tolist() == [None] * 4


# ------------------------------------------------------------------------------- CRS


def test_conflicting_crs_refused_and_forced_with_a_warning(clean_db, tmp_path):
    path = gpkg(tmp_path, {"pid": ["1", "2"], "crop_code": ["1", "2"]}, crs=28992)
    refused(clean_db, path, r"p\.gpkg declares CRS EPSG:28992, which --crs EPSG:31370 contradicts.*"
            r"--force-crs EPSG:31370", crs="EPSG:31370")
    res = import_parcels(clean_db, path, aoi="xx", year=2025, crs="EPSG:28992")  # the same: fine
    assert res.srid == 28992 and res.warnings == []
    res = import_parcels(clean_db, path, aoi="xx", year=2025, crs="EPSG:31370", force_crs=True,
                         replace=True)
    assert res.srid == 31370
    assert res.warnings == ["--force-crs EPSG:31370 replaced the CRS the file declares (EPSG:28992)"]
    with connect(clean_db) as c:
        report = c.execute("SELECT report FROM parcel_sets").fetchone()["report"]
    assert report["warnings"] == res.warnings


def test_several_layers_name_the_flag(clean_db, tmp_path):
    path = gpkg(tmp_path, {"pid": ["1"], "crop_code": ["1"]}, name="two.gpkg")
    gpd.GeoDataFrame({"pid": ["9"], "crop_code": ["2"]}, geometry=[shapely.box(X0, Y0, X0 + 50, Y0 + 50)],
                     crs=28992).to_file(path, layer="other")
    refused(clean_db, path, r"2 spatial layers: two, other; choose one with --layer NAME")
    res = import_parcels(clean_db, path, aoi="xx", year=2025, mapping=ColumnMapping(layer="other"))
    assert np.array_equal([r[0] for r in stored(clean_db, res.set_id)], ["9"])


def test_cli_crs_flags(clean_db, tmp_path):
    import os
    import subprocess
    import sys

    from backend.db import database_url

    path = gpkg(tmp_path, {"pid": ["1", "2"], "crop_code": ["1", "2"]}, crs=28992)
    env = {**os.environ, "CBM_DEMO_MODE": "true", "CBM_DATABASE_URL": database_url(clean_db),
           "CBM_VAR_DIR": str(clean_db.var_dir)}

    def cbm(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "backend", "import", "parcels", str(path), "--aoi", "xx",
                               "--year", "2025", *args], capture_output=True, text=True, env=env,
                              timeout=120, check=False)

    before = counts(clean_db)
    res = cbm("--crs", "EPSG:31370")
    assert res.returncode == 65 and "contradicts" in res.stderr and "--force-crs" in res.stderr
    assert counts(clean_db) == before
    res = cbm("--crs", "EPSG:31370", "--force-crs", "EPSG:31370")
    assert res.returncode == 2 and "not both" in res.stderr
    res = cbm("--force-crs", "EPSG:31370")
    assert res.returncode == 0, res.stderr
    assert "(set 1, EPSG:31370)" in res.stdout
    assert "warning: --force-crs EPSG:31370 replaced the CRS the file declares (EPSG:28992)" in res.stderr
