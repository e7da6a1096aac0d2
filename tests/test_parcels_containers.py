"""Parcel containers told by their first bytes: zips whatever their name, 7z and its volumes, rar refused."""

from __future__ import annotations

import contextlib
import re
import zipfile
from pathlib import Path

import geopandas as gpd
import multivolumefile
import py7zr
import pytest
import shapely
from realitems import SHARED_REALDATA

from backend.db import connect
from backend.errors import InvalidInput
from backend.parcels import ColumnMapping, import_parcels

REALDATA = SHARED_REALDATA / "parcels"
CZ = REALDATA / "cz" / "bd51ec4dea8697946b9a570a6b7c9fe587e2f8334cee74778d2339da43178d38"
FR = REALDATA / "fr" / "RPG_2-0__GPKG_LAMB93_FXX_2022-01-01.7z.001"


def counts(settings) -> dict[str, int]:
    with connect(settings) as c:
        return {t: c.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"]
                for t in ("parcel_sets", "parcels", "extraction_jobs")}


def _two_parcels() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"pid": [7, 3], "crop_code": ["265", "233"]},
                            geometry=[shapely.box(150_000, 450_000, 150_100, 450_100),
                                      shapely.box(150_200, 450_000, 150_300, 450_100)], crs=28992)


def _zipped_gpkg(tmp_path: Path, name: str) -> Path:
    gpkg = tmp_path / "inner.gpkg"
    _two_parcels().to_file(gpkg)
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(gpkg, gpkg.name)
    return path


@pytest.mark.parametrize("name", ["download", "parcels.gpkg.bin", "0f3a9c"])
def test_zip_without_zip_suffix_imports(clean_db, tmp_path, name):
    res = import_parcels(clean_db, _zipped_gpkg(tmp_path, name), aoi="nl", year=2025)
    assert (res.n_read, res.n_imported, res.n_rejected) == (2, 2, 0)
    with connect(clean_db) as c:
        rows = c.execute("SELECT pid, cropcode FROM parcels WHERE set_id = %s ORDER BY id",
                         (res.set_id,)).fetchall()
    assert [(r["pid"], r["cropcode"]) for r in rows] == [("3", "233"), ("7", "265")]


def test_real_czech_zip_named_by_its_hash(clean_db):
    # Values read with pyogrio from the zipped shapefile (100 features, EPSG:4258).
    mapping = ColumnMapping(pid="ZAKRES_ID", cropcode="PLODINA_ID", cropname="PLOD_NAZE")
    res = import_parcels(clean_db, CZ, aoi="cz", year=2024, mapping=mapping)
    assert (res.n_read, res.n_imported, res.n_rejected) == (100, 100, 0)
    with connect(clean_db) as c:
        rows = c.execute("SELECT pid, cropcode, cropname FROM parcels WHERE set_id = %s "
                         "AND pid IN ('41536584', '41536591') ORDER BY pid", (res.set_id,)).fetchall()
    assert [tuple(r.values()) for r in rows] == [
        ("41536584", "552", "Brambory konzumní pozdní"),
        ("41536591", "50017", "Jetelotravní směs (s převahou travin)")]


def test_rar_refused_by_content(clean_db, tmp_path):
    path = tmp_path / "parcels.zip"  # the name lies: the content decides
    path.write_bytes(b"Rar!\x1a\x07\x01\x00" + b"\x00" * 64)
    before = counts(clean_db)
    with pytest.raises(InvalidInput) as info:
        import_parcels(clean_db, path, aoi="nl", year=2025)
    assert "rar is not supported: unpack it first" in str(info.value) and "parcels.zip" in str(info.value)
    assert info.value.exit_code == 65
    assert counts(clean_db) == before


def test_real_multivolume_7z_imports(clean_db):
    # The first volume of the French RPG holds RPG/.../PARCELLES_GRAPHIQUES.gpkg (100 features,
    # EPSG:2154); values read with py7zr + pyogrio.
    mapping = ColumnMapping(pid="id_parcel", cropcode="code_cultu")
    res = import_parcels(clean_db, FR, aoi="fr", year=2022, mapping=mapping)
    assert (res.n_read, res.n_imported, res.n_rejected, res.srid) == (100, 100, 0, 2154)
    with connect(clean_db) as c:
        rows = c.execute("SELECT pid, cropcode FROM parcels WHERE set_id = %s AND pid IN ('19', '20', '21') "
                         "ORDER BY pid", (res.set_id,)).fetchall()
    assert [tuple(r.values()) for r in rows] == [("19", "VRC"), ("20", "PPH"), ("21", "MIS")]


