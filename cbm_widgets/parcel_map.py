"""``ParcelMap``: the parcels of a set on an offline map, click or search to select one.

The map has no external basemap (dashboards run without internet): a plain background, the
parcels in view as GeoJSON from the API, the selected parcel and its same-crop peers, and the
image chip of the selected date as an overlay, and the selected parcel's geotagged photos
(points with a wedge toward the camera's bearing; orange when a check failed). Controls live on
the map: search box (parcel id or ``lat, lon``, Enter submits), "colour by decision", layers,
legend, full screen and measure.

With ``colour_by_decision`` the parcels in view are filled with their worst traffic-light colour
(red, yellow, green; grey without a decision), joined client-side from the set's decision list
(:class:`~cbm_widgets.decisions.DecisionColours`: loaded on first use, bounded, cached).
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
from cbm_widgets.decisions import DecisionColours
from cbm_widgets.errors import CbmApiError
from cbm_widgets.models import Parcel

OVERLAY_PX = 64
MIN_PARCEL_ZOOM = 14  # below this the view is too large to draw the parcels in it
NEAREST_DAYS = 3  # the overlay shows the image nearest to the selected date within this
MAX_PHOTOS = 200  # photos of the selected parcel drawn on the map


class ParcelMap(CbmWidget):
    """Map of a parcel set.

    Args:
        client: the API client.
        **kwargs: initial traitlet values (``aoi``, ``year``, ``parcel_id``, ``date``, ``style``,
            ``colour_by_decision``).

    Attributes:
        style: chip style of the overlay (``truecolor``, ``falsecolor``, ``ndvi``).
        colour_by_decision: fill the parcels in view with their worst decision colour.
        peers: pids of the selected parcel's peers drawn on the map.
        photos: the selected parcel's geotagged photos (drawn as points with direction wedges).
        condition: the condition chosen on the page (queue filter, chips' window): held here so
            that the linked widgets and the URL share it.
        parcel: the selected :class:`~cbm_widgets.models.Parcel` (None when none).
    """

    style = t.Unicode("truecolor")
    peers = t.List(t.Unicode())
    colour_by_decision = t.Bool(False)
    highlight: t.List[dict[str, Any]] = t.List()
    photos: t.List[dict[str, Any]] = t.List()
    condition = t.Unicode("")
    css_class = "cbm-map"

    def __init__(self, client: CbmClient, **kwargs: Any) -> None:
        super().__init__(client)
        self.parcel: Parcel | None = None
        self._placed = False  # the map shows a view we chose (a parcel, the set) or the user moved it
        self.decision_colours = DecisionColours(client)
        self.map = L.Map(center=(52.5, 5.65), zoom=14, scroll_wheel_zoom=True, max_zoom=19,
                         layout=w.Layout(width="100%", height="460px"), _dom_classes=["cbm-leaflet"])
        self.map.clear_layers()  # offline: no tile basemap, a plain background
        self.parcels_layer, self.peers_layer = ml.parcels_layer(), ml.peers_layer()
        self.selected_layer, self.overlay = ml.selected_layer(), ml.overlay_layer()
        self.highlight_layer = L.GeoJSON(data=ml.empty_collection(), name="Filtered parcels (queue page)",
                                         style={}, style_callback=ml.decision_style,
                                         hover_style={"weight": 3, "fillOpacity": 0.75})
        self.photos_layer = ml.photos_layer()
        for layer in (self.overlay, self.parcels_layer, self.highlight_layer, self.peers_layer,
                      self.selected_layer, self.photos_layer):
            self.map.add(layer)
        self.search = w.Text(placeholder="Parcel id, or lat, lon", continuous_update=False,
                             layout=w.Layout(width="220px"), _dom_classes=["cbm-search"])
        self.style_picker = w.Dropdown(options=[("True colour", "truecolor"), ("False colour", "falsecolor"),
                                                ("NDVI", "ndvi")], value="truecolor",
                                       layout=w.Layout(width="120px"))
        self.decision_toggle = w.Checkbox(value=False, description="Colour parcels by decision", indent=False,
                                          _dom_classes=["cbm-decision-toggle"])
        panel = w.VBox([w.HBox([self.search, self.style_picker]), self.decision_toggle, self.status],
                       _dom_classes=["cbm-map-panel"])
        self.legend = L.LegendControl(ml.LEGEND, title="Legend", position="bottomright")
        for control in (L.WidgetControl(widget=panel, position="topright"),
                        L.LayersControl(position="topright"), self.legend,
                        L.FullScreenControl(), L.MeasureControl(position="bottomleft",
                                                                primary_length_unit="meters",
                                                                primary_area_unit="hectares")):
            self.map.add(control)
        self.children = [self.map]
        # ---- wiring
        self.search.observe(self._submitted, names="value")
        w.link((self.style_picker, "value"), (self, "style"))
        w.link((self.decision_toggle, "value"), (self, "colour_by_decision"))
        self.map.on_interaction(self._interaction)
        self.map.observe(self._update_view, names="bounds")
        self.observe(self._update_parcel, names=["aoi", "year", "parcel_id"])
        self.observe(self._update_overlay, names=["date", "style"])
        self.observe(self._update_mode, names="colour_by_decision")
        self.observe(self._update_highlight, names="highlight")
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
            self.photos_layer.data, self.photos = ml.empty_collection(), []
            if self.aoi and self.year and not self.parcel_id:
                self._centre_on_set()
            return
        with self.guard(f"loading parcel {self.parcel_id}"):
            if self.parcel is None or self.parcel.pid != self.parcel_id:
                self.parcel = self.client.parcel(self.aoi, self.year, self.parcel_id)
            self.selected_layer.data = ml.collection([self.parcel.feature()])
            self._bring_into_view(self.parcel)
            self.later(self._update_peers)  # after the card and chart: the user waits for those
            self.later(self._update_photos)
        self._update_overlay()

    def _bring_into_view(self, parcel: Parcel) -> None:
        """Keep the user's view when the parcel is in it; else pan there (zooming in only if far out).

        The first parcel shown (e.g. a deep link) always gets a parcel-sized view: the map's
        initial view is nobody's choice.
        """
        bounds = self.map.bounds if self._placed else None
        self._placed = True
        if bounds:
            (south, west), (north, east) = bounds
            if south <= parcel.lat <= north and west <= parcel.lon <= east:
                return
        self.map.center = (parcel.lat, parcel.lon)
        if not bounds or self.map.zoom < MIN_PARCEL_ZOOM:
            self.map.zoom = 16

    def _centre_on_set(self) -> None:
        """No parcel selected: show the highlighted parcels, else the set's middle (parcels drawn)."""
        if self._fit_highlight():
            return
        with self.guard(f"locating {self.aoi} {self.year}"):
            bbox = self.client.set_summary(self.aoi, self.year).get("bbox")
            if bbox:
                west, south, east, north = bbox
                self.map.center, self.map.zoom = ((south + north) / 2, (west + east) / 2), 15
                self._placed = True

    def _update_peers(self) -> None:
        """Peers within 1 km, drawn dimmed; a failure here never hides the selected parcel."""
        if self.parcel is None or self.parcel.geometry is None:  # unselected meanwhile
            return
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

    def _update_photos(self) -> None:
        """The selected parcel's photos as points with direction wedges; a failure hides only them."""
        if not self._ready():  # unselected meanwhile (without a pid the API lists the set's photos)
            return
        try:
            found = self.client.photos(self.aoi, self.year, self.parcel_id, limit=MAX_PHOTOS)
        except CbmApiError as exc:
            self.photos_layer.data, self.photos = ml.empty_collection(), []
            self.error = f"Photos not shown: {exc}"
            return
        self.photos = list(found.get("photos", []))
        self.photos_layer.data = ml.collection(ml.photo_features(self.photos))

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
            colours = self._decision_colours([p.pid for p in parcels])
        except CbmApiError as exc:
            self.error = f"Parcels in view not shown: {exc}"
            return
        self.parcels_layer.data = ml.collection(p.feature(colour=colours.get(p.pid, "")) for p in parcels)

    def _decision_colours(self, pids: list[str]) -> dict[str, str]:
        """Worst decision colour of the parcels in view (only in ``colour_by_decision`` mode)."""
        if not self.colour_by_decision:
            return {}
        found = self.decision_colours.colours(self.aoi, self.year, pids)
        if self.decision_colours.truncated:
            self.error = (f"Decision colours come from the first {self.decision_colours.max_rows} decisions "
                          "(red and yellow first); grey parcels may have one.")
        return found

    def _update_mode(self, _change: dict[str, Any] | None = None) -> None:
        """Switch the parcel layer and the legend between plain outlines and decision colours."""
        on = self.colour_by_decision
        # the browser lets a layer's ``style`` override each feature's own: none in decision mode
        self.parcels_layer.style_callback = ml.decision_style if on else None
        self.parcels_layer.style = {} if on else ml.PARCEL_STYLE
        self.legend.legend = ml.DECISION_LEGEND if on else ml.LEGEND
        self.legend.title = "Decision (worst condition)" if on else "Legend"
        self._update_view()

    def _update_highlight(self, _change: dict[str, Any] | None = None) -> None:
        """Draw the parcels a filter selected (e.g. the queue's page) in their decision colours.

        With no parcel selected the map shows them all (the user asked for them); with one
        selected the view stays on it.
        """
        self.highlight_layer.data = ml.collection(self.highlight)
        if not self.parcel_id:
            self._fit_highlight()

    def _fit_highlight(self) -> bool:
        """Fit the view to the highlighted parcels; False when there are none."""
        boxes = [ml.geometry_bbox(f["geometry"]) for f in self.highlight if f.get("geometry")]
        if not boxes:
            return False
        west, south = min(b[0] for b in boxes), min(b[1] for b in boxes)
        east, north = max(b[2] for b in boxes), max(b[3] for b in boxes)
        self.map.fit_bounds(((south, west), (north, east)))
        self._placed = True
        return True

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
