"""Image catalogue: every source kind, validation, upsert semantics, jobs, S3 (moto) hrefs.

All rasters are tiny (64 x 64) COGs written into tmp paths; S3 is a moto server on loopback;
the database is real. The STAC API source is tested against stac-fastapi-pgstac in
tests/test_catalogue_stacapi.py.
"""

from __future__ import annotations

import copy
import functools
import json
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pystac
import pytest
import rasterio
from rasterio.transform import from_origin
from rio_stac import create_stac_item

from backend import catalogue
from backend.catalogue import CollectionProfile, Rejection, add_source, band_hrefs, validate
from backend.catalogue.cogs import name_datetime, split_name
from backend.catalogue.mapping import choose
from backend.catalogue.profiles import CDSE_S2, EARTH_SEARCH_S2, load_profiles
from backend.catalogue.validate import item_hash, legacy_item_hash
from backend.db import connect
from backend.errors import InvalidInput
from backend.settings import Settings

S2 = ("B02", "B03", "B04", "B05", "B08", "B11", "SCL")
ES_NAMES = dict(zip(S2, ("blue", "green", "red", "rededge1", "nir", "swir16", "scl"), strict=True))
ORIGIN = (600000.0, 5800000.0)  # UTM 31N, near 4.47 E 52.34 N
NEAR = (4.3, 52.2, 4.6, 52.5)  # overlaps the COGs
FAR = (10.0, 45.0, 11.0, 46.0)  # does not


def write_cog(path: Path, *, crs: str | None = "EPSG:32631", res: float = 10.0,
              tags: dict[str, str] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    size = 64 if res == 10 else 32
    profile: dict[str, Any] = {"driver": "COG", "width": size, "height": size, "count": 1,
                               "dtype": "uint16"}
    if crs:
        profile.update(crs=crs, transform=from_origin(*ORIGIN, res, res))
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.arange(size * size, dtype="uint16").reshape(1, size, size))
        if tags:
            dst.update_tags(**tags)
    return path


def write_bands(folder: Path, keys: tuple[str, ...] = S2, pattern: str = "{key}.tif") -> dict:
    return {k: write_cog(folder / pattern.format(key=k), res=20 if k in ("B05", "B11", "SCL")
                         else 10) for k in keys}


def make_item(item_id: str, files: dict[str, Path], *, when: str = "2025-04-12T10:40:31Z",
              collection: str | None = "cbm-s2", proj: bool = True, cloud: float | None = 12.5,
              names: dict[str, str] | None = None, href=lambda p: str(p)) -> dict[str, Any]:
    """A STAC item dict for COG files (rio-stac for geometry/proj), asset keys renamed."""
    names = names or {}
    first = next(iter(files))
    item = create_stac_item(str(files[first]), id=item_id, collection=collection,
                            input_datetime=pystac.utils.str_to_datetime(when), with_proj=proj,
                            asset_name=names.get(first, first), asset_href=href(files[first]))
    for key, path in list(files.items())[1:]:
        item.add_asset(names.get(key, key), pystac.Asset(href=href(path)))
    doc = item.to_dict(include_self_link=False)
    if cloud is not None:
        doc["properties"]["eo:cloud_cover"] = cloud
    return doc


