"""Every limit names its setting and allowed value; bad parameters are 4xx with a clear message, never 500."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from apitools import Server, lonlat, running_api
from fastapi import FastAPI

from backend.api.middleware import RequestContextMiddleware
from backend.settings import Settings

LON, LAT = lonlat("A")
SET = {"aoi": "tt", "year": 2025}


@pytest.fixture(scope="module")
def limited(api_settings: Settings) -> Iterator[Server]:
    s = Settings(**{**api_settings.model_dump(), "api_max_rows": 2, "api_max_polygon_km2": 1.0,
                    "api_max_polygon_vertices": 10, "api_max_date_span_days": 31, "api_max_chips": 1,
                    "api_max_chip_size": 64, "api_rate_per_minute": 6000, "api_rate_burst": 1000})
    with running_api(s) as server:
        yield server


def _square(lon: float, lat: float, d: float, n: int = 4) -> str:
    pts = [(lon + d * (i % 2), lat + d * (i // 2 % 2)) for i in range(n)]
    ring = [(lon, lat), (lon + d, lat), (lon + d, lat + d), (lon, lat + d)]
    ring += pts[4:]
    return "POLYGON((" + ", ".join(f"{x} {y}" for x, y in [*ring, ring[0]]) + "))"


def _detail(server: Server, path: str, who: str = "consumer", **params: object) -> tuple[int, str]:
    with server.client(who) as c:
        r = c.get(path, params=params)
    return r.status_code, r.text


@pytest.mark.parametrize(("path", "params", "needle"), [
    ("/query/parcelsByPolygon", {**SET, "polygon": _square(LON, LAT, 0.1)}, "api_max_polygon_km2=1"),
    ("/query/parcelsByPolygon", {**SET, "polygon": "POLYGON((" + ", ".join(
        f"{LON + i * 1e-6} {LAT + (i % 2) * 1e-6}" for i in range(20)) + "))"},
     "api_max_polygon_vertices=10"),
    ("/query/parcelsByPolygon", {**SET, "polygon": _square(LON - 0.005, LAT - 0.005, 0.01)},
     "api_max_rows=2"),
    ("/query/parcelPeers", {**SET, "pid": "A", "max": 3}, "api_max_rows=2"),
    ("/query/parcelTimeSeries", {**SET, "pid": "A", "start_date": "2025-01-01", "end_date": "2025-03-01"},
     "api_max_date_span_days=31"),
    ("/parcels/timeseries.csv", {**SET, "pid": "A", "start_date": "2025-01-01"}, "api_max_date_span_days=31"),
    ("/query/chipsByLocation", {"lon": LON, "lat": LAT, "start_date": "2025-06-01", "end_date": "2025-06-02",
                                "chipsize": 128}, "CBM_API_MAX_CHIP_SIZE"),
    ("/query/chipsByLocation", {"lon": LON, "lat": LAT, "start_date": "2025-01-01", "end_date": "2025-12-31",
                                "chipsize": 32}, "CBM_API_MAX_DATE_SPAN_DAYS"),
])
def test_limits_name_setting_and_value(limited: Server, path: str, params: dict, needle: str) -> None:
    status, text = _detail(limited, path, **params)
    assert status == 422 and needle.lower() in text.lower(), (status, text)


def test_max_chips_limit(limited: Server) -> None:
    status, text = _detail(limited, "/query/chipsByLocation", lon=LON, lat=LAT, start_date="2025-06-01",
                           end_date="2025-06-30", chipsize=32)
    assert status == 422 and "max_chips" in text.lower(), text


def test_request_rate_limit(api_settings: Settings) -> None:
    s = Settings(**{**api_settings.model_dump(), "api_rate_per_minute": 60, "api_rate_burst": 3})
    with running_api(s) as server:
        with server.client() as c:
            codes = [c.get("/me").status_code for _ in range(5)]
            r = c.get("/me")
        assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
        assert "api_rate_per_minute=60" in r.json()["detail"] and int(r.headers["retry-after"]) >= 1
        with server.client("analyst") as c:  # per user
            assert c.get("/me").status_code == 200


def test_request_timeout_is_504_naming_the_limit() -> None:
    app = FastAPI()

    @app.get("/slow")
    async def slow() -> dict:
        await asyncio.sleep(5)
        return {}

    wrapped = RequestContextMiddleware(app, timeout_s=0.3)
    transport = httpx.ASGITransport(app=wrapped)

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return await c.get("/slow")

    r = asyncio.run(call())
    assert r.status_code == 504 and "api_request_timeout_s=0.3" in r.json()["detail"]


def test_statement_timeout_maps_to_504(api_settings: Settings) -> None:
    """The pool's statement_timeout equals api_request_timeout_s; a cancelled query is 504, not 500."""
    import psycopg

    from backend.api.errors import STATUS

    assert STATUS[0][:2] == (psycopg.errors.QueryCanceled, 504)


