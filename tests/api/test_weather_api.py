"""/query/weatherTimeSeries through real HTTP: values exactly as in the imported file."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from apitools import PARCELS, Server, get_json, lonlat

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from weathertools import UNITS, write_grid

from backend.ancillary import import_weather
from backend.db import connect
from backend.db import queries_ancillary as q
from backend.parcels.sets import ParcelSetKey, resolve_set


@pytest.fixture()
def tt_weather(api_settings, tmp_path):
    """A 0.001-degree grid over the tiny area, imported for tt 2025, removed afterwards."""
    lons, lats = zip(*(lonlat(p) for p in PARCELS), strict=True)
    glons = np.arange(min(lons) - 0.01, max(lons) + 0.01, 0.001)
    glats = np.arange(max(lats) + 0.01, min(lats) - 0.01, -0.001)
    days = pd.date_range("2025-05-01", periods=5, freq="D")
    rng = np.random.default_rng(7)
    shape = (len(days), len(glats), len(glons))
    values = {"Precipitation_Flux": (rng.random(shape) * 9).astype(np.float32),
              "Temperature_Air_2m_Mean_24h": (280 + rng.random(shape) * 9).astype(np.float32)}
    path = write_grid(tmp_path / "tt.nc", values, units=UNITS, lons=glons, lats=glats, days=days)
    import_weather(api_settings, path, aoi="tt", year=2025)
    yield values, glons, glats, days
    with connect(api_settings) as c:
        q.delete_weather(c, resolve_set(c, ParcelSetKey("tt", 2025))["id"])


def test_weather_series_of_a_parcel(api: Server, api_settings, tt_weather) -> None:
    values, _, _, days = tt_weather
    d = get_json(api, "/query/weatherTimeSeries", aoi="tt", year=2025, pid="A")
    assert list(d) == ["date_part", "date", "precipitation", "tmean"]
    assert d["date"] == [f"{x:%Y-%m-%d}" for x in days]
    assert pd.to_datetime(d["date_part"], unit="s").strftime("%Y-%m-%d").tolist() == d["date"]
    with connect(api_settings) as c:
        rows = c.execute("SELECT l.cell, l.weight FROM weather_links l JOIN parcels p "
                         "ON p.id = l.parcel_id JOIN parcel_sets s ON s.id = p.set_id "
                         "WHERE s.aoi = 'tt' AND p.pid = 'A'").fetchall()
    nx = values["Precipitation_Flux"].shape[2]
    cells = [(r["cell"] // nx, r["cell"] % nx) for r in rows]
    w = np.array([r["weight"] for r in rows], dtype=np.float64)
    k = values["Temperature_Air_2m_Mean_24h"]
    expected = np.stack([(k[:, i, j].astype(np.float64) - 273.15).astype(np.float32).astype(np.float64)
                         for i, j in cells])
    want = expected[0] if len(rows) == 1 else w @ expected / w.sum()
    np.testing.assert_allclose(d["tmean"], want, rtol=1e-12)
    assert len(rows) >= 1 and abs(w.sum() - 1) < 1e-3


def test_unknown_pid_gets_empty_columns(api: Server, tt_weather) -> None:
    d = get_json(api, "/query/weatherTimeSeries", aoi="tt", year=2025, pid="nope")
    assert d == {"date_part": [], "date": [], "precipitation": [], "tmean": []}


def test_info_says_weather_once_a_set_has_it(api: Server, tt_weather) -> None:
    assert get_json(api, "/query/info")["weather"] is True
