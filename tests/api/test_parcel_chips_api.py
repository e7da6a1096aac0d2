"""Parcel chips (``/parcels/chips``) through real HTTP: centred on the parcel, sized to it, outlined,
with the cloud and no-data shares of the parcel's own SCL pixels; expected values from the scene's arrays."""

from __future__ import annotations

from collections.abc import Iterator

import geopandas as gpd
import httpx
import pytest
from apitools import running_api
from chips_scene import S2_DATE, S2_DATE_2, catalogue, make_scene
from gridtools import CRS, X0, Y0
from rasterio.io import MemoryFile
from shapely.geometry import box

from backend.accounts import add_user, grant_aoi
from backend.db import connect
from backend.parcels import import_parcels
from backend.settings import Settings

PASSWORD = "parcel-chips-password"
CONSUMER, STRANGER = ("con", PASSWORD), ("stranger", PASSWORD)
JUNE = {"start_date": "2025-06-01", "end_date": "2025-06-30"}
PARCELS = {  # pid -> box (left, bottom, right, top) in EPSG:32631
    "CLOUD": (X0, Y0 - 160, X0 + 160, Y0),  # exactly the first image's SCL cloud block (8 x 8 px of 20 m)
    "MIXED": (X0 + 80, Y0 - 160, X0 + 240, Y0),  # SCL cols 4..11, rows 0..7: cols 4..7 cloudy
    "EDGE": (X0 - 60, Y0 - 400, X0 + 100, Y0 - 300),  # 3 of 8 SCL columns west of the image
    "SMALL": (X0 + 270, Y0 - 370, X0 + 370, Y0 - 270),  # 1 ha, in the clear part
}


@pytest.fixture(scope="module")
def srv(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The scene catalogued, parcel set 'tt' with the parcels above, the app served on loopback."""
    root = tmp_path_factory.mktemp("parcel_chips")
    s = Settings(**{**settings.model_dump(), "var_dir": root / "var", "api_max_chips": 4,
                    "api_rate_per_minute": 100_000, "api_rate_burst": 10_000})
    with connect(s) as conn:
        conn.execute("TRUNCATE signatures, parcel_sets, images, users, batch_runs, audit_log, marker_runs "
                     "RESTART IDENTITY CASCADE")
    scene = make_scene(root)
    gpd.GeoDataFrame({"pid": list(PARCELS), "crop_code": ["1"] * len(PARCELS)}, crs=CRS,
                     geometry=[box(*b) for b in PARCELS.values()]).to_file(root / "p.gpkg")
    import_parcels(s, root / "p.gpkg", aoi="tt", year=2025)
    catalogue(s, scene)
    with connect(s, autocommit=True) as conn:
        add_user(conn, "con", PASSWORD, "consumer")
        add_user(conn, "stranger", PASSWORD, "consumer")
        grant_aoi(conn, "con", "tt")
    with running_api(s) as server:
        yield server.url


def chips(api: str, pid: str, auth=CONSUMER, **params) -> httpx.Response:
    query = {"aoi": "tt", "year": 2025, "pid": pid, **JUNE, "style": "truecolor", **params}
    return httpx.get(f"{api}/parcels/chips", params=query, auth=auth, timeout=60)


def by_date(body: dict) -> dict[str, dict]:
    return {c["date"][:10].replace("-", ""): c for c in body["chips"]}


def test_cloud_share_is_the_parcels_own_pixels(srv) -> None:
    cloudy = by_date(chips(srv, "CLOUD").json())
    assert cloudy[S2_DATE[:8]]["cloud_fraction"] == 1.0 and cloudy[S2_DATE[:8]]["nodata_fraction"] == 0.0
    assert cloudy[S2_DATE_2[:8]]["cloud_fraction"] == 0.0  # the second image's SCL is all clear
    mixed = by_date(chips(srv, "MIXED").json())
    assert mixed[S2_DATE[:8]]["cloud_fraction"] == 0.5


def test_half_empty_view_says_how_much_is_missing(srv) -> None:
    edge = by_date(chips(srv, "EDGE").json())[S2_DATE[:8]]
    assert edge["nodata_fraction"] == 0.375 and edge["cloud_fraction"] == 0.0


def test_chip_is_centred_sized_and_outlined(srv, tmp_path) -> None:
    body = chips(srv, "SMALL", chipsize=30, lut="minmax:0_3000").json()
    assert body["extent_m"] == 300.0  # 1 ha: the minimum context, not 1.3 km
    assert chips(srv, "MIXED", chipsize=30).json()["extent_m"] == 300.0  # 1.5 x 160 m < 300 m
    png = httpx.get(f"{srv}{by_date(body)[S2_DATE[:8]]['url']}", timeout=30).content
    with MemoryFile(png) as mem, mem.open() as ds:
        rgba = ds.read()
    # 300 m in 30 px: 10 m pixels, the chip's centre on the parcel's (scene pixel corner 32, 32),
    # so chip pixel (r, c) is scene pixel (17 + r, 17 + c); the parcel is chip pixels 10..19
    b04 = make_scene(tmp_path)["s2"]["B04"]  # seeded: the arrays of the served scene
    assert rgba[0, 15, 15] == int(min(b04[32, 32], 3000) / 3000 * 255)
    assert rgba[0, 2, 3] == int(min(b04[19, 20], 3000) / 3000 * 255)
    yellow = (rgba[0] == 255) & (rgba[1] == 255) & (rgba[2] == 0)
    assert yellow[10:20, 10].all() and yellow[10, 10:20].all()  # the outline
    assert not yellow[13:17, 13:17].any() and not yellow[:5, :5].any()


def test_season_slots_keep_the_clearest_view(srv) -> None:
    one = chips(srv, "CLOUD", slots=1).json()["chips"]
    assert [c["date"][:10].replace("-", "") for c in one] == [S2_DATE_2[:8]]
    assert chips(srv, "CLOUD", slots=5).status_code in (400, 413, 422, 429)


def test_rights_and_unknown_parcel(srv) -> None:
    assert chips(srv, "SMALL", auth=STRANGER).status_code in (403, 404)
    missing = chips(srv, "NOPE")
    assert missing.status_code == 404 and "NOPE" in missing.json()["detail"]