BAD = [
    ("/query/parcelByLocation", {**SET, "lon": "abc", "lat": LAT}, "lon"),
    ("/query/parcelByLocation", {**SET, "lon": 181, "lat": LAT}, "lon"),
    ("/query/parcelByLocation", {**SET, "lon": LON, "lat": -91}, "lat"),
    ("/query/parcelByLocation", {**SET, "lon": "nan", "lat": LAT}, "lon"),
    ("/query/parcelByLocation", {"aoi": "tt", "year": "20x5", "lon": LON, "lat": LAT}, "year"),
    ("/query/parcelByLocation", {"aoi": "TT'; DROP TABLE parcels;--", "year": 2025, "lon": LON, "lat": LAT},
     "aoi"),
    ("/query/parcelByID", {**SET}, "pid"),
    ("/query/parcelTimeSeries", {**SET, "pid": "A", "tstype": "s3"}, "tstype"),
    ("/query/parcelTimeSeries", {**SET, "pid": "A\x00"}, "pid"),
    ("/query/parcelTimeSeries", {**SET, "pid": "A", "band": "B99"}, "allowed: B01, B02"),
    ("/query/parcelTimeSeries", {**SET, "pid": "A", "start_date": "2025-13-01"}, "start_date"),
    ("/query/parcelTimeSeries", {**SET, "pid": "A", "start_date": "2025-06-02", "end_date": "2025-06-01"},
     "after"),
    ("/query/parcelsByPolygon", {**SET, "polygon": "POLYGON((1 2, 3 4"}, "wkt"),
    ("/query/parcelsByPolygon", {**SET, "polygon": "POINT(5 52) garbage"}, "polygon"),
    ("/query/parcelsByPolygon", {**SET, "polygon": "POINT(5 52)"}, "POLYGON"),
    ("/query/parcelsByPolygon", {**SET, "polygon": "POLYGON((0 0, 200 0, 200 1, 0 0))"}, "lon in"),
    ("/query/parcelsByPolygon", {**SET, "polygon": "POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))"}, "not valid"),
    ("/query/parcelsByPolygon", {**SET, "polygon": "1 2, 3 4, 5"}, "coordinate pair"),
    ("/query/parcelsByPolygon", {**SET, "polygon": "x" * 60_000}, "polygon"),
    ("/query/parcelsByPolygon", {**SET, "polygon": "POLYGON((-10 -10, 10 -10, 10 10, -10 10, -10 -10))"},
     "api_max_polygon_km2"),
    ("/query/parcelPeers", {**SET, "pid": "A", "distance": -5}, "distance"),
    ("/query/parcelPeers", {**SET, "pid": "A", "max": "many"}, "max"),
    ("/tiles/tt/2025/99/0/0.mvt", {}, "z"),
    ("/tiles/tt/abc/1/0/0.mvt", {}, "year"),
]


@pytest.mark.parametrize(("path", "params", "needle"), BAD)
def test_bad_parameters_are_clear_4xx(api: Server, path: str, params: dict, needle: str) -> None:
    status, text = _detail(api, path, **params)
    assert 400 <= status < 500 and needle.lower() in text.lower(), (status, text[:300])


def test_sql_looking_pid_is_just_a_missing_parcel(api: Server) -> None:
    status, text = _detail(api, "/query/parcelByID", aoi="tt", year=2025, pid="A' OR '1'='1")
    assert status == 200 and '"pid":[]' in text.replace(" ", "")
    status, _ = _detail(api, "/query/parcelTimeSeries", aoi="tt", year=2025, pid="1; SELECT pg_sleep(10)")
    assert status == 200


def test_unknown_aoi_and_year(api: Server) -> None:
    assert _detail(api, "/query/parcelByID", "admin", aoi="qq", year=2025, pid="A")[0] == 404
    status, text = _detail(api, "/query/parcelByID", "admin", aoi="tt", year=2024, pid="A")
    assert status == 404 and "no parcel set tt 2024" in text and "cbm import parcels" in text
    assert _detail(api, "/query/parcelByID", "consumer", aoi="qq", year=2025, pid="A")[0] == 403