def _shapefile(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "src" / "deep"
    folder.mkdir(parents=True)
    _two_parcels().to_file(folder / "fields.shp")
    return sorted(folder.iterdir())


def _seven_zip(tmp_path: Path, volume_size: int | None) -> Path:
    """A 7z of a shapefile in a sub-folder, in one file or in volumes of ``volume_size`` bytes."""
    parts = _shapefile(tmp_path)
    base = tmp_path / "out" / "fields.7z"
    base.parent.mkdir()
    with contextlib.ExitStack() as stack:
        target = base if volume_size is None else stack.enter_context(
            multivolumefile.open(base, mode="wb", volume=volume_size))
        archive = stack.enter_context(py7zr.SevenZipFile(target, "w"))
        for part in parts:
            archive.write(part, f"deep/{part.name}")
    if volume_size is None:
        return base
    for volume in base.parent.iterdir():  # multivolumefile numbers .0001; 7-Zip writes .001
        volume.rename(volume.with_suffix(f".{int(volume.suffix[1:]):03d}"))
    return base.with_name("fields.7z.001")


@pytest.mark.parametrize("volume_size", [None, 300])
def test_7z_shapefile_in_a_folder_imports(clean_db, tmp_path, volume_size):
    path = _seven_zip(tmp_path, volume_size)
    if volume_size:
        assert len(list(path.parent.iterdir())) > 1, "the test archive should span several volumes"
    res = import_parcels(clean_db, path, aoi="nl", year=2025)
    assert (res.n_read, res.n_imported, res.n_rejected) == (2, 2, 0)
    with connect(clean_db) as c:
        rows = c.execute("SELECT pid, cropcode FROM parcels WHERE set_id = %s ORDER BY pid",
                         (res.set_id,)).fetchall()
    assert [(r["pid"], r["cropcode"]) for r in rows] == [("3", "233"), ("7", "265")]


def test_incomplete_multivolume_7z_refused(clean_db, tmp_path):
    path = _seven_zip(tmp_path, 300)
    volumes = sorted(path.parent.iterdir())
    volumes[-1].unlink()  # the last volume never arrived
    before = counts(clean_db)
    words = re.escape("all volumes (.7z.001, .7z.002, ...) must sit beside")
    with pytest.raises(InvalidInput, match=words) as info:
        import_parcels(clean_db, path, aoi="nl", year=2025)
    assert info.value.exit_code == 65
    assert counts(clean_db) == before


def test_corrupt_7z_refused(clean_db, tmp_path):
    path = tmp_path / "parcels.7z"
    path.write_bytes(b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x5a" * 200)
    before = counts(clean_db)
    with pytest.raises(InvalidInput, match=re.escape("cannot unpack parcels.7z")) as info:
        import_parcels(clean_db, path, aoi="nl", year=2025)
    assert info.value.exit_code == 65
    assert counts(clean_db) == before


def _rows(settings, set_id: int, pids: tuple[str, ...]) -> list[tuple]:
    with connect(settings) as c:
        rows = c.execute("SELECT pid, cropcode, cropname FROM parcels WHERE set_id = %s "
                         "AND pid = ANY(%s) ORDER BY pid", (set_id, list(pids))).fetchall()
    return [tuple(r.values()) for r in rows]


def test_real_latvian_shapefile_in_a_zip_folder(clean_db):
    # LV_2021.zip holds LV_2021/LV_2021_EC21.shp; values read with pyogrio (100 features).
    mapping = ColumnMapping(pid="PARCEL_ID", cropcode="PRODUCT_CO", cropname="EC_trans_n")
    res = import_parcels(clean_db, REALDATA / "ec_lv" / "LV_2021.zip", aoi="lv", year=2021,
                         mapping=mapping)
    assert (res.n_read, res.n_imported, res.n_rejected, res.srid) == (100, 100, 0, 3059)
    assert _rows(clean_db, res.set_id, ("12268367", "12357291")) == [
        ("12268367", "131", "Barley summer"), ("12357291", "710", "Permanent grasslands")]


def test_real_lithuanian_geoparquet_in_a_zip(clean_db):
    # LT_2024.zip holds GSA-LT-2024.geoparquet (100 features, EPSG:3035), read with pyarrow.
    mapping = ColumnMapping(pid="field_id", cropcode="EC_hcat_c", cropname="crop_name")
    res = import_parcels(clean_db, REALDATA / "lt" / "LT_2024.zip", aoi="lt", year=2024,
                         mapping=mapping)
    assert (res.n_read, res.n_imported, res.n_rejected) == (100, 100, 0)
    assert _rows(clean_db, res.set_id, ("12141864", "12141937")) == [
        ("12141864", "3302000000", "Ganyklos-pievos virð 5m."),
        ("12141937", "3301011503", "Vasariniai javai")]


def _two_files_zip(tmp_path: Path) -> Path:
    one = _zipped_gpkg(tmp_path, "one.zip")
    path = tmp_path / "both.zip"
    with zipfile.ZipFile(one) as src, zipfile.ZipFile(path, "w") as zf:
        data = src.read("inner.gpkg")
        zf.writestr("a/north.gpkg", data)
        zf.writestr("b/south.gpkg", data)
    return path


def test_several_files_in_a_zip_listed_then_chosen(clean_db, tmp_path):
    path = _two_files_zip(tmp_path)
    before = counts(clean_db)
    with pytest.raises(InvalidInput) as info:
        import_parcels(clean_db, path, aoi="nl", year=2025)
    msg = str(info.value)
    assert "a/north.gpkg, b/south.gpkg" in msg and "--layer" in msg and info.value.exit_code == 65
    assert counts(clean_db) == before
    res = import_parcels(clean_db, path, aoi="nl", year=2025, mapping=ColumnMapping(layer="south"))
    assert res.n_imported == 2
