"""Crop tables (``cbm import crops``): code -> name, group, HCAT per AOI and year, served by the API."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from realitems import SHARED_REALDATA

from backend.db import connect, database_url
from backend.db.queries_parcel_reads import _SET_PARCEL_BY_PID
from backend.db.queries_parcels import crop_table
from backend.errors import InvalidInput
from backend.parcels import import_parcels, load_mapping
from backend.parcels.crops import import_crops

FR = SHARED_REALDATA / "parcels" / "fr" / "RPG_2-0__GPKG_LAMB93_FXX_2022-01-01.7z.001"
# Names of the RPG codes VRC and PPH as the French nomenclature spells them (REF_CULTURES_2022).
TABLE = ("code;name;group;hcat\nVRC;Vigne : raisins de cuve;permanent;3303010000\n"
         "PPH;Prairie permanente - herbe prédominante;Grassland;3302000000\nMIS;Maïs;arable;\n")


def served(settings, aoi: str, year: int, pid: str) -> dict:
    """The parcel columns as the API serves them (its own SQL, run here without the server)."""
    with connect(settings) as c:
        return c.execute(_SET_PARCEL_BY_PID, {"aoi": aoi, "year": year, "ptype": "", "pid": pid,
                                              "with_geom": False, "wgs84": False}).fetchone()


def crop_rows(settings) -> int:
    with connect(settings) as c:
        return c.execute("SELECT count(*) AS n FROM crop_tables").fetchone()["n"]


def test_crop_table_names_the_codes_served_by_the_api(clean_db, tmp_path):
    res = import_parcels(clean_db, FR, aoi="fr", year=2022, mapping=load_mapping("fr"))
    assert served(clean_db, "fr", 2022, "19")["cropname"] is None  # codes only in the RPG
    path = tmp_path / "crops.csv"
    path.write_text(TABLE, encoding="utf-8")
    r = import_crops(clean_db, path, aoi="fr", year=2022)
    assert (r.n_codes, r.n_replaced, r.n_without_name) == (3, 0, 0)
    row = served(clean_db, "fr", 2022, "19")
    assert (row["cropcode"], row["cropname"]) == ("VRC", "Vigne : raisins de cuve")
    assert served(clean_db, "fr", 2022, "20")["cropname"] == "Prairie permanente - herbe prédominante"
    with connect(clean_db) as c:
        assert crop_table(c, "fr", 2022)[1] == {"cropcode": "PPH", "cropname": "Prairie permanente - "
                                                "herbe prédominante", "crop_group": "grassland",
                                                "hcat_code": "3302000000"}
        assert c.execute("SELECT count(*) AS n FROM parcels WHERE set_id = %s AND cropname IS NULL",
                         (res.set_id,)).fetchone()["n"] == 100  # the parcels themselves are untouched
    path.write_text("cropcode,crop_name\nVRC,Vigne\n", encoding="utf-8")
    assert import_crops(clean_db, path, aoi="fr", year=2022).n_replaced == 3
    assert served(clean_db, "fr", 2022, "19")["cropname"] == "Vigne"
    assert served(clean_db, "fr", 2022, "20")["cropname"] is None  # PPH left the table


@pytest.mark.parametrize(("text", "match"), [
    ("code,name\nA,x\nA,y\n", r"crop code not unique on line\(s\) 2, 3; nothing imported"),
    ("code,group\nA,meadow\n", r"group not one of arable, grassland.*line\(s\) 2"),
    ("code,name\n,x\n", r"empty crop code on line\(s\) 2"),
    ("gewas,naam\nA,x\n", r"no crop code column \(one of code, cropcode, crop_code\); "
                          r"its columns: gewas, naam"),
    ("code,name\n", r"has no crop rows"),
])
def test_bad_crop_tables_refused(clean_db, tmp_path, text, match):
    good = tmp_path / "good.csv"
    good.write_text("code,name\nA,x\n")
    import_crops(clean_db, good, aoi="fr", year=2022)
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput, match=match) as info:
        import_crops(clean_db, path, aoi="fr", year=2022)
    assert info.value.exit_code == 65
    assert crop_rows(clean_db) == 1  # the previous table is unchanged


def test_cli_import_crops(clean_db, tmp_path):
    env = {**os.environ, "CBM_DEMO_MODE": "true", "CBM_DATABASE_URL": database_url(clean_db)}
    path = tmp_path / "crops.csv"
    path.write_text(TABLE, encoding="utf-8")
    cmd = [sys.executable, "-m", "backend", "import", "crops", str(path), "--aoi", "fr", "--year", "2022"]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    assert "crop table fr 2022: 3 codes (0 without a name), 0 previous codes replaced" in res.stdout
    path.write_bytes(b"code,name\nA,\xff\n")
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert res.returncode == 65 and "not a UTF-8 CSV crop table" in res.stderr
    assert crop_rows(clean_db) == 3


def test_mapping_names_a_crop_table_loaded_with_the_parcels(clean_db, tmp_path):
    """``crops:`` in a mapping file: the table (beside the mapping) comes in the import's transaction."""
    (tmp_path / "fr_crops.csv").write_text(TABLE, encoding="utf-8")
    shipped = load_mapping("fr")
    mapping = tmp_path / "fr.yaml"
    mapping.write_text(f"pid: {shipped.pid[0]}\ncropcode: {shipped.cropcode}\ncrops: fr_crops.csv\n")
    import_parcels(clean_db, FR, aoi="fr", year=2022, mapping=load_mapping(mapping))
    assert served(clean_db, "fr", 2022, "19")["cropname"] == "Vigne : raisins de cuve"
    assert crop_rows(clean_db) == 3
    # a bad table refuses the import before anything is written
    (tmp_path / "fr_crops.csv").write_text("code,name\nA,x\nA,y\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="crop code not unique"):
        import_parcels(clean_db, FR, aoi="fr", year=2023, mapping=load_mapping(mapping))
    with connect(clean_db) as c:
        assert c.execute("SELECT count(*) AS n FROM parcel_sets").fetchone()["n"] == 1
    assert crop_rows(clean_db) == 3
    mapping.write_text("crops: [a, b]\n")
    with pytest.raises(InvalidInput, match="crops must be the path of a crop table file"):
        load_mapping(mapping)
