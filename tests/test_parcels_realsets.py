"""Every real parcel sample of ../shared/realdata/parcels imports with its shipped mapping.

The expected values were read from the files with pyogrio (GML: with GDAL's
GML_ATTRIBUTES_TO_OGR_FIELDS; the French 7z unpacked with py7zr + multivolumefile; the
Lithuanian GeoParquet with geopandas), not with our importer: feature counts, CRS, and the id
and crop columns of two features per file.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import pytest
from realitems import SHARED_REALDATA

from backend.db import connect, database_url
from backend.parcels import import_parcels, load_mapping

PARCELS = SHARED_REALDATA / "parcels"

# folder: (aoi, year, n imported, srid, {pid: (cropcode, cropname)})
SAMPLES = {
    "at": ("at", 2025, 100, 31287, {  # GEO_ID 106806035.0 (float)
        "106806035": ("717", "MÄHWIESE/-WEIDE DREI UND MEHR NUTZUNGEN"),
        "106806371": ("360", "GLÖZ HECKE / UFERGEHÖLZ")}),
    "be_vlg": ("be_vlg", 2023, 100, 31370, {
        "487348814": ("381", "Sorghum"), "1206224807": ("381", "Sorghum")}),
    "cz": ("cz", 2024, 100, 32633, {  # EPSG:4258 reprojected to UTM 33 N
        "43730903": ("351", "Dočasný travní porost"), "46868913": ("351", "Dočasný travní porost")}),
    "dk": ("dk", 2026, 100, 25832, {  # Markblok + Marknr; Afgkode 593.0 (float)
        "554258-40_1-0": ("593", "Poppel"), "556317-88_12-1": ("310", "Brak, slåning")}),
    "ec_lv": ("lv", 2021, 100, 3059, {
        "12268367": ("131", "Mie?i, vasaras"), "12360234": ("112", "Kvie?i, ziemas")}),
    "ec_si": ("si", 2021, 100, 3794, {
        "7010691": ("005", "koruza za zrnje"), "6631000": ("005", "koruza za zrnje")}),
    "fi": ("fi", 2023, 100, 3067, {  # PERUSLOHKOTUNNUS + LOHKONUMERO (1.0, float)
        "0040000372_1": ("9409", "Luonnonhoitonurmi"),
        "0040005628_1": ("9412", "Viherkesanto (nurmi ja niitty)")}),
    "fr": ("fr", 2022, 100, 2154, {"19": ("VRC", None), "942": ("PTR", None)}),
    "ie": ("ie", 2024, 100, None, {  # EPSG:4258 reprojected to UTM; crop = xlink title
        "679943CC0D142D9AFD95339A657760BD808CF65DE305799DD79C88B6163A79F8": (None, "Permanent Pasture"),
        "D6F0C79C9E9CBE3C981C5E3BAAC655B84490923E553E37EB6E29795E065F4E43": (None, "Permanent Pasture")}),
    "lt": ("lt", 2024, 100, 3035, {  # crop_code is empty in the whole file: names only
        "12141937": (None, "Vasariniai javai"), "12151150": (None, "Ganyklos-pievos iki 5m.")}),
    # no id in the file: row numbers; row 47 is a 3.9 m² ditch sliver (rejected, --skip-invalid)
    "nl": ("nl", 2023, 99, 28992, {"1": ("343", "Sloot"), "100": ("265", "Grasland, blijvend")}),
}


def sample(folder: str):
    (path,) = (PARCELS / folder).iterdir()
    return path


def stored(settings, set_id: int, pids) -> dict[str, tuple]:
    with connect(settings) as c:
        rows = c.execute("SELECT pid, cropcode, cropname FROM parcels WHERE set_id = %s AND pid = ANY(%s)",
                         (set_id, list(pids))).fetchall()
    return {r["pid"]: (r["cropcode"], r["cropname"]) for r in rows}


@pytest.mark.parametrize("folder", sorted(SAMPLES))
def test_real_sample_imports_with_its_mapping(clean_db, folder):
    aoi, year, n, srid, expected = SAMPLES[folder]
    with warnings.catch_warnings(record=True) as escaped:
        warnings.simplefilter("always")
        res = import_parcels(clean_db, sample(folder), aoi=aoi, year=year, mapping=load_mapping(folder),
                             skip_invalid=folder == "nl")
    assert [str(w.message) for w in escaped] == []  # library warnings go to the report
    assert (res.n_read, res.n_imported) == (100, n)
    if srid is not None:
        assert res.srid == srid
    assert stored(clean_db, res.set_id, expected) == expected
    assert res.seconds < 5


def test_ireland_gml_library_warnings_summarised_in_the_report(clean_db, tmp_path):
    report = tmp_path / "ie.json"
    res = import_parcels(clean_db, sample("ie"), aoi="ie", year=2024, mapping=load_mapping("ie"),
                         report_path=report)
    with connect(clean_db) as c:
        summary = c.execute("SELECT report FROM parcel_sets WHERE id = %s",
                            (res.set_id,)).fetchone()["report"]
    lib = summary["library_warnings"]
    assert any("Field with same name (name) already exists" in k for k in lib), lib
    assert all(isinstance(v, int) and v >= 1 for v in lib.values())
    assert res.srid in (32629, 32630)  # EPSG:4258 reprojected to UTM 29 N or 30 N


def run_cbm(settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CBM_DEMO_MODE": "true", "CBM_DATABASE_URL": database_url(settings),
           "CBM_VAR_DIR": str(settings.var_dir)}
    return subprocess.run([sys.executable, "-m", "backend", "import", "parcels", *args],
                          capture_output=True, text=True, env=env, timeout=120, check=False)


def test_cli_one_command_per_country(clean_db):
    res = run_cbm(clean_db, str(sample("dk")), "--aoi", "dk", "--year", "2026", "--mapping", "dk")
    assert res.returncode == 0, res.stderr
    assert "imported 100 of 100 parcels into dk 2026" in res.stdout and "0 without crop" in res.stdout


def test_cli_nl_refused_then_skip_invalid_exits_4(clean_db):
    args = [str(sample("nl")), "--aoi", "nl", "--year", "2023", "--mapping", "nl"]
    res = run_cbm(clean_db, *args)
    assert res.returncode == 65, res.stderr
    assert "1 of 100 rows rejected (area_too_small 1), nothing imported" in res.stderr
    assert "--skip-invalid" in res.stderr
    with connect(clean_db) as c:
        assert c.execute("SELECT count(*) AS n FROM parcel_sets").fetchone()["n"] == 0
    res = run_cbm(clean_db, *args, "--skip-invalid")
    assert res.returncode == 4, res.stderr
    assert "imported 99 of 100 parcels" in res.stdout
    assert "1 rows skipped" in res.stderr and "row numbers (--id-from-row)" in res.stderr
