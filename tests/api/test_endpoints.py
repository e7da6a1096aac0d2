"""The new endpoints: markers, decisions, downloads, summaries, status, tiles, account."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pandas as pd
import pyogrio
from apitools import Server, get_json

TS = {"aoi": "tt", "year": 2025, "pid": "A"}


def test_markers_and_decisions_with_evidence(api: Server) -> None:
    m = get_json(api, "/parcels/markers", **TS)
    assert m["markers"][0]["marker"] == "mowing" and m["markers"][0]["evidence"] == {"dates": ["2025-06-01"]}
    d = get_json(api, "/parcels/decisions", **TS)
    assert d["colour"] == "red" and d["decisions"][0]["evidence"] == {"observations": 2}
    empty = get_json(api, "/parcels/decisions", aoi="tt", year=2025, pid="C")
    assert empty == {"pid": "C", "colour": None, "decisions": []}
    assert get_json(api, "/parcels/markers", aoi="tt", year=2025, pid="C")["markers"] == []
    with api.client() as c:
        r = c.get("/parcels/markers", params={**TS, "pid": "nope"})
    assert r.status_code == 404 and "nope" in r.json()["detail"]


def test_decision_pages_with_filters_and_counts(api: Server) -> None:
    page = get_json(api, "/sets/tt/2025/decisions")
    assert page["counts"] == {"mown_once": {"green": 1, "red": 1}} and page["total"] == 2
    assert [(r["pid"], r["colour"]) for r in page["rows"]] == [("A", "red"), ("B", "green")]  # red first
    assert page["rows"][0]["reason"] == "test" and page["rows"][0]["condition"] == "mown_once"
    green = get_json(api, "/sets/tt/2025/decisions", colour="green")
    assert green["total"] == 1 and [r["pid"] for r in green["rows"]] == ["B"]
    second = get_json(api, "/sets/tt/2025/decisions", offset=1, limit=1)
    assert [r["pid"] for r in second["rows"]] == ["B"] and second["total"] == 2
    assert get_json(api, "/sets/tt/2025/decisions", condition="other")["total"] == 0
    with api.client() as c:
        assert c.get("/sets/tt/2025/decisions", params={"colour": "purple"}).status_code == 422


def test_time_series_csv(api: Server) -> None:
    with api.client() as c:
        r = c.get("/parcels/timeseries.csv", params={**TS, "band": "B08"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    df = pd.read_csv(io.StringIO(r.text))
    assert list(df["band"]) == ["B08", "B08"] and df["date"][0].startswith("2025-06-01T10:30:31")


def test_time_series_geopackage(api: Server, tmp_path: Path) -> None:
    with api.client() as c:
        r = c.get("/parcels/timeseries.gpkg", params={**TS, "tstype": "bs"})
    assert r.status_code == 200
    path = tmp_path / "ts.gpkg"
    path.write_bytes(r.content)
    with sqlite3.connect(path) as db:
        assert {"parcel", "timeseries"} <= {n for (n,) in db.execute("SELECT table_name FROM gpkg_contents")}
    parcel = pyogrio.read_dataframe(path, layer="parcel")
    assert parcel["pid"][0] == "A" and parcel.crs.to_epsg() == 4326
    series = pyogrio.read_dataframe(path, layer="timeseries")
    assert list(series["band"]) == ["VVb", "VHb"]


def test_sets_and_summary(api: Server) -> None:
    assert [s["aoi"] for s in get_json(api, "/sets")] == ["tt"]
    assert {s["aoi"] for s in get_json(api, "/sets", "admin")} == {"tt", "zz"}
    s = get_json(api, "/sets/tt/2025")
    assert s["n_parcels"] == 4 and s["crops"] == {"1": 3, "2": 1} and s["jobs"] == {"done": 4}
    assert s["images_done"] == {"s2": 2, "bs": 1, "c6": 1} and s["decisions"] == {"red": 1, "green": 1}
    with api.client("admin") as c:
        assert c.get("/sets/qq/2025").status_code == 404


def test_status_endpoints(api: Server) -> None:
    jobs = get_json(api, "/sets/tt/2025/jobs", "analyst")
    assert jobs["counts"] == {"done": 4} and jobs["failed"] == [] and jobs["rows"] > 0
    assert {r["kind"] for r in get_json(api, "/catalogue/summary", "analyst")} == {"s2", "bs", "c6"}
    assert [r["id"] for r in get_json(api, "/batch/runs", "analyst")] == ["run-tt"]
    assert {r["id"] for r in get_json(api, "/batch/runs", "admin")} == {"run-tt", "run-zz"}
    run = get_json(api, "/batch/runs/run-tt", "analyst")
    assert run["status"] == "done" and run["chunks"][0]["status"] == "done"
    with api.client("analyst") as c:
        hidden, missing = c.get("/batch/runs/run-zz"), c.get("/batch/runs/nope")
    assert hidden.status_code == missing.status_code == 404


def test_account_endpoints(api: Server) -> None:
    assert get_json(api, "/me", "analyst") == {"username": "analyst", "role": "analyst", "aois": ["tt"],
                                               "qa_inspections": []}  # the QA samples they inspect
    listed = {u["username"]: u for u in get_json(api, "/admin/users", "admin")}
    assert listed["outsider"]["aois"] == ["zz"] and "password_hash" not in listed["admin"]
    assert get_json(api, "/health", None) == {"status": "ok"}


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    import math

    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def test_vector_tile(api: Server) -> None:
    from apitools import lonlat

    lon, lat = lonlat("A")
    x, y = _tile_of(lon, lat, 15)
    with api.client() as c:
        r = c.get(f"/tiles/tt/2025/15/{x}/{y}.mvt")
        low = c.get("/tiles/tt/2025/3/4/2.mvt")
        outside = c.get("/tiles/tt/2025/3/9/2.mvt")
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert b"parcels" in r.content and b"red" in r.content and b"A" in r.content
    assert r.headers["cache-control"] == "private, max-age=60"
    assert low.status_code == 200 and low.content == b""  # below api_tiles_min_zoom
    assert outside.status_code == 404 and "[0, 7]" in outside.json()["detail"]
