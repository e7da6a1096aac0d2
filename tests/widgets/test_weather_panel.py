"""The weather panel under the parcel chart: the served weather drawn on the chart's date scale."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from apitools import PARCELS, Server, lonlat

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from weathertools import UNITS, write_grid

from backend.ancillary import import_weather
from backend.db import connect
from backend.db import queries_ancillary as q
from backend.parcels.sets import ParcelSetKey, resolve_set
from cbm_widgets import CbmClient, TimeSeriesChart


@pytest.fixture()
def tt_weather(widget_api: Server, tmp_path):
    """2 x 2 cells of 0.1 degree with the same values over the tiny area (any mix gives them), 6 days."""
    lons, lats = zip(*(lonlat(p) for p in PARCELS), strict=True)
    days = pd.date_range("2025-06-01", periods=6, freq="D")
    rain = np.array([0.0, 12.5, 3.0, 0.0, 7.25, 1.0], np.float32)
    kelvin = np.array([285.0, 287.5, 290.0, 289.0, 283.0, 284.5], np.float32)
    values = {"Precipitation_Flux": np.repeat(np.repeat(rain[:, None, None], 2, 1), 2, 2),
              "Temperature_Air_2m_Mean_24h": np.repeat(np.repeat(kelvin[:, None, None], 2, 1), 2, 2)}
    path = write_grid(tmp_path / "tt.nc", values, units=UNITS, days=days,
                      lons=np.mean(lons) + np.array([-0.05, 0.05]),
                      lats=np.mean(lats) + np.array([0.05, -0.05]))
    import_weather(widget_api.settings, path, aoi="tt", year=2025)
    yield days, rain, (kelvin.astype(np.float64) - 273.15).astype(np.float32)
    with connect(widget_api.settings) as c:
        q.delete_weather(c, resolve_set(c, ParcelSetKey("tt", 2025))["id"])


def test_panel_draws_rain_and_temperature_on_the_chart_dates(client: CbmClient, tt_weather) -> None:
    days, rain, celsius = tt_weather
    chart = TimeSeriesChart(client, aoi="tt", year=2025, parcel_id="A")
    panel = chart.weather
    assert panel.layout.display == "flex" and panel in chart.children and not chart.error
    assert panel.children == (panel.figure, panel.caption)
    assert panel.bars.scales["x"] is chart.x and panel.line.scales["x"] is chart.x  # aligned, zoom follows
    assert list(pd.to_datetime(panel.bars.x)) == list(days)
    np.testing.assert_array_equal(panel.bars.y, rain)
    np.testing.assert_allclose(panel.line.y, celsius, rtol=1e-6)
    assert "24 mm over 6 days, 2 days with 5 mm or more" in panel.caption.value
    assert panel.y_rain.max == 15.0 and (panel.y_temp.min, panel.y_temp.max) == (5.0, 20.0)


def test_panel_is_hidden_without_weather(client: CbmClient) -> None:
    chart = TimeSeriesChart(client, aoi="tt", year=2025, parcel_id="A")
    # out of the page, not only hidden: a hidden bqplot figure is laid out at width 0 (console errors)
    assert chart.weather.layout.display == "none" and chart.weather.children == ()
