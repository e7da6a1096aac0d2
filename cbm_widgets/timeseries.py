"""``TimeSeriesChart``: a parcel's bands and indices over time (bqplot), with S1 on a second axis.

Clear S2 observations are filled dots joined by a line; cloud-masked ones (low valid fraction
from the SCL histogram) are hollow grey dots. Marker events and the decision window are shaded
spans; the selected date is a vertical rule. Click a dot to select its date; "Pan / zoom" then
drag and wheel to zoom, "Reset zoom" to see the whole year. A weather panel under the chart
(:class:`~cbm_widgets.weather.WeatherPanel`, shown when the set has weather) shares its date axis.
"""

from __future__ import annotations

from typing import Any

import bqplot as bq
import ipywidgets as w
import pandas as pd
import traitlets as t

from cbm_widgets import series as ts
from cbm_widgets.base import CbmWidget
from cbm_widgets.client import CbmClient
from cbm_widgets.datescale import DateScale
from cbm_widgets.errors import CbmApiError
from cbm_widgets.timeseries_marks import (
    MarkPool,
    cloud_marks,
    date_tick_format,
    event_spans,
    rule_marks,
    series_marks,
)
from cbm_widgets.weather import WeatherPanel

DEFAULT_SERIES = ("NDVI", "VH")


