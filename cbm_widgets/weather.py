"""``WeatherPanel``: a parcel's daily precipitation (bars) and temperature (line) under its chart.

The panel shares the time-series chart's date scale, so its days line up with the S1/S2
observations above and it follows the chart's pan and zoom. It reads
``/query/weatherTimeSeries`` (the JRC route); without weather for the set it stays hidden.
"""

from __future__ import annotations

from typing import Any

import bqplot as bq
import ipywidgets as w
import numpy as np
import pandas as pd

from cbm_widgets.client import CbmClient
from cbm_widgets.errors import CbmApiError
from cbm_widgets.timeseries_marks import date_tick_format

MARGIN = {"top": 5, "bottom": 30, "left": 60, "right": 60}  # the chart's left/right: same x pixels


def weather_table(columns: dict[str, list[Any]]) -> pd.DataFrame:
    """The route's columns as a frame indexed by day (empty when the set has no weather)."""
    if not columns or not columns.get("date"):
        return pd.DataFrame()
    frame = pd.DataFrame({k: v for k, v in columns.items() if k not in ("date", "date_part")})
    frame.index = pd.to_datetime(columns["date"])
    return frame.astype(float)


class WeatherPanel(w.VBox):
    """Precipitation bars (mm/day, left axis) and mean temperature line (°C, right axis).

    Args:
        client: the API client.
        x: the date scale of the chart above (shared).

    Attributes:
        table: the loaded weather (one row per day).
    """

    def __init__(self, client: CbmClient, x: bq.DateScale) -> None:
        super().__init__(_dom_classes=["cbm-weather"], layout=w.Layout(display="none", width="100%"))
        self.client = client
        self.table = pd.DataFrame()
        self.x = x
        self.y_rain = bq.LinearScale(min=0.0, max=20.0)
        self.y_temp = bq.LinearScale(min=-10.0, max=30.0)
        self.bars = bq.Bars(x=[], y=[], scales={"x": x, "y": self.y_rain}, colors=["#3b7dd8"], padding=0.0,
                            labels=["precipitation (mm/day)"], display_legend=True)
        self.line = bq.Lines(x=[], y=[], scales={"x": x, "y": self.y_temp}, colors=["#d8643b"],
                             labels=["mean temperature (°C)"], display_legend=True)
        self.x_axis = bq.Axis(scale=x, tick_format=date_tick_format(x.min, x.max), grid_lines="none")
        # zoomed in, day and month as on the chart above (not the month name repeated)
        x.observe(lambda _: setattr(self.x_axis, "tick_format", date_tick_format(x.min, x.max)),
                  names=["min", "max"])
        axes = [self.x_axis,
                bq.Axis(scale=self.y_rain, orientation="vertical", label="mm/day", grid_lines="dashed"),
                bq.Axis(scale=self.y_temp, orientation="vertical", side="right", label="°C",
                        grid_lines="none")]
        self.figure = bq.Figure(axes=axes, marks=[self.bars, self.line], legend_location="top-left",
                                animation_duration=0, fig_margin=MARGIN,
                                layout=w.Layout(width="100%", height="150px"))
        # its own class: the chart's caption (.cbm-timeseries .cbm-caption) names the parcel too
        self.caption = w.HTML("", _dom_classes=["cbm-weather-caption"])
        self.children: tuple[w.Widget, ...] = ()  # the figure enters the page only with weather (_draw)

    def load(self, aoi: str | None, year: int | None, pid: str | None) -> None:
        """Fetch and draw the parcel's weather; hide the panel when there is none."""
        self.table = pd.DataFrame()
        if aoi and year and pid:
            try:
                self.table = weather_table(self.client.get_json("/query/weatherTimeSeries", aoi=aoi,
                                                                year=year, pid=pid))
            except CbmApiError:
                self.table = pd.DataFrame()
        self._draw(pid)

    def _draw(self, pid: str | None) -> None:
        t = self.table
        if t.empty or ("precipitation" not in t and "tmean" not in t):
            # out of the page, not only hidden: bqplot lays a hidden figure out at width 0 (bars of
            # negative width, errors in the browser console) and draws empty marks with errors
            self.layout.display = "none"
            self.children = ()
            self.caption.value = ""
            return
        days = t.index.to_numpy()
        rain = t["precipitation"].fillna(0).to_numpy() if "precipitation" in t else np.zeros(len(t))
        self.bars.x, self.bars.y = days, rain
        self.y_rain.max = float(max(10.0, np.ceil(rain.max() / 5) * 5))
        temp = t["tmean"].to_numpy() if "tmean" in t else np.full(len(t), np.nan)
        self.line.x, self.line.y = days, temp
        if np.isfinite(temp).any():
            self.y_temp.min = float(np.floor(np.nanmin(temp) / 5) * 5)
            self.y_temp.max = float(np.ceil(np.nanmax(temp) / 5) * 5)
        self.layout.display = "flex"
        self.children = (self.figure, self.caption)
        self.caption.value = (f"<b>{pid}</b> weather: {rain.sum():.0f} mm over {len(t)} days, "
                              f"{int((rain >= 5).sum())} days with 5 mm or more")
