"""The JRC chip and background contract through the real API (``../shared/jrc-api.md``, issue 20).

Units as the original (raw ``chipsize`` in metres, backgrounds in pixels and metres), error
bodies the JRC client survives, chips and backgrounds by parcel id, background sources by
name, and ``/query/info``'s ``id_examples``. Expected pixels come from the source files read
with rasterio, not from our code.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import rasterio
from apitools import PARCELS, Server, lonlat
from gridtools import X0, Y0
from jrcworld import ITEMS, jrc_api
from rasterio.io import MemoryFile
from rasterio.windows import Window, from_bounds

from backend.demo.orthophoto import build_orthophoto
from backend.settings import Settings

LON, LAT = lonlat("A")
DATES = {"start_date": "2025-06-01", "end_date": "2025-06-30"}


@pytest.fixture(scope="module")
def jrc(api_settings: Settings) -> Iterator[Server]:
    with jrc_api(api_settings) as server:
        yield server


def get(server: Server, path: str, who: str | None = "analyst", **params) -> httpx.Response:
    with server.client(who) as c:
        return c.get(path, params=params)


def download(url: str) -> rasterio.io.DatasetReader:
    r = httpx.get(url, timeout=60)  # no credentials, as the client
    assert r.status_code == 200, r.text
    return MemoryFile(r.content).open()


def source_window(api_settings: Settings, item: str, band: str, ds) -> np.ndarray:
    """The source COG's pixels under a chip (boundless, 0 outside), read with rasterio."""
    path = Path(api_settings.var_dir).parent / "cogs" / item / f"{band}.tif"
    with rasterio.open(path) as src:
        win = from_bounds(*ds.bounds, transform=src.transform)
        win = Window(round(win.col_off), round(win.row_off), ds.width, ds.height)
        return src.read(1, window=win, boundless=True, fill_value=0)


def test_info_has_id_examples_and_background_sources(jrc) -> None:
    r = get(jrc, "/query/info", "consumer")
    info = r.json()
    tt = info["aois"]["tt"]
    assert tt["years"] == [2025] and tt["id_examples_2025"] == ["A", "B", "C", "D"]
    assert {"ortho", "s2"} <= set(tt["tms"])
    kinds = {b["name"]: b["kind"] for b in info["backgrounds"]}
    assert kinds["ortho"] == "raster" and kinds["s2"] == "s2"
    assert "tt_ortho.tif" not in r.text  # where a source lives is not told


def test_raw_chip_default_is_1280_metres(jrc, api_settings) -> None:
    r = get(jrc, "/query/rawChipByLocation", lon=LON, lat=LAT, band="B04", **DATES)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["dates"] == ["20250601T103031", "20250611T103031"]
    assert body["chips"][0].endswith(f"/{ITEMS[0]}.B04.tif")
    with download(jrc.url + body["chips"][0]) as ds:
        assert (ds.width, ds.height, ds.res) == (128, 128, (10.0, 10.0))  # 1280 m of 10 m pixels
        np.testing.assert_array_equal(ds.read(1), source_window(api_settings, ITEMS[0], "B04", ds))
    r = get(jrc, "/query/rawChipByLocation", lon=LON, lat=LAT, band="B11", chipsize=640, **DATES)
    with download(jrc.url + r.json()["chips"][1]) as ds:
        assert (ds.width, ds.height, ds.res) == (32, 32, (20.0, 20.0))  # 640 m of 20 m pixels
        np.testing.assert_array_equal(ds.read(1), source_window(api_settings, ITEMS[1], "B11", ds))


def test_raw_chip_onlylist_gives_the_images_without_files(jrc, api_settings) -> None:
    r = get(jrc, "/query/rawChipByLocation", lon=LON, lat=LAT, band="B04", onlylist="True", **DATES)
    assert r.status_code == 200, r.text
    assert r.json() == {"dates": ["20250601T103031", "20250611T103031"], "chips": list(ITEMS)}


@pytest.mark.parametrize(("params", "who", "status", "words"), [
    ({"chipsize": 20_000}, "analyst", 422, "chipsize 20000 m exceeds the limit of 10240 m"),
    ({"chipsize": 0}, "analyst", 422, "chipsize"),
    ({"lon": "abc"}, "analyst", 422, "lon: "),
    ({"band": "B99"}, "analyst", 422, "unknown band"),
    ({"band": "B04_B08"}, "analyst", 422, "unknown band"),
    ({"start_date": "2025-07-01"}, "analyst", 422, "before start_date"),
    ({"end_date": "2027-06-30"}, "analyst", 422, "CBM_API_MAX_DATE_SPAN_DAYS"),
    ({"start_date": "2025-06-31"}, "analyst", 422, "start_date: "),
    ({"plevel": "LEVEL1C"}, "analyst", 422, "plevel"),
    ({}, "consumer", 403, "analyst role"),
    ({}, None, 401, "authentication required"),
])
def test_raw_chip_errors_are_bodies_the_client_reads(jrc, params, who, status, words) -> None:
    query = {"lon": LON, "lat": LAT, "band": "B04", **DATES, **params}
    r = get(jrc, "/query/rawChipByLocation", who, **query)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["dates"] == [] and body["chips"] == [] and words in body["detail"], body
    assert pd.read_json(io.StringIO(r.text)).empty  # what the client does with it
    if status == 401:
        assert r.headers["www-authenticate"].startswith("Basic")


