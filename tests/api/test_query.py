"""JRC /query endpoints through real HTTP against the tiny real area."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from apitools import PARCELS, Server, get_json, lonlat

from backend.db import connect

PARCEL_COLS = ["pid", "cropname", "cropcode", "srid", "area", "clon", "clat"]


def test_info_lists_only_granted_aois(api: Server) -> None:
    assert set(get_json(api, "/query/info", "consumer")["aois"]) == {"tt"}
    assert set(get_json(api, "/query/info", "admin")["aois"]) == {"tt", "zz"}
    assert get_json(api, "/query/info")["tstypes"]["bs"] == ["VVb", "VHb", "HHb", "HVb"]  # any polarisation


def test_parcel_by_location(api: Server) -> None:
    lon, lat = lonlat("A")
    d = get_json(api, "/query/parcelByLocation", aoi="tt", year=2025, lon=lon, lat=lat)
    assert list(d) == PARCEL_COLS
    assert d["pid"] == ["A"] and d["cropcode"] == ["1"] and d["srid"] == [32631] and d["area"] == [8000]
    assert abs(d["clon"][0] - lon) < 1e-6 and abs(d["clat"][0] - lat) < 1e-6
    df = pd.DataFrame.from_dict(d, orient="columns")
    assert df.shape == (1, 7)


def test_parcel_by_location_with_geometry_native_and_wgs84(api: Server) -> None:
    lon, lat = lonlat("C")
    native = get_json(api, "/query/parcelByLocation", aoi="tt", year=2025, lon=lon, lat=lat,
                      withGeometry="True")
    geom = json.loads(native["geom"][0])
    assert geom["type"] == "MultiPolygon" and geom["coordinates"][0][0][0][0] > 1000
    wgs = get_json(api, "/query/parcelByLocation", aoi="tt", year=2025, lon=lon, lat=lat,
                   withGeometry="true", wgs84="True")
    assert abs(json.loads(wgs["geom"][0])["coordinates"][0][0][0][0] - lon) < 0.01


def test_nothing_found_is_empty_columns(api: Server) -> None:
    d = get_json(api, "/query/parcelByLocation", aoi="tt", year=2025, lon=10.0, lat=10.0)
    assert d == {c: [] for c in PARCEL_COLS}
    assert get_json(api, "/query/parcelByID", aoi="tt", year=2025, pid="nope")["pid"] == []


def test_parcel_by_id(api: Server) -> None:
    d = get_json(api, "/query/parcelByID", aoi="tt", year=2025, pid="D", withGeometry="True")
    assert d["pid"] == ["D"] and d["cropname"] == ["Maize"] and "geom" in d


def test_parcels_by_polygon_wkt_and_coordinate_list(api: Server) -> None:
    (lon0, lat0), (lon1, lat1) = lonlat("A"), lonlat("B")
    wkt = (f"POLYGON(({lon0} {lat0 - 1e-4}, {lon1} {lat0 - 1e-4}, {lon1} {lat1 + 1e-4}, "
           f"{lon0} {lat1 + 1e-4}, {lon0} {lat0 - 1e-4}))")
    assert get_json(api, "/query/parcelsByPolygon", aoi="tt", year=2025, polygon=wkt,
                    only_ids="True") == {"pid": ["A", "B"]}
    full = get_json(api, "/query/parcelsByPolygon", aoi="tt", year=2025, polygon=wkt)
    assert full["pid"] == ["A", "B"] and full["area"] == [8000, 6400]
    coords = wkt.removeprefix("POLYGON((").removesuffix("))")
    assert get_json(api, "/query/parcelsByPolygon", aoi="tt", year=2025, polygon=coords,
                    only_ids="True")["pid"] == ["A", "B"]
    jrc = "-".join(p.strip().replace(" ", "_") for p in coords.split(","))  # the JRC client's format
    assert get_json(api, "/query/parcelsByPolygon", aoi="tt", year=2025, polygon=jrc,
                    only_ids="True")["pid"] == ["A", "B"]


def test_parcel_peers_same_crop_nearest_first(api: Server) -> None:
    d = get_json(api, "/query/parcelPeers", aoi="tt", year=2025, pid="A", distance=2000, max=10)
    assert d["pids"] == ["B", "C"] and d["distance"][0] == 0.0 and d["distance"][1] > 0
    assert get_json(api, "/query/parcelPeers", aoi="tt", year=2025, pid="A", max=1)["pids"] == ["B"]
    assert get_json(api, "/query/parcelPeers", aoi="tt", year=2025, pid="D") == {"pids": [], "distance": []}


def test_s2_time_series_matches_signatures(api: Server) -> None:
    d = get_json(api, "/query/parcelTimeSeries", aoi="tt", year=2025, pid="A", tstype="s2")
    assert list(d) == ["date_part", "band", "count", "mean", "std", "min", "p25", "p50", "p75", "max", "hist"]
    assert len(d["band"]) == 12 and d["band"][:6] == ["B02", "B03", "B04", "B05", "B08", "B11"]
    assert d["date_part"] == sorted(d["date_part"]) and isinstance(d["date_part"][0], float)
    assert pd.to_datetime(d["date_part"][0], unit="s") == pd.Timestamp("2025-06-01 10:30:31")
    assert d["hist"][0] == {"4": 20} and d["count"][0] == 80
    with connect(api.settings) as conn:
        stats = conn.execute("SELECT cbm_stats(g.stats) AS stats FROM signatures g JOIN parcels p "
                             "ON p.set_id = g.set_id AND "
                             "p.id = g.parcel_id JOIN images i ON i.id = g.image_id WHERE p.pid = 'A' AND "
                             "i.kind = 's2' ORDER BY i.datetime LIMIT 1").fetchone()["stats"]
    b04 = np.array(stats[2], dtype=np.float32)
    got = [d[k][2] for k in ("count", "mean", "std", "min", "max", "p25", "p50", "p75")]
    np.testing.assert_allclose(got, b04, rtol=1e-6)


def test_time_series_band_aliases_and_dates(api: Server) -> None:
    q = {"aoi": "tt", "year": 2025, "pid": "A"}
    b4 = get_json(api, "/query/parcelTimeSeries", **q, band="B4")
    assert b4["band"] == ["B04", "B04"]
    assert get_json(api, "/query/parcelTimeSeries", **q, band="B04") == b4
    one = get_json(api, "/query/parcelTimeSeries", **q, start_date="2025-06-05", end_date="2025-06-30")
    assert set(one["band"]) == {"B02", "B03", "B04", "B05", "B08", "B11"} and len(one["band"]) == 6


def test_clouded_observation_has_null_stats_and_cloud_histogram(api: Server) -> None:
    d = get_json(api, "/query/parcelTimeSeries", aoi="tt", year=2025, pid="B", band="B08")
    assert d["count"] == [64, 0] and d["mean"][1] is None and d["hist"][1]["9"] == 16


def test_s1_time_series_jrc_band_names(api: Server) -> None:
    bs = get_json(api, "/query/parcelTimeSeries", aoi="tt", year=2025, pid="C", tstype="bs")
    assert bs["band"] == ["VVb", "VHb"] and "hist" not in bs
    c6 = get_json(api, "/query/parcelTimeSeries", aoi="tt", year=2025, pid="C", tstype="c6", band="VHc")
    assert c6["band"] == ["VHc"] and c6["count"] == [200]


def test_weather_is_empty(api: Server) -> None:
    assert get_json(api, "/query/weatherTimeSeries", aoi="tt", year=2025, pid="A") == {}


def test_all_parcels_found_by_their_centre(api: Server) -> None:
    for pid in PARCELS:
        lon, lat = lonlat(pid)
        assert get_json(api, "/query/parcelByLocation", aoi="tt", year=2025, lon=lon, lat=lat)["pid"] == [pid]
