"""The weather panel drawn in Chromium under the parcel chart of the demo (weather imported by the demo)."""

from __future__ import annotations

import pytest
from uitools import LOAD_MS, Watched, open_app

pytestmark = pytest.mark.slow


def test_weather_panel_is_drawn_under_the_chart(voila: str, watched: Watched) -> None:
    page = watched.page
    open_app(watched, voila, "parcel_lookup", "aoi=demo&year=2025&parcel_id=P000001")
    page.locator(".cbm-weather .cbm-weather-caption", has_text="P000001 weather").wait_for(timeout=LOAD_MS)
    # one bar per day of the year (days without rain are bars of zero height)
    page.wait_for_function("() => document.querySelectorAll('.cbm-weather svg .bargroup rect').length >= 365",
                           timeout=LOAD_MS)
    assert page.locator(".cbm-weather svg path.line").count() >= 1  # the temperature line
    chart = page.locator(".cbm-timeseries svg.svg-figure").first.bounding_box()
    panel = page.locator(".cbm-weather svg.svg-figure").first.bounding_box()
    assert chart is not None and panel is not None and panel["y"] > chart["y"]
    assert abs(chart["x"] - panel["x"]) < 2 and abs(chart["width"] - panel["width"]) < 2  # same date axis
    watched.shot("parcel_lookup-weather")
    watched.check()