def test_raw_chip_by_parcel_id_is_the_chip_at_its_centroid(jrc) -> None:
    tt, chip = {"aoi": "tt", "year": 2025}, {"band": "B08", "chipsize": 320, **DATES}
    with jrc.client("analyst") as c:
        parcel = c.get("/query/parcelByID", params={**tt, "pid": "A"}).json()
        by_pid = c.get("/query/rawChipByParcelID", params={**tt, "pid": "A", **chip}).json()
        by_loc = c.get("/query/rawChipByLocation", params={"lon": parcel["clon"][0], "lat": parcel["clat"][0],
                                                           **chip}).json()
        missing = c.get("/query/rawChipByParcelID", params={**tt, "pid": "nope", **chip})
        no_set = c.get("/query/rawChipByParcelID", params={**tt, "year": 2024, "pid": "A", **chip})
    assert by_pid["dates"] == by_loc["dates"] and len(by_pid["chips"]) == 2
    assert [httpx.get(jrc.url + u).content for u in by_pid["chips"]] == \
        [httpx.get(jrc.url + u).content for u in by_loc["chips"]]
    for r, words in ((missing, "no parcel 'nope'"), (no_set, "no parcel set")):
        assert r.status_code == 404 and r.json()["chips"] == [] and words in r.json()["detail"], r.text
    outsider = get(jrc, "/query/rawChipByParcelID", "outsider", **tt, pid="A", **chip)
    assert outsider.status_code == 403


def test_batch_with_jrc_tiles_and_metres(jrc) -> None:
    with jrc.client("analyst") as c:
        r = c.post("/query/rawChipsBatch", json={"lon": LON, "lat": LAT, "tiles": [ITEMS[1]],
                                                 "bands": ["B04", "B11"], "chipsize": 640})
        unknown = c.post("/query/rawChipsBatch", json={"lon": LON, "lat": LAT, "tiles": ["S2X_NOT_THERE"],
                                                       "bands": ["B04"]})
        s1 = c.post("/query/rawS1ChipsBatch", json={"lon": LON, "lat": LAT, "chipsize": 320, **DATES})
        jrc_s1 = {"lon": LON, "lat": LAT, "dates": ["2025-06-01", "2025-06-30"], "chipsize": 320}
        coh = c.post("/query/rawS1ChipsBatch", json={**jrc_s1, "plevel": "CARD-COH6"})
        bs = c.post("/query/rawS1ChipsBatch", json={**jrc_s1, "plevel": "CARD-BS"})
        bad = c.post("/query/rawS1ChipsBatch", json={**jrc_s1, "plevel": "GRD"})
    assert r.status_code == 200, r.text
    assert r.json()["bands"] == ["B04", "B11"] and r.json()["dates"] == ["20250611T103031"] * 2
    with download(jrc.url + r.json()["chips"][0]) as ds:
        assert (ds.width, ds.height) == (64, 64)
    assert unknown.status_code == 422 and "S2X_NOT_THERE" in unknown.json()["detail"]
    assert unknown.json()["chips"] == []
    assert s1.status_code == 200 and s1.json()["bands"] == ["VV", "VH"]
    names = [u.split("/")[-1] for u in bs.json()["chips"]]
    assert names == [u.split("/")[-1] for u in s1.json()["chips"]] and bs.json()["bands"] == ["VV", "VH"]
    assert coh.json()["bands"] == ["COH_VV", "COH_VH"]
    assert coh.json()["dates"] == ["20250605T055012"] * 2
    assert bad.status_code == 422 and "CARD-BS or CARD-COH6" in bad.json()["detail"]
    assert bad.json()["chips"] == []
    with download(jrc.url + s1.json()["chips"][0]) as ds:
        assert (ds.width, ds.height) == (32, 32)


