"""Chip endpoints through real HTTP: the app served by uvicorn on loopback, the real database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import httpx
import numpy as np
import pytest
from apitools import running_api
from chips_scene import S1_DATE, S2_DATE, S2_ITEM, catalogue, lonlat, make_scene
from rasterio.io import MemoryFile
from shapely.geometry import box

from backend.accounts import add_user, grant_aoi
from backend.chips import sign
from backend.db import connect
from backend.parcels import import_parcels
from backend.settings import DEMO_ADMIN_PASSWORD, Settings

PASSWORD = "chips-password"
ADMIN = ("admin", DEMO_ADMIN_PASSWORD)
ANALYST, CONSUMER, STRANGER = ("ana", PASSWORD), ("con", PASSWORD), ("stranger", PASSWORD)
LON, LAT = lonlat(20.5, 30.5)
DATES = {"start_date": "2025-06-01", "end_date": "2025-06-30"}



@pytest.fixture(scope="module")
def world(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Scene catalogued, a parcel set 'tt' covering it, users with and without grants."""
    root = tmp_path_factory.mktemp("chips_api")
    s = Settings(**{**settings.model_dump(), "var_dir": root / "var", "api_max_chips": 3,
                    "api_rate_per_minute": 100_000, "api_rate_burst": 10_000})
    with connect(s) as conn:
        conn.execute("TRUNCATE signatures, parcel_sets, images, users, batch_runs, audit_log, marker_runs "
                     "RESTART IDENTITY CASCADE")
    scene = make_scene(root)
    gpd.GeoDataFrame({"pid": ["P1"], "crop_code": ["1"]}, crs="EPSG:32631",
                     geometry=[box(600_020, 5_699_380, 600_620, 5_699_980)]).to_file(root / "p.gpkg")
    import_parcels(s, root / "p.gpkg", aoi="tt", year=2025)
    catalogue(s, scene)
    with connect(s, autocommit=True) as conn:
        for (name, pw), role in ((ANALYST, "analyst"), (CONSUMER, "consumer"), (STRANGER, "analyst")):
            add_user(conn, name, pw, role)
        grant_aoi(conn, "ana", "tt")
        grant_aoi(conn, "con", "tt")
    return {"settings": s, "scene": scene}


@pytest.fixture(scope="module")
def srv(world: dict) -> Iterator[str]:
    """Base URL of the app served by uvicorn in a thread."""
    with running_api(world["settings"]) as server:
        yield server.url


def get(api: str, path: str, auth=CONSUMER, **params) -> httpx.Response:
    return httpx.get(f"{api}{path}", params=params, auth=auth, timeout=30)


def test_chips_by_location_json_and_signed_files(srv) -> None:
    r = get(srv, "/query/chipsByLocation", lon=LON, lat=LAT, chipsize=32, band="B08_B04_B03", lut="5_95",
            **DATES)
    assert r.status_code == 200, r.text
    items = r.json()
    assert [i["date"][:10] for i in items] == ["2025-06-01", "2025-06-11"]
    for item in items:
        png = httpx.get(srv + item["url"], timeout=30)  # no credentials
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        assert "immutable" in png.headers["cache-control"]
        with MemoryFile(png.content) as mem, mem.open() as ds:
            assert (ds.count, ds.width, ds.height) == (4, 32, 32)


def test_chips_by_location_html_gallery(srv) -> None:
    r = httpx.get(f"{srv}/query/chipsByLocation", params={"lon": LON, "lat": LAT, "band": "ndvi", **DATES},
                  auth=CONSUMER, headers={"Accept": "text/html"}, timeout=30)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.text.count('<img src="/files/') == 2


def test_raw_chip_by_location_downloads_source_values(srv, world) -> None:
    r = get(srv, "/query/rawChipByLocation", auth=ANALYST, lon=LON, lat=LAT, band="B04", chipsize=80, **DATES)
    assert r.status_code == 200, r.text  # chipsize in metres, as the JRC API: 80 m = 8 px of 10 m
    body = r.json()
    assert body["dates"] == [S2_DATE, "20250611T103031"]
    assert body["chips"][0].endswith(f"/{S2_ITEM}.B04.tif")
    tif = httpx.get(srv + body["chips"][0], timeout=30)
    with MemoryFile(tif.content) as mem, mem.open() as ds:
        assert ds.crs.to_epsg() == 32631
        np.testing.assert_array_equal(ds.read(1), world["scene"]["s2"]["B04"][26:34, 16:24])


