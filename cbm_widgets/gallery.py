"""``ChipGallery``: image chips of the selected parcel for a date window, loaded lazily.

The window (``window_days``, centred on ``date`` or starting at ``start``) is listed in one API
call; the PNGs are then fetched one by one with a progress bar. Previous / next move the
window; the style selector switches true colour, false colour, NDVI and S1 VH. Each chip shows
its date and cloud fraction; its button selects that date in the linked widgets.
"""

from __future__ import annotations

import html
from datetime import date as Date
from datetime import timedelta
from typing import Any

import ipywidgets as w
import traitlets as t

from cbm_widgets.base import CbmWidget
from cbm_widgets.client import CbmClient
from cbm_widgets.models import Chip, Parcel

# A 1x1 light-grey PNG shown until a chip is loaded (an empty image would render as a broken icon).
PLACEHOLDER = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c49444154789c6378f3fe230005"
    "9702cd16a00b550000000049454e44ae426082")
STYLES = (("True colour", "truecolor"), ("False colour", "falsecolor"), ("NDVI", "ndvi"), ("S1 VH", "VH"))


class ChipGallery(CbmWidget):
    """A grid of chips around the selected parcel.

    Args:
        client: the API client.
        **kwargs: initial traitlet values (``aoi``, ``year``, ``parcel_id``, ``date``, ``style``...).

    Attributes:
        style: chip style (``truecolor``, ``falsecolor``, ``ndvi``, ``VH``).
        start: first day of the window (ISO); follows ``date`` when a date is selected.
        window_days: length of the window in days.
        size: chip side in pixels.
        n_chips: chips shown in the current window.
    """

    style = t.Unicode("truecolor")
    start = t.Unicode("")
    window_days = t.Int(40, min=1, max=366)
    size = t.Int(128, min=16, max=512)
    n_chips = t.Int(0)
    css_class = "cbm-gallery"

    def __init__(self, client: CbmClient, **kwargs: Any) -> None:
        super().__init__(client)
        self.parcel: Parcel | None = None
        self.chips: list[Chip] = []
        self.prev = w.Button(description="◀ Previous", _dom_classes=["cbm-prev"],
                             layout=w.Layout(width="110px"))
        self.next = w.Button(description="Next ▶", _dom_classes=["cbm-next"], layout=w.Layout(width="110px"))
        self.style_picker = w.Dropdown(options=STYLES, value="truecolor", layout=w.Layout(width="140px"))
        self.range_label = w.HTML("", _dom_classes=["cbm-range"])
        self.progress = w.IntProgress(value=0, min=0, max=1,
                                      layout=w.Layout(width="160px", visibility="hidden"),
                                      _dom_classes=["cbm-progress"])
        grid_layout = w.Layout(grid_template_columns="repeat(auto-fill, minmax(140px, 1fr))", grid_gap="8px",
                               width="100%")
        self.grid = w.GridBox([], layout=grid_layout, _dom_classes=["cbm-chip-grid"])
        bar = w.HBox([self.prev, self.next, self.style_picker, self.range_label, self.progress])
        self.children = [bar, self.status, self.grid]
        # ---- wiring
        self.prev.on_click(lambda _: self.shift(-1))
        self.next.on_click(lambda _: self.shift(+1))
        w.link((self.style_picker, "value"), (self, "style"))
        self.observe(self._update_parcel, names=["aoi", "year", "parcel_id"])
        self.observe(self._update_window, names=["date"])
        self.observe(self._update_chips, names=["start", "style", "window_days", "size"])
        for name, value in kwargs.items():
            setattr(self, name, value)

    # ------------------------------------------------------------------ actions
    def shift(self, direction: int) -> None:
        """Move the window one length back (-1) or forward (+1)."""
        self.start = (self._first_day() + timedelta(days=direction * self.window_days)).isoformat()

    def _first_day(self) -> Date:
        if self.start:
            return Date.fromisoformat(self.start)
        return Date(self.year or Date.today().year, 5, 1)

    # ------------------------------------------------------------------ updates
    def _update_parcel(self, _change: dict[str, Any] | None = None) -> None:
        self.parcel = None
        if self._ready():
            with self.guard(f"loading parcel {self.parcel_id}"):
                self.parcel = self.client.parcel(self.aoi, self.year, self.parcel_id)
        before = self.start
        self._update_window()
        if self.start == before:  # otherwise the window change has reloaded the chips
            self._update_chips()

    def _update_window(self, _change: dict[str, Any] | None = None) -> None:
        """Centre the window on the selected date unless that date is already in view."""
        if not self.date:
            return
        day = Date.fromisoformat(self.date[:10])
        first = self._first_day()
        if not (first <= day < first + timedelta(days=self.window_days)) or not self.start:
            self.start = (day - timedelta(days=self.window_days // 2)).isoformat()
        else:
            self._highlight()

    def _update_chips(self, _change: dict[str, Any] | None = None) -> None:
        first = self._first_day()
        last = first + timedelta(days=self.window_days - 1)
        self.range_label.value = f"{first:%d %b %Y} – {last:%d %b %Y}"
        self.chips, self.grid.children, self.n_chips = [], (), 0
        if self.parcel is None:
            return
        with self.guard("listing the images"):
            self.chips = self.client.chips(self.parcel.lon, self.parcel.lat, first, last, style=self.style,
                                           size=self.size)
            if not self.chips:
                self.error = "No images in this period; try Previous / Next."
        self.grid.children = tuple(self._card(chip) for chip in self.chips)
        self.n_chips = len(self.chips)
        if self.chips:
            self._load_images()
        self._highlight()

    def _card(self, chip: Chip) -> w.VBox:
        image = w.Image(value=PLACEHOLDER, format="png", layout=w.Layout(width="100%", height="auto"),
                        _dom_classes=["cbm-chip-img"])
        cloud = "cloud n/a" if chip.cloud is None else f"{chip.cloud:.0%} cloud"
        button = w.Button(description=chip.date.isoformat(), tooltip=f"Select {chip.date}",
                          layout=w.Layout(width="100%"), _dom_classes=["cbm-chip-date"])
        iso = chip.date.isoformat()
        button.on_click(lambda _: self.select_date(iso))
        caption = w.HTML(f'<span class="cbm-cloud">{html.escape(cloud)}</span>')
        return w.VBox([image, button, caption], _dom_classes=["cbm-chip"])

    def _load_images(self) -> None:
        """Fetch the PNGs one by one, showing progress."""
        self.progress.max, self.progress.value = max(len(self.chips), 1), 0
        self.progress.layout.visibility = "visible"
        with self.guard("loading the chips"):
            for card, chip in zip(self.grid.children, self.chips, strict=True):
                card.children[0].value = self.client.fetch_bytes(chip.url)
                self.progress.value += 1
        self.progress.layout.visibility = "hidden"

    def _highlight(self) -> None:
        for card, chip in zip(self.grid.children, self.chips, strict=False):
            if chip.date.isoformat() == self.date[:10]:
                card.add_class("cbm-chip-selected")
            else:
                card.remove_class("cbm-chip-selected")