def test_background_by_location_from_the_orthophoto(jrc, api_settings) -> None:
    r = get(jrc, "/query/backgroundByLocation", "consumer", lon=LON, lat=LAT, chipsize=100, extend=200,
            tms="Ortho")
    assert r.status_code == 200 and r.text.startswith(f"{jrc.url}/files/") and r.text.endswith("/ortho.tif")
    ortho = Path(api_settings.var_dir).parent / "ortho" / "tt_ortho.tif"
    with download(r.text) as ds, rasterio.open(ortho) as src:
        assert ds.crs == src.crs and ds.res == (2.0, 2.0) and (ds.width, ds.height) == (100, 100)
        win = from_bounds(*ds.bounds, transform=src.transform).round_offsets().round_lengths()
        expected = src.read(window=win, boundless=True, fill_value=0)  # parcel A is near the corner
        np.testing.assert_array_equal(ds.read((1, 2, 3)), expected)
    png = get(jrc, "/query/backgroundByLocation", "consumer", lon=LON, lat=LAT, tms="ortho", iformat="png")
    assert png.text.endswith("/ortho.png") and httpx.get(png.text).content[:4] == b"\x89PNG"


def test_background_by_parcel_id_outlines_the_parcel(jrc) -> None:
    params = {"aoi": "tt", "year": 2025, "pid": "A", "chipsize": 160, "extend": 320, "tms": "ortho"}
    plain = get(jrc, "/query/backgroundByParcelID", "consumer", **params)
    drawn = get(jrc, "/query/backgroundByParcelID", "consumer", **params, withGeometry="True")
    assert plain.text.endswith("/ortho.tif") and drawn.text.endswith("/ortho.tif")
    with download(plain.text) as ds:
        clean = ds.read((1, 2, 3))
    with download(drawn.text) as ds:
        img, transform = ds.read((1, 2, 3)), ds.transform
    yellow = (img[0] == 255) & (img[1] == 255) & (img[2] == 0)
    assert not ((clean[0] == 255) & (clean[1] == 255) & (clean[2] == 0)).any()
    c0, r0, c1, r1 = PARCELS["A"]  # 10 m pixels of the scene -> 2 m pixels of the chip
    left, top = ~transform * (X0 + c0 * 10, Y0 - r0 * 10)
    right, bottom = ~transform * (X0 + c1 * 10, Y0 - r1 * 10)
    mid_row, mid_col = int((top + bottom) / 2), int((left + right) / 2)
    left, right, top, bottom = int(left), int(right), int(top), int(bottom)
    assert yellow[mid_row, left - 1:left + 1].any() and yellow[mid_row, right - 1:right + 1].any()
    assert yellow[top - 1:top + 1, mid_col].any() and yellow[bottom - 1:bottom + 1, mid_col].any()
    assert not yellow[top + 3:bottom - 3, left + 3:right - 3].any()
    assert not yellow[:, : left - 3].any()
    np.testing.assert_array_equal(img[:, ~yellow], clean[:, ~yellow])


@pytest.mark.parametrize("path", ["/query/backgroundByLocation", "/query/backgroundByParcelID"])
def test_unconfigured_tms_is_refused_with_the_configured_names(jrc, path) -> None:
    r = get(jrc, path, "consumer", lon=LON, lat=LAT, aoi="tt", year=2025, pid="A", tms="Google")
    assert r.status_code == 422, r.text
    assert "'Google' is not a background source" in r.json()["detail"]
    assert "configured: ortho, s2" in r.json()["detail"]


@pytest.mark.parametrize(("params", "words"), [
    ({"chipsize": 5000}, "chipsize 5000 px exceeds the limit CBM_API_MAX_CHIP_SIZE = 1024 px"),
    ({"chipsize": 0}, "chipsize"),
    ({"extend": 50_000}, "extend 50000 m exceeds the limit of 10000 m"), ({"iformat": "gif"}, "iformat"),
    ({"tms": ""}, "tms"), ({"tms": "x" * 41}, "tms"),
])
def test_bad_background_parameters(jrc, params, words) -> None:
    r = get(jrc, "/query/backgroundByLocation", "consumer", **{"lon": LON, "lat": LAT, "tms": "ortho",
                                                               **params})
    assert r.status_code == 422 and words in r.text, r.text


def test_orthophoto_builder_is_deterministic_and_incremental(api_settings, tmp_path) -> None:
    from jrcworld import BOUNDS

    parcels = Path(api_settings.var_dir).parent / "tt.gpkg"
    a, b = tmp_path / "a" / "o.tif", tmp_path / "b" / "o.tif"
    assert build_orthophoto(parcels, a, BOUNDS, "EPSG:32631", seed=3)
    assert build_orthophoto(parcels, b, BOUNDS, "EPSG:32631", seed=3)
    assert a.read_bytes() == b.read_bytes()
    assert not build_orthophoto(parcels, a, BOUNDS, "EPSG:32631", seed=3)  # up to date
    assert json.loads(a.with_suffix(".json").read_text())["synthetic"] is True
    with rasterio.open(a) as ds:
        assert ds.count == 3 and ds.res == (2.0, 2.0) and "SYNTHETIC" in ds.tags()
    assert build_orthophoto(parcels, a, BOUNDS, "EPSG:32631", seed=4)  # another seed: rebuilt