def test_raw_batches_get_and_post(srv) -> None:
    body = {"lon": LON, "lat": LAT, "bands": ["VV", "VH"], "chipsize": 80, **DATES}
    r = httpx.post(f"{srv}/query/rawS1ChipsBatch", json=body, auth=ANALYST, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["dates"] == [S1_DATE, S1_DATE] and r.json()["bands"] == ["VV", "VH"]
    r = get(srv, "/query/rawChipsBatch", auth=ANALYST, lon=LON, lat=LAT, bands="B08", chipsize=80, **DATES)
    assert r.status_code == 200 and len(r.json()["chips"]) == 2
    r = httpx.request("GET", f"{srv}/query/rawChipsBatch", json={**body, "bands": ["B11"]}, auth=ANALYST,
                      timeout=30)
    assert r.status_code == 200 and r.json()["bands"] == ["B11", "B11"]


def test_background_by_location(srv) -> None:
    r = get(srv, "/query/backgroundByLocation", lon=LON, lat=LAT, chipsize=64, extend=320, tms="S2",
            iformat="png")
    assert r.status_code == 200 and r.text.startswith(f"{srv}/files/") and r.text.endswith("/s2.png"), r.text
    image = httpx.get(r.text, timeout=30)
    assert image.status_code == 200 and image.content[:4] == b"\x89PNG"
    outside = get(srv, "/query/backgroundByLocation", auth=ADMIN, lon=10.0, lat=45.0, tms="s2")
    assert outside.status_code == 200 and outside.text == "{}"


def test_unconfigured_background_is_refused_with_the_configured_names(srv) -> None:
    r = get(srv, "/query/backgroundByLocation", lon=LON, lat=LAT, tms="Google")
    assert r.status_code == 422 and "'Google' is not a background source" in r.json()["detail"]
    assert "configured: s2" in r.json()["detail"]


def test_outside_every_image_is_empty(srv) -> None:
    r = get(srv, "/query/chipsByLocation", auth=ADMIN, lon=10.0, lat=45.0, **DATES)
    assert r.status_code == 200 and r.json() == []
    r = get(srv, "/query/rawChipByLocation", auth=ADMIN, lon=10.0, lat=45.0, band="B04", **DATES)
    assert r.status_code == 200 and r.json() == {"dates": [], "chips": []}


def test_auth_and_rights(srv) -> None:
    assert get(srv, "/query/chipsByLocation", auth=None, lon=LON, lat=LAT, **DATES).status_code == 401
    assert get(srv, "/query/chipsByLocation", auth=STRANGER, lon=LON, lat=LAT, **DATES).status_code == 403
    r = get(srv, "/query/rawChipByLocation", auth=CONSUMER, lon=LON, lat=LAT, band="B04", **DATES)
    assert r.status_code == 403 and "analyst" in r.json()["detail"]


def test_signed_files_refuse_forged_and_expired(srv, world) -> None:
    r = get(srv, "/query/rawChipByLocation", auth=ANALYST, lon=LON, lat=LAT, band="B04", chipsize=80, **DATES)
    url = r.json()["chips"][0]
    _, _, token, name = url.split("/")
    encoded, expiry, mac = token.split(".")
    for bad in (f"{encoded}.{int(expiry) + 60}.{mac}", f"{encoded}.{expiry}.{mac[::-1]}", "x.y.z"):
        assert httpx.get(f"{srv}/files/{bad}/{name}", timeout=30).status_code == 403
    path = sign(world["settings"], "../../etc/passwd", 60)
    assert httpx.get(f"{srv}/files/{path}/passwd", timeout=30).status_code == 404
    old = sign(world["settings"], "whatever.tif", 60, now=time.time() - 120)
    r = httpx.get(f"{srv}/files/{old}/{name}", timeout=30)
    assert r.status_code == 403 and "expired" in r.json()["detail"]


@pytest.mark.parametrize(("path", "params", "words"), [
    ("/query/chipsByLocation", {"chipsize": 2000}, "CBM_API_MAX_CHIP_SIZE"),
    ("/query/chipsByLocation", {"chipsize": 5000}, "chipsize"),
    ("/query/chipsByLocation", {"end_date": "2027-06-01"}, "CBM_API_MAX_DATE_SPAN_DAYS"),
    ("/query/chipsByLocation", {"end_date": "2025-05-01"}, "before"),
    ("/query/chipsByLocation", {"band": "B04_B99_B03"}, "unknown band"),
    ("/query/chipsByLocation", {"lut": "5-95"}, "bad lut"),
    ("/query/chipsByLocation", {"lon": "abc"}, "lon"),
    ("/query/chipsByLocation", {"lat": 95}, "lat"),
    ("/query/chipsByLocation", {"start_date": "2025-13-01"}, "start_date"),
    ("/query/rawChipsBatch", {"bands": "B04_B08"}, "CBM_API_MAX_CHIPS"),
    ("/query/rawChipsBatch", {"bands": "VV"}, "s2 bands"),
    ("/query/rawChipsBatch", {"chipsize": "big"}, "chipsize"),
    ("/query/backgroundByLocation", {"extend": 50_000}, "CBM_CHIP_BACKGROUND_MAX_EXTENT_M"),
    ("/query/backgroundByLocation", {"iformat": "gif"}, "iformat"),
])
def test_bad_parameters_are_4xx(srv, path, params, words) -> None:
    base = {"lon": LON, "lat": LAT, "band": "B04", **DATES} if "Batch" not in path and "background" \
        not in path else {"lon": LON, "lat": LAT, **DATES}
    r = get(srv, path, auth=ADMIN, **{**base, **params})
    assert r.status_code == 422, (r.status_code, r.text)
    assert words in r.text


def test_post_batch_bad_body_is_422(srv) -> None:
    r = httpx.post(f"{srv}/query/rawChipsBatch", json={"lon": "x", "lat": LAT}, auth=ANALYST, timeout=30)
    assert r.status_code == 422
    r = httpx.post(f"{srv}/query/rawChipsBatch", content=b"{not json", auth=ANALYST, timeout=30,
                   headers={"content-type": "application/json"})
    assert r.status_code == 422


def test_chip_files_stay_in_cache_dir(world) -> None:
    cache = Path(world["settings"].var_dir) / "chips"
    assert not list(cache.rglob(".tmp-*"))