class TimeSeriesChart(CbmWidget):
    """Time series of the selected parcel.

    Args:
        client: the API client.
        **kwargs: initial traitlet values (``aoi``, ``year``, ``parcel_id``, ``date``, ``series``).

    Attributes:
        series: names shown (see :data:`cbm_widgets.series.SERIES`).
        n_observations: S2 observations loaded (for tests and captions).
        n_cloudy: S2 observations drawn as cloud-masked.
    """

    series = t.List(t.Unicode(), default_value=list(DEFAULT_SERIES))
    n_observations = t.Int(0)
    n_cloudy = t.Int(0)
    css_class = "cbm-timeseries"

    def __init__(self, client: CbmClient, **kwargs: Any) -> None:
        super().__init__(client)
        self.tables: dict[str, pd.DataFrame] = {}
        self._syncing = False
        self.events: list[dict[str, Any]] = []
        # no padding by marks: the peers chart and the weather panel then put a date at the same x
        # (bqplot pads each figure by its largest marker, 4 px here and 3 px there)
        self.x = DateScale(allow_padding=False)
        self.y = bq.LinearScale(min=-0.2, max=1.0)
        self.y2 = bq.LinearScale(min=-30.0, max=0.0)
        self.span_scale = bq.LinearScale(min=0.0, max=1.0)
        self.pool = MarkPool()  # the marks are reused from one parcel to the next
        self._rule = rule_marks(self.x, self.span_scale)
        self.x_axis = bq.Axis(scale=self.x, label="date", tick_format="%b", grid_lines="dashed")
        axes = [self.x_axis,
                bq.Axis(scale=self.y, orientation="vertical", label="index / reflectance",
                        grid_lines="dashed"),
                bq.Axis(scale=self.y2, orientation="vertical", side="right", label="S1 backscatter (dB)",
                        grid_lines="none")]
        self.figure = bq.Figure(axes=axes, marks=[], legend_location="top-left", animation_duration=0,
                                fig_margin={"top": 20, "bottom": 40, "left": 60, "right": 60},
                                layout=w.Layout(width="100%", height="340px"))
        # one toggle per series: a plain click adds or removes it (no Ctrl-click)
        self.toggles = {name: w.ToggleButton(value=name in DEFAULT_SERIES, description=name,
                                             tooltip=ts.SERIES[name][0], _dom_classes=[f"cbm-series-{name}"],
                                             layout=w.Layout(width="auto"))
                        for name in ts.SERIES}
        self.picker = w.HBox(list(self.toggles.values()), _dom_classes=["cbm-series-picker"],
                             layout=w.Layout(flex_flow="row wrap"))
        self.panzoom = bq.interacts.PanZoom(scales={"x": [self.x]})
        self.zoom = w.ToggleButton(value=False, description="Pan / zoom", _dom_classes=["cbm-zoom"],
                                   tooltip="Drag to pan, wheel to zoom (dates cannot be clicked meanwhile)")
        self.reset = w.Button(description="Reset zoom", tooltip="Show the whole year",
                              _dom_classes=["cbm-reset"])
        self.caption = w.HTML("", _dom_classes=["cbm-caption"])
        self.weather = WeatherPanel(client, self.x)  # same date scale: days line up, zoom follows
        self.children = [self.picker, w.HBox([self.zoom, self.reset, self.caption]), self.figure,
                         self.weather, self.status]
        # ---- wiring
        self.reset.on_click(lambda _: self._reset_zoom())
        self.x.observe(self._update_ticks, names=["min", "max"])
        self.zoom.observe(self._update_interaction, names="value")
        for toggle in self.toggles.values():
            toggle.observe(self._toggled, names="value")
        self.observe(self._sync_toggles, names=["series"])
        self.observe(self._update_data, names=["aoi", "year", "parcel_id"])
        self.observe(self._update_marks, names=["series"])
        self.observe(self._update_rule, names=["date"])
        self.set_trait("series", list(kwargs.pop("series", DEFAULT_SERIES)))
        for name, value in kwargs.items():
            setattr(self, name, value)

    # ------------------------------------------------------------------ updates
    def _toggled(self, _change: dict[str, Any]) -> None:
        if not self._syncing:
            self.series = [name for name, toggle in self.toggles.items() if toggle.value]

    def _sync_toggles(self, _change: dict[str, Any] | None = None) -> None:
        self._syncing = True
        try:
            for name, toggle in self.toggles.items():
                toggle.value = name in self.series
        finally:
            self._syncing = False

    def _update_data(self, _change: dict[str, Any] | None = None) -> None:
        self.tables, self.events = {}, []
        if self._ready():
            with self.guard(f"loading the time series of {self.parcel_id}"):
                self._load_tables()
            self._load_events()
        self.weather.load(self.aoi, self.year, self.parcel_id if self._ready() else None)
        s2 = self.tables.get("s2", pd.DataFrame())
        self.n_observations = len(s2)
        self.n_cloudy = int(s2["cloudy"].sum()) if "cloudy" in s2 else 0
        self._reset_zoom()
        self._update_marks()
        self._update_caption()  # last: a caption naming the parcel means its chart is drawn

    def _load_tables(self) -> None:
        get = self.client.time_series
        self.tables["s2"] = ts.s2_table(get(self.aoi, self.year, self.parcel_id, "s2"))
        self.tables["s1"] = ts.s1_table(get(self.aoi, self.year, self.parcel_id, "bs"))
        if "COH_VV" in self.series:
            self.tables["c6"] = ts.coherence_table(get(self.aoi, self.year, self.parcel_id, "c6"))

    def _load_events(self) -> None:
        """Marker events and decision windows; missing markers never block the chart."""
        try:
            self.events = self.client.markers(self.aoi, self.year, self.parcel_id)
            decisions = self.client.decisions(self.aoi, self.year, self.parcel_id).get("decisions", [])
        except CbmApiError:
            return
        self.events += [{"marker": "window", **d} for d in decisions]

    def _update_caption(self) -> None:
        if not self.n_observations:
            self.caption.value = ""
            return
        self.caption.value = (f"<b>{self.parcel_id}</b>: {self.n_observations} S2 observations, "
                              f"{self.n_cloudy} cloud-masked (grey crosses)")

    def _update_marks(self, _change: dict[str, Any] | None = None) -> None:
        if "COH_VV" in self.series and "c6" not in self.tables and self._ready():
            with self.guard("loading coherence"):
                self.tables["c6"] = ts.coherence_table(
                    self.client.time_series(self.aoi, self.year, self.parcel_id, "c6"))
        scales = {"left": self.y, "right": self.y2, "coh": self.y}
        self.pool.start()
        marks = event_spans(self.events, self.x, self.span_scale, self.pool)
        if any(ts.SERIES[name][1] == "left" for name in self.series):
            marks += cloud_marks(self.tables, self.x, self.y, self.pool)
        for name in self.series:
            marks += series_marks(name, self.tables, self.x, scales[ts.SERIES[name][1]], self.pool)
        for mark in self.pool.created:  # a reused mark has its click handler already
            if isinstance(mark, bq.Scatter):
                mark.on_element_click(self._clicked)
        self.figure.marks = [*marks, self._rule]
        self._update_rule()

    def _update_rule(self, _change: dict[str, Any] | None = None) -> None:
        rule = self._rule
        if self.date:
            day = pd.Timestamp(self.date).to_datetime64()
            rule.x, rule.visible = [day, day], True
        else:
            rule.visible = False

    def _update_ticks(self, _change: dict[str, Any] | None = None) -> None:
        """Zoomed in, the date labels say day and month (not the same month name repeated)."""
        self.x_axis.tick_format = date_tick_format(self.x.min, self.x.max)

    def _update_interaction(self, change: dict[str, Any]) -> None:
        """Pan/zoom captures the mouse, so it is a mode: off, dots are clickable."""
        self.figure.interaction = self.panzoom if change["new"] else None

    def _reset_zoom(self) -> None:
        year = self.year or pd.Timestamp.now().year
        self.x.min = pd.Timestamp(f"{year}-01-01").to_pydatetime()
        self.x.max = pd.Timestamp(f"{year}-12-31").to_pydatetime()

    def _clicked(self, mark: bq.Scatter, content: dict[str, Any]) -> None:
        index = content.get("data", {}).get("index")
        if index is None:
            return
        self.select_date(pd.Timestamp(mark.x[index]).date().isoformat())

    # ------------------------------------------------------------------ queries
    def dates(self) -> list[str]:
        """ISO dates of the loaded S2 observations."""
        s2 = self.tables.get("s2", pd.DataFrame())
        return [d.date().isoformat() for d in s2.index]
