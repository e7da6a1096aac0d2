"""``ParcelMap``: the parcels of a set on an offline map, click or search to select one.

The map has no external basemap (dashboards run without internet): a plain background, the
parcels in view as GeoJSON from the API, the selected parcel and its same-crop peers, and the
image chip of the selected date as an overlay. Controls live on the map: search box (parcel id
or ``lat, lon``, Enter submits), layers, legend, full screen and measure.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date as Date
from datetime import timedelta
from typing import Any

import ipyleaflet as L
import ipywidgets as w
import traitlets as t

from cbm_widgets import map_layers as ml
from cbm_widgets.base import CbmWidget
from cbm_widgets.client import CbmClient
from cbm_widgets.errors import CbmApiError
from cbm_widgets.models import Parcel

OVERLAY_PX = 64
NEAREST_DAYS = 3  # the overlay shows the image nearest to the selected date within this


class ParcelMap(CbmWidget):
    """Map of a parcel set.

    Args:
        client: the API client.
        **kwargs: initial traitlet values (``aoi``, ``year``, ``parcel_id``, ``date``, ``style``).

    Attributes:
        style: chip style of the overlay (``truecolor``, ``falsecolor``, ``ndvi``).
        peers: pids of the selected parcel's peers drawn on the map.
        parcel: the selected :class:`~cbm_widgets.models.Parcel` (None when none).
    """

    style = t.Unicode("truecolor")
    peers = t.List(t.Unicode())
    css_class = "cbm-map"

    def __init__(self, client: CbmClient, **kwargs: Any) -> None:
        super().__init__(client)
        self.parcel: Parcel | None = None
        self.map = L.Map(center=(52.5, 5.65), zoom=14, scroll_wheel_zoom=True, max_zoom=19,
                         layout=w.Layout(width="100%", height="460px"), _dom_classes=["cbm-leaflet"])
        self.map.clear_layers()  # offline: no tile basemap, a plain background
        self.parcels_layer, self.peers_layer = ml.parcels_layer(), ml.peers_layer()
        self.selected_layer, self.overlay = ml.selected_layer(), ml.overlay_layer()
        for layer in (self.overlay, self.parcels_layer, self.peers_layer, self.selected_layer):
            self.map.add(layer)
        self.search = w.Text(placeholder="Parcel id, or lat, lon", continuous_update=False,
                             layout=w.Layout(width="220px"), _dom_classes=["cbm-search"])
        self.style_picker = w.Dropdown(options=[("True colour", "truecolor"), ("False colour", "falsecolor"),
                                                ("NDVI", "ndvi")], value="truecolor",
                                       layout=w.Layout(width="120px"))
        panel = w.VBox([w.HBox([self.search, self.style_picker]), self.status],
                       _dom_classes=["cbm-map-panel"])
        for control in (L.WidgetControl(widget=panel, position="topright"),
                        L.LayersControl(position="topright"),
                        L.LegendControl(ml.LEGEND, title="Legend", position="bottomright"),
                        L.FullScreenControl(), L.MeasureControl(position="bottomleft",
                                                                primary_length_unit="meters",
                                                                primary_area_unit="hectares")):
            self.map.add(control)
        self.children = [self.map]
        # ---- wiring
        self.search.observe(self._submitted, names="value")
        w.link((self.style_picker, "value"), (self, "style"))
        self.map.on_interaction(self._interaction)
        self.map.observe(self._update_view, names="bounds")
        self.observe(self._update_parcel, names=["aoi", "year", "parcel_id"])
        self.observe(self._update_overlay, names=["date", "style"])
        for name, value in kwargs.items():
            setattr(self, name, value)

    def when_rendered(self, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` once the browser has drawn the map (it then reports its bounds).

        A dashboard thus shows its layout before any data is loaded.
        """
        if self.map.bounds:
            callback()
            return

        def once(_change: dict[str, Any]) -> None:
            self.map.unobserve(once, names="bounds")
            callback()

        self.map.observe(once, names="bounds")

    # ------------------------------------------------------------------ user actions
    def _submitted(self, change: dict[str, Any]) -> None:
        text = str(change["new"]).strip()
        if text:
            self.find(text)

    def find(self, text: str) -> None:
        """Select the parcel with this id, or the parcel at ``"lat, lon"``."""
        coords = ml.parse_coordinates(text)
        with self.guard(f"searching {text!r}"):
            found = (self.client.parcel_at(self.aoi, self.year, *coords) if coords
                     else self.client.parcel(self.aoi, self.year, text))
            self.parcel = found
            self.select_parcel(found.pid)

    def _interaction(self, **event: Any) -> None:
        if event.get("type") != "click" or not self.aoi:
            return
        lat, lon = event["coordinates"]
        with self.guard("finding the clicked parcel"):
            found = self.client.parcel_at(self.aoi, self.year, lon, lat)
            self.parcel = found
            self.select_parcel(found.pid)

    # ------------------------------------------------------------------ updates
    def _update_parcel(self, _change: dict[str, Any] | None = None) -> None:
        if not self._ready():
            self.parcel = None
            self.selected_layer.data, self.peers_layer.data = ml.empty_collection(), ml.empty_collection()
            return
        with self.guard(f"loading parcel {self.parcel_id}"):
            if self.parcel is None or self.parcel.pid != self.parcel_id:
                self.parcel = self.client.parcel(self.aoi, self.year, self.parcel_id)
            self.selected_layer.data = ml.collection([self.parcel.feature()])
            self.map.center, self.map.zoom = (self.parcel.lat, self.parcel.lon), 16
            self._update_peers()
        self._update_overlay()

    def _update_peers(self) -> None:
        """Peers within 1 km, drawn dimmed; a failure here never hides the selected parcel."""
        assert self.parcel is not None and self.parcel.geometry is not None
        try:
            found = self.client.peers(self.aoi, self.year, self.parcel.pid, distance=1000)
            self.peers = [p.pid for p in found]
            if not self.peers:
                self.peers_layer.data = ml.empty_collection()
                return
            w_, s, e, n = ml.geometry_bbox(self.parcel.geometry)
            pad = 0.015
            box = (w_ - pad, s - pad * 0.6, e + pad, n + pad * 0.6)
            near = self.client.parcels_in(self.aoi, self.year, box)
        except CbmApiError as exc:
            self.peers_layer.data = ml.empty_collection()
            self.error = f"Peers not shown: {exc}"
            return
        wanted = set(self.peers)
        self.peers_layer.data = ml.collection(p.feature() for p in near if p.pid in wanted)

    def _update_view(self, _change: dict[str, Any] | None = None) -> None:
        """Load the parcels in view when the view is small enough for one API request."""
        bounds = self.map.bounds
        if not (self.aoi and self.year and bounds):
            return
        (south, west), (north, east) = bounds
        if ml.bbox_area_km2(south, west, north, east) > ml.MAX_VIEW_KM2:
            self.parcels_layer.data = ml.empty_collection()
            return
        try:
            parcels = self.client.parcels_in(self.aoi, self.year, (west, south, east, north))
        except CbmApiError as exc:
            self.error = f"Parcels in view not shown: {exc}"
            return
        self.parcels_layer.data = ml.collection(p.feature() for p in parcels)

    def _update_overlay(self, _change: dict[str, Any] | None = None) -> None:
        if self.parcel is None or not self.date:
            self.overlay.visible = False
            return
        day = Date.fromisoformat(self.date[:10])
        with self.guard(f"loading the image of {self.date}"):
            near = timedelta(days=NEAREST_DAYS)
            chips = self.client.chips(self.parcel.lon, self.parcel.lat, day - near, day + near,
                                      style=self.style, size=OVERLAY_PX)
            if not chips:
                self.overlay.visible = False
                self.error = f"No image within {NEAREST_DAYS} days of {self.date} at this parcel."
                return
            chip = min(chips, key=lambda c: abs((c.date - day).days))
            png = self.client.fetch_bytes(chip.url)
            self.overlay.bounds = ml.chip_bounds(self.parcel.lon, self.parcel.lat, OVERLAY_PX)
            self.overlay.url = ml.data_url(png)
            self.overlay.visible = True
