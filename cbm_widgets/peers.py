"""``PeersPanel``: the parcel's NDVI against its peers (same crop, nearby) as a 10-90 % band."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import bqplot as bq
import ipywidgets as w
import numpy as np
import pandas as pd
import traitlets as t

from cbm_widgets import series as ts
from cbm_widgets.base import CbmWidget
from cbm_widgets.client import CbmClient
from cbm_widgets.datescale import DateScale
from cbm_widgets.timeseries_marks import date_tick_format

BAND = "#90a4ae"


class PeersPanel(CbmWidget):
    """Signature of the selected parcel against the band of its peers.

    Args:
        client: the API client.
        **kwargs: initial traitlet values (``aoi``, ``year``, ``parcel_id``, ``distance``, ``max_peers``).

    Attributes:
        column: what is compared (``NDVI``, ``NDWI``, or an S2 band).
        distance: search radius for peers (m).
        max_peers: most peers compared.
        n_peers: peers found and loaded.
    """

    column = t.Unicode("NDVI")
    distance = t.Float(2000.0)
    max_peers = t.Int(10, min=1, max=50)
    n_peers = t.Int(0)
    css_class = "cbm-peers"

    def __init__(self, client: CbmClient, **kwargs: Any) -> None:
        super().__init__(client)
        self.band_table = pd.DataFrame()
        self.own = pd.DataFrame()
        # as the chart's: no padding by marks, so that the same date lies at the same x on both
        self.x, self.y = DateScale(allow_padding=False), bq.LinearScale(min=-0.2, max=1.0)
        self.x_axis = bq.Axis(scale=self.x, tick_format="%b")
        sc = {"x": self.x, "y": self.y}
        self.band = bq.Lines(x=[], y=[], scales=sc, fill="between", fill_colors=[BAND], fill_opacities=[0.35],
                             colors=[BAND, BAND], labels=["peers 10 %", "peers 90 %"], stroke_width=1)
        self.median = bq.Lines(x=[], y=[], scales=sc, colors=["#455a64"], line_style="dashed",
                               labels=["peers median"], display_legend=True)
        self.line = bq.Lines(x=[], y=[], scales=sc, colors=["#2e7d32"], labels=["this parcel"],
                             display_legend=True, stroke_width=2.5, marker="circle", marker_size=16)
        self.figure = bq.Figure(marks=[self.band, self.median, self.line], animation_duration=0,
                                axes=[self.x_axis,
                                      bq.Axis(scale=self.y, orientation="vertical", label=self.column)],
                                legend_location="top-left", layout=w.Layout(width="100%", height="280px"),
                                fig_margin={"top": 20, "bottom": 40, "left": 60, "right": 60})
        self.caption = w.HTML("", _dom_classes=["cbm-caption"])
        self.children = [self.caption, self.figure, self.status]
        self.observe(self._update_data, names=["aoi", "year", "parcel_id", "column", "distance", "max_peers"])
        for name, value in kwargs.items():
            setattr(self, name, value)

    def follow(self, scale: Any) -> None:
        """Share a chart's time axis (its bqplot ``DateScale``): same dates, zoom and labels."""
        def sync(_change: dict[str, Any] | None = None) -> None:
            self.x.min, self.x.max = scale.min, scale.max
            self.x_axis.tick_format = date_tick_format(scale.min, scale.max)
        scale.observe(sync, names=["min", "max"])
        sync()

    def _update_data(self, _change: dict[str, Any] | None = None) -> None:
        self.band_table, self.own, self.n_peers = pd.DataFrame(), pd.DataFrame(), 0
        if self.year and self.x.min is None:  # the whole year, as the time-series chart
            self.x.min, self.x.max = datetime(self.year, 1, 1), datetime(self.year, 12, 31)
        if self._ready():
            with self.guard(f"loading the peers of {self.parcel_id}"):
                peers = self.client.peers(self.aoi, self.year, self.parcel_id, distance=self.distance,
                                          max_peers=self.max_peers)
                tables = [ts.s2_table(self.client.time_series(self.aoi, self.year, p.pid)) for p in peers]
                self.own = ts.s2_table(self.client.time_series(self.aoi, self.year, self.parcel_id))
                self.band_table = ts.peer_band(tables, self.column)
                self.n_peers = len(peers)
        self._update_marks()

    def _update_marks(self) -> None:
        band = self.band_table
        if band.empty:
            self.band.x = self.band.y = self.median.x = self.median.y = np.array([])
        else:
            xs = band.index.values
            self.band.x, self.band.y = xs, np.vstack([band["p10"].values, band["p90"].values])
            self.median.x, self.median.y = xs, band["p50"].values
        own = self.own.loc[~self.own["cloudy"], self.column] if not self.own.empty else pd.Series(dtype=float)
        self.line.x, self.line.y = own.index.values, own.values
        if self.parcel_id and not self.error:
            self.caption.value = (f"<b>{self.parcel_id}</b> against {self.n_peers} peers (same crop within "
                                  f"{self.distance / 1000:g} km); clear observations only")
        else:
            self.caption.value = ""