def save(doc: dict[str, Any], path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return str(path)


def add_parcel_set(settings: Settings, aoi: str, bounds: tuple) -> int:
    with connect(settings) as conn:
        return conn.execute(
            "INSERT INTO parcel_sets (aoi, year, srid, extent) "
            "VALUES (%s, 2025, 32631, ST_MakeEnvelope(%s, %s, %s, %s, 4326)) RETURNING id",
            (aoi, *bounds)).fetchone()["id"]


def rows(settings: Settings, sql: str, *params: Any) -> list[dict[str, Any]]:
    with connect(settings) as conn:
        return conn.execute(sql, params).fetchall()


class FakeProgress:
    def __init__(self) -> None:
        self.n = 0

    def update(self, n: int) -> None:
        self.n += n


@pytest.fixture(scope="module")
def bands(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One set of S2 band COGs shared by the items of a module."""
    return write_bands(tmp_path_factory.mktemp("bands"))


# ---------------------------------------------------------------------- item files, jobs


def test_item_file_relative_hrefs_and_jobs(clean_db: Settings, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    write_bands(tmp_path / "S2A_20250412")
    near, far = add_parcel_set(clean_db, "nl", NEAR), add_parcel_set(clean_db, "it", FAR)
    files = {k: tmp_path / "S2A_20250412" / f"{k}.tif" for k in S2}
    doc = make_item("S2A_20250412", files, href=lambda p: f"./{p.name}")
    src = save(doc, tmp_path / "S2A_20250412" / "item.json")

    opened: list[str] = []
    real_open = validate.open_raster
    monkeypatch.setattr(validate, "open_raster", lambda h: opened.append(h) or real_open(h))
    progress = FakeProgress()

    result = add_source(clean_db, src, progress=progress)

    assert opened == [] and progress.n == 1  # proj info present: no header read
    assert (result.added, result.updated, result.unchanged, result.rejected) == (1, 0, 0, [])
    assert result.jobs_created == 1
    (img,) = catalogue.list_images(clean_db)
    assert img["kind"] == "s2" and img["collection"] == "cbm-s2" and img["epsg"] == 32631
    assert img["bands"] == ["B02", "B03", "B04", "B05", "B08", "B11"]
    assert img["cloud_cover"] == pytest.approx(12.5)
    item = catalogue.get_image(clean_db, img["id"])["item"]
    hrefs = band_hrefs(item)
    assert hrefs["SCL"] == str(files["SCL"]) and all(Path(h).is_file() for h in hrefs.values())
    jobs = rows(clean_db, "SELECT set_id, status FROM extraction_jobs")
    assert jobs == [{"set_id": near, "status": "pending"}] and far != near


def test_add_twice_is_noop_and_changes_update(clean_db: Settings, tmp_path: Path,
                                             bands: dict[str, Path]) -> None:
    add_parcel_set(clean_db, "nl", NEAR)
    doc = make_item("S2B_20250415", bands, when="2025-04-15T10:40:31Z")
    src = save(doc, tmp_path / "item.json")
    assert add_source(clean_db, src).added == 1
    before = rows(clean_db, "SELECT item_hash, updated_at FROM images")

    again = add_source(clean_db, src)
    assert (again.added, again.updated, again.unchanged, again.jobs_created) == (0, 0, 1, 0)
    assert rows(clean_db, "SELECT item_hash, updated_at FROM images") == before

    # metadata change: row updated, jobs untouched
    rows(clean_db, "UPDATE extraction_jobs SET status = 'done' RETURNING id")
    doc["properties"]["eo:cloud_cover"] = 40.0
    result = add_source(clean_db, save(doc, tmp_path / "item.json"))
    assert (result.updated, result.jobs_reset) == (1, 0)
    (img,) = rows(clean_db, "SELECT cloud_cover, updated_at, item_hash FROM images")
    assert img["cloud_cover"] == 40.0 and img["updated_at"] > before[0]["updated_at"]
    assert rows(clean_db, "SELECT status FROM extraction_jobs") == [{"status": "done"}]

    # an asset moved: done jobs go back to pending
    moved = shutil.copy(bands["B04"], tmp_path / "B04_v2.tif")
    doc["assets"]["B04"]["href"] = str(moved)
    result = add_source(clean_db, save(doc, tmp_path / "item.json"))
    assert (result.updated, result.jobs_reset) == (1, 1)
    assert rows(clean_db, "SELECT status FROM extraction_jobs") == [{"status": "pending"}]


def test_hash_of_earlier_catalogues_is_not_a_change(clean_db: Settings, tmp_path: Path,
                                                    bands: dict[str, Path]) -> None:
    """An image stored with the stdlib-JSON item hash (earlier versions) is unchanged when its
    item comes again, and its hash is renewed; items with small numbers (1e-05) hash differently."""
    add_parcel_set(clean_db, "nl", NEAR)
    doc = make_item("S2B_20250416", bands, when="2025-04-16T10:40:31Z")
    doc["properties"]["view:sun_elevation_tolerance"] = 1e-05  # '1e-05' (json) vs '0.00001' (orjson)
    src = save(doc, tmp_path / "item.json")
    assert add_source(clean_db, src).added == 1
    (img,) = rows(clean_db, "SELECT id, item, item_hash, updated_at FROM images")
    assert img["item_hash"] == item_hash(img["item"]) != legacy_item_hash(img["item"])
    rows(clean_db, "UPDATE images SET item_hash = %s RETURNING id", legacy_item_hash(img["item"]))
    rows(clean_db, "UPDATE extraction_jobs SET status = 'done' RETURNING id")

    again = add_source(clean_db, src)

    assert (again.added, again.updated, again.unchanged, again.jobs_reset) == (0, 0, 1, 0)
    (now,) = rows(clean_db, "SELECT item, item_hash, updated_at FROM images")
    assert now["item_hash"] == img["item_hash"] and now["updated_at"] == img["updated_at"]
    assert now["item"] == img["item"]
    assert rows(clean_db, "SELECT status FROM extraction_jobs") == [{"status": "done"}]


def test_bad_items_are_reported_and_good_ones_kept(clean_db: Settings, tmp_path: Path,
                                                   bands: dict[str, Path]) -> None:
    good = make_item("good_20250401", bands)
    no_scl = make_item("noscl_20250401", {k: v for k, v in bands.items() if k != "SCL"})
    bad_crs = make_item("badcrs_20250401", bands)
    bad_crs["properties"].pop("proj:epsg")
    bad_crs["properties"]["proj:code"] = "EPSG:999999"
    no_date = make_item("nodate", bands)
    no_date["properties"]["datetime"] = None
    missing = make_item("missing_20250401", {**bands, "B08": tmp_path / "gone.tif"}, proj=False)
    (tmp_path / "corrupt.tif").write_bytes(b"II*\x00 not a tiff at all")
    corrupt = make_item("corrupt_20250401", {**bands, "B11": tmp_path / "corrupt.tif"},
                        proj=False)
    nocrs = {**bands, "B02": write_cog(tmp_path / "nocrs.tif", crs=None)}
    no_crs = make_item("nocrs_20250401", dict(reversed(list(nocrs.items()))), proj=False)
    bad_geom = make_item("badgeom_20250401", bands)
    bad_geom["geometry"] = {"type": "Point", "coordinates": [4.4, 52.3]}
    docs = [good, no_scl, bad_crs, no_date, missing, corrupt, no_crs, bad_geom]
    src = save({"type": "FeatureCollection", "features": docs}, tmp_path / "items.json")
    seen: list[Rejection] = []

    result = add_source(clean_db, src, on_error=seen.append)

    assert result.added == 2 and seen == result.rejected
    reasons = {r.item_id: r.reason for r in result.rejected}
    assert set(reasons) == {d["id"] for d in docs[2:]}
    assert "unreadable CRS" in reasons["badcrs_20250401"]
    assert reasons["nodate"].startswith("no datetime")
    assert "gone.tif" in reasons["missing_20250401"]
    assert "corrupt.tif" in reasons["corrupt_20250401"]
    assert "no CRS" in reasons["nocrs_20250401"]
    assert "not a polygon" in reasons["badgeom_20250401"]
    kept = {i["item_id"]: i["mask"] for i in catalogue.list_images(clean_db)}
    assert kept == {"good_20250401": "SCL", "noscl_20250401": "none"}  # no SCL: catalogued, mask 'none'


def test_invalid_footprint_is_repaired(clean_db: Settings, tmp_path: Path,
                                       bands: dict[str, Path]) -> None:
    doc = make_item("bowtie_20250401", bands)
    doc["geometry"] = {"type": "Polygon", "coordinates": [[[4.4, 52.3], [4.5, 52.4],
                                                           [4.5, 52.3], [4.4, 52.4], [4.4, 52.3]]]}
    assert add_source(clean_db, save(doc, tmp_path / "i.json")).added == 1
    (row,) = rows(clean_db, "SELECT ST_IsValid(footprint) AS ok, "
                            "ST_NumGeometries(footprint) AS n FROM images")
    assert row == {"ok": True, "n": 2}


# ---------------------------------------------------------------------- static catalogue


def build_catalogue(tmp_path: Path) -> Path:
    """A self-contained static catalogue (relative hrefs) of 2 collections x 3 items."""
    root = tmp_path / "stac"
    catalog = pystac.Catalog("cbm-test", "test catalogue")
    for cid, names in (("cbm-s2", None), ("sentinel-2-l2a", ES_NAMES)):
        coll = pystac.Collection(cid, cid, pystac.Extent(
            pystac.SpatialExtent([[-180, -90, 180, 90]]), pystac.TemporalExtent([[None, None]])))
        for day in ("01", "11", "21"):
            item_id = f"{cid}_202505{day}"
            files = write_bands(tmp_path / "cogs" / item_id)
            doc = make_item(item_id, files, when=f"2025-05-{day}T10:00:00Z", collection=cid,
                            names=names)
            coll.add_item(pystac.Item.from_dict(doc))
        catalog.add_child(coll)
    catalog.normalize_hrefs(str(root))
    catalog.make_all_asset_hrefs_relative()
    catalog.save(pystac.CatalogType.SELF_CONTAINED)
    sample = json.loads(next(root.rglob("cbm-s2_20250511.json")).read_text())
    assert sample["assets"]["B02"]["href"].startswith("../")
    return root


def test_static_catalogue_with_provider_names(clean_db: Settings, tmp_path: Path) -> None:
    root = build_catalogue(tmp_path)

    result = add_source(clean_db, str(root), start="2025-05-05", end="2025-05-21")

    assert (result.added, result.skipped, result.rejected) == (4, 2, [])  # 2 outside the dates
    assert result.by_profile["cbm-s2"]["skipped"] == 1
    assert result.by_profile["earth-search-s2"] == {"added": 2, "updated": 0, "unchanged": 0,
                                                    "skipped": 1, "rejected": 0}
    images = catalogue.list_images(clean_db)
    assert {(i["collection"], i["kind"]) for i in images} == {("cbm-s2", "s2"),
                                                             ("sentinel-2-l2a", "s2")}
    es = next(i for i in images if i["collection"] == "sentinel-2-l2a")
    item = catalogue.get_image(clean_db, es["id"])["item"]
    assert item["properties"]["cbm:assets"]["B08"] == "nir"
    assert Path(band_hrefs(item)["B08"]).is_file() and "nir" in item["assets"]
    only_es = add_source(clean_db, str(root / "catalog.json"), collection="sentinel-2-l2a")
    assert (only_es.unchanged, only_es.added, only_es.skipped) == (2, 1, 3)  # 3 of cbm-s2


def test_static_catalogue_over_http(clean_db: Settings, tmp_path: Path) -> None:
    root = build_catalogue(tmp_path)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        result = add_source(clean_db, f"{url}/stac/catalog.json", collection="cbm-s2")
    finally:
        server.shutdown()
        server.server_close()
    assert (result.added, result.rejected) == (3, []) and root.is_dir()
    item = catalogue.get_image(clean_db, catalogue.list_images(clean_db)[0]["id"])["item"]
    assert band_hrefs(item)["SCL"] == f"{url}/cogs/cbm-s2_20250501/SCL.tif"


# ---------------------------------------------------------------------- folder of COGs


def test_folder_of_cogs(clean_db: Settings, tmp_path: Path) -> None:
    write_bands(tmp_path / "S2A_MSIL2A_20250412T104031_T31UFU")  # a folder per item
    write_bands(tmp_path / "flat", ("VV", "VH"), "S1A_20250415T054512_bs_{key}.tif")
    write_bands(tmp_path / "flat", ("COH_VV", "COH_VH"), "S1_2025-04-21_c6_{key}.tif")
    write_bands(tmp_path / "x", ("VV", "VH"), "nodate_{key}.tif")
    write_cog(tmp_path / "tagged_VV.tif", tags={"TIFFTAG_DATETIME": "2025:04:30 06:00:00"})
    write_cog(tmp_path / "tagged_VH.tif", tags={"TIFFTAG_DATETIME": "2025:04:30 06:00:00"})
    write_cog(tmp_path / "readme_extra.tif")
    write_cog(tmp_path / "nocrs_20250502_VV.tif", crs=None)
    write_cog(tmp_path / "nocrs_20250502_VH.tif", crs=None)
    write_bands(tmp_path / "S2B_20250420", ("B02", "B03"))  # two bands, no SCL: kept as they are

    result = add_source(clean_db, str(tmp_path))

    got = {(i["item_id"], i["kind"], i["collection"], i["datetime"].isoformat())
           for i in catalogue.list_images(clean_db)}
    assert got == {
        ("S2A_MSIL2A_20250412T104031_T31UFU", "s2", "cbm-s2", "2025-04-12T10:40:31+00:00"),
        ("S1A_20250415T054512_bs", "bs", "cbm-bs", "2025-04-15T05:45:12+00:00"),
        ("S1_2025-04-21_c6", "c6", "cbm-c6", "2025-04-21T00:00:00+00:00"),
        ("tagged", "bs", "cbm-bs", "2025-04-30T06:00:00+00:00"),
        ("S2B_20250420", "s2", "cbm-s2", "2025-04-20T00:00:00+00:00"),
    }
    two = catalogue.list_images(clean_db, start="2025-04-20", end="2025-04-20")[0]
    assert (two["bands"], two["mask"]) == (["B02", "B03"], "none")
    reasons = {Path(r.item_id).name: r.reason for r in result.rejected}
    assert set(reasons) == {"nodate", "readme_extra.tif", "nocrs_20250502"}
    assert "no CRS" in reasons["nocrs_20250502"]
    assert "no datetime" in reasons["nodate"]
    # proj info is per asset (10 m and 20 m bands) and a re-run is a no-op
    s2 = next(i for i in catalogue.list_images(clean_db, kind="s2"))
    item = catalogue.get_image(clean_db, s2["id"])["item"]
    assert item["assets"]["SCL"]["proj:shape"] == [32, 32]
    assert add_source(clean_db, str(tmp_path)).unchanged == 5


def test_folder_with_kind_and_collection_options(clean_db: Settings, tmp_path: Path) -> None:
    write_bands(tmp_path, ("VV", "VH"), "S1A_20250415_{key}.tif")
    result = add_source(clean_db, str(tmp_path), kind="bs", collection="my-s1")
    assert result.added == 1
    assert catalogue.list_images(clean_db, collection="my-s1")[0]["bands"] == ["VV", "VH"]
    assert add_source(clean_db, str(tmp_path), kind="s2").added == 0


# ---------------------------------------------------------------------- STAC API


# ---------------------------------------------------------------------- S3 (moto)




def test_s3_hrefs_through_storage(clean_db: Settings, tmp_path: Path, moto_s3: str,
                                  bands: dict[str, Path]) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=f"http://{moto_s3}", aws_access_key_id="test",
                      aws_secret_access_key="test", region_name="us-east-1")
    s3.create_bucket(Bucket="cogs")
    for key, path in bands.items():
        s3.upload_file(str(path), "cogs", f"s2/item1/{key}.tif")
    settings = Settings(**{**clean_db.model_dump(), "s3_endpoint": moto_s3, "s3_https": False,
                           "s3_access_key_id": "test", "s3_secret_access_key": "test"})
    to_s3 = {k: f"s3://cogs/s2/item1/{k}.tif" for k in bands}
    good = make_item("s3_20250701", bands, proj=False, href=lambda p: to_s3[p.stem])
    gone = copy.deepcopy(good)
    gone["id"] = "s3gone_20250701"
    gone["assets"]["SCL"]["href"] = "s3://cogs/s2/item1/nothere.tif"
    src = save({"type": "FeatureCollection", "features": [good, gone]}, tmp_path / "s3.json")

    result = add_source(settings, src)

    assert result.added == 1, result.rejected
    assert [r.item_id for r in result.rejected] == ["s3gone_20250701"]
    assert "nothere.tif" in result.rejected[0].reason
    (img,) = catalogue.list_images(settings)
    assert img["epsg"] == 32631
    assert band_hrefs(catalogue.get_image(settings, img["id"])["item"])["B02"] == to_s3["B02"]


# ---------------------------------------------------------------------- profiles, queries


def _assets(keys: set[str]) -> dict[str, dict[str, Any]]:
    return {k: {"href": f"/x/{k}.tif", "roles": ["data"]} for k in keys}


def test_profiles(tmp_path: Path) -> None:
    es_keys, cdse_keys = set(EARTH_SEARCH_S2.assets.values()), set(CDSE_S2.assets.values())
    builtins = catalogue.BUILTIN_PROFILES
    assert choose(builtins, "sentinel-2-l2a", "a", {}, _assets(es_keys)).profile is EARTH_SEARCH_S2
    cdse = choose(builtins, "sentinel-2-l2a", "a", {}, _assets(cdse_keys | {"TCI_10m", "B02_20m"}))
    assert cdse.profile is CDSE_S2 and cdse.refs["B02"].asset == "B02_10m"
    no_scl = choose(builtins, "sentinel-2-l2a", "a", {}, _assets(es_keys - {"scl"}))
    assert no_scl.mask == "none" and "B02" in no_scl.bands
    with pytest.raises(InvalidInput, match="no band asset found"):
        choose(builtins, "sentinel-2-l2a", "a", {}, _assets({"thumbnail"}))
    path = tmp_path / "p.yaml"
    path.write_text("profiles:\n  - name: mine\n    collection: 'my-s1.*'\n    kind: bs\n"
                    "    assets: {VV: vv, VH: vh}\n")
    (mine,) = load_profiles(path)
    assert mine == CollectionProfile("mine", "my-s1.*", "bs", {"VV": "vv", "VH": "vh"})
    assert mine.matches("my-s1-rtc") and not mine.matches("s1")
    with pytest.raises(InvalidInput, match="B02 not a bs band"):
        CollectionProfile("x", ".*", "bs", {"VV": "vv", "B02": "b2"})
    with pytest.raises(InvalidInput, match="maps no s2 band"):
        CollectionProfile("x", ".*", "s2", {"SCL": "scl"})
    with pytest.raises(InvalidInput):
        load_profiles(tmp_path / "missing.yaml")


def test_custom_profile_file(clean_db: Settings, tmp_path: Path) -> None:
    files = write_bands(tmp_path / "cogs", ("VV", "VH"))
    doc = make_item("rtc_20250801", files, collection="my-s1-rtc",
                    names={"VV": "vv", "VH": "vh"})
    src = save(doc, tmp_path / "item.json")
    assert add_source(clean_db, src).rejected[0].reason.startswith("no band asset found")
    path = tmp_path / "p.yaml"
    path.write_text("name: mine\ncollection: 'my-s1.*'\nkind: bs\nassets: {VV: vv, VH: vh}\n")
    assert add_source(clean_db, src, profile=str(path)).added == 1


def test_names_and_inputs() -> None:
    assert name_datetime("S2A_MSIL2A_20250412T104031_N0511").isoformat() == \
        "2025-04-12T10:40:31+00:00"
    assert name_datetime("x_2025-13-45_20250102").isoformat() == "2025-01-02T00:00:00+00:00"
    assert name_datetime("no_date_here_123") is None
    keys = ("VV", "VH", "COH_VV", "COH_VH")
    assert split_name(Path("a/x_COH_VV.tif"), keys) == ("x", "COH_VV")
    assert split_name(Path("item7/VH.tif"), keys) == ("item7", "VH")
    assert split_name(Path("item7/notes.tif"), keys) is None


@pytest.mark.parametrize("kwargs", [
    {"bbox": (5, 50, 4, 51)}, {"start": "2025-06-02", "end": "2025-06-01"},
    {"max_cloud": 120}, {"start": "yesterday"}, {"kind": "s3"},
])
def test_bad_parameters(clean_db: Settings, tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(InvalidInput):
        add_source(clean_db, str(tmp_path), **kwargs)


def test_missing_source(clean_db: Settings, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no such file"):
        add_source(clean_db, str(tmp_path / "nope"))


def test_list_and_summary(clean_db: Settings, tmp_path: Path, bands: dict[str, Path]) -> None:
    docs = [make_item(f"s2_202504{d}", bands, when=f"2025-04-{d}T10:00:00Z") for d in (10, 20)]
    s1 = write_bands(tmp_path / "s1", ("VV", "VH"))
    docs.append(make_item("s1_20250415", s1, collection="cbm-bs", when="2025-04-15T05:00:00Z"))
    add_parcel_set(clean_db, "nl", NEAR)
    add_source(clean_db, save({"type": "FeatureCollection", "features": docs},
                              tmp_path / "f.json"))
    assert len(catalogue.list_images(clean_db, kind="s2")) == 2
    assert [i["item_id"] for i in catalogue.list_images(clean_db, start="2025-04-15",
                                                        end="2025-04-20")] == \
        ["s1_20250415", "s2_20250420"]
    summ = {(r["collection"], r["kind"]): r for r in catalogue.summary(clean_db)}
    assert summ[("cbm-s2", "s2")]["n_images"] == 2
    assert summ[("cbm-s2", "s2")]["jobs_pending"] == 2
    assert summ[("cbm-bs", "bs")]["first"].isoformat() == "2025-04-15T05:00:00+00:00"


def test_band_hrefs_of_rows_and_plain_items() -> None:
    item = {"properties": {"cbm:assets": {"B02": "blue", "SCL": "scl"}},
            "assets": {"blue": {"href": "/a/blue.tif"}, "scl": {"href": "/a/scl.tif"},
                       "thumbnail": {"href": "/a/t.png"}}}
    assert band_hrefs({"id": 1, "kind": "s2", "item": item}) == {"B02": "/a/blue.tif",
                                                                 "SCL": "/a/scl.tif"}
    plain = {"properties": {}, "assets": {"VV": {"href": "v"}, "VH": {"href": "h"},
                                          "thumbnail": {"href": "t"}}}
    assert band_hrefs({"kind": "bs", "item": plain}) == {"VV": "v", "VH": "h"}


def test_demo_style_coherence_item(clean_db: Settings, tmp_path: Path) -> None:
    """Like backend/demo/stac.py: asset-level proj, start/end datetimes, relative hrefs."""
    files = write_bands(tmp_path / "cogs", ("COH_VV", "COH_VH"))
    doc = make_item("S1A_coh6_20250612", files, collection="sentinel-1-coh6", proj=False,
                    href=lambda p: f"../cogs/{p.name}")
    doc["properties"].update({"proj:epsg": 32631, "start_datetime": "2025-06-06T05:00:00Z",
                              "end_datetime": "2025-06-12T05:00:00Z"})
    for asset in doc["assets"].values():
        asset.update({"proj:epsg": 32631, "proj:shape": [64, 64],
                      "proj:transform": [10, 0, ORIGIN[0], 0, -10, ORIGIN[1]]})
    result = add_source(clean_db, save(doc, tmp_path / "items" / "coh.json"))
    assert result.added == 1, result.rejected
    (img,) = catalogue.list_images(clean_db, kind="c6")
    assert img["collection"] == "sentinel-1-coh6" and img["bands"] == ["COH_VV", "COH_VH"]
