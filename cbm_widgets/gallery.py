"""``ChipGallery``: chips of the selected parcel, a season strip aligned with the chart and a date window.

Chips come from ``/parcels/chips``: centred on the parcel, sized to it (with a minimum context),
its outline drawn, each with the cloud share of the parcel's own pixels and the share without
data. The **season strip** shows the clearest view of each of ``slots`` equal parts of the
year, every chip placed at its date on the same time axis as the time-series chart (same
margins; :meth:`ChipGallery.follow` keeps it on the chart's zoom). The **window** below lists
every image of ``window_days`` days; it opens on the window of the parcel's condition (the
worst-coloured one, or ``condition``), and Previous / Next move it. A chip's date button
selects that date in the linked widgets.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable
from datetime import date as Date
from datetime import datetime, timedelta
from typing import Any

import ipywidgets as w
import traitlets as t

from cbm_widgets.base import CbmWidget, serving_loop
from cbm_widgets.client import CbmClient
from cbm_widgets.decisions import WORST_FIRST
from cbm_widgets.errors import CbmApiError, human
from cbm_widgets.models import Chip
from cbm_widgets.plain import window_of

# A 1x1 light-grey PNG shown until a chip is loaded (an empty image would render as a broken icon).
PLACEHOLDER = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c49444154789c6378f3fe230005"
    "9702cd16a00b550000000049454e44ae426082")
STYLES = (("True colour", "truecolor"), ("False colour", "falsecolor"), ("NDVI", "ndvi"), ("S1 VH", "VH"))
log = logging.getLogger(__name__)
PLOT_MARGIN_PX = 60
"""Left and right margin of the chart's plot area (``TimeSeriesChart.figure.fig_margin``)."""


class ChipGallery(CbmWidget):
    """A season strip and a window of chips of the selected parcel.

    Args:
        client: the API client.
        **kwargs: initial traitlet values (``aoi``, ``year``, ``parcel_id``, ``date``, ``style``...).

    Attributes:
        style: chip style (``truecolor``, ``falsecolor``, ``ndvi``, ``VH``).
        start: first day of the window (ISO); follows ``date`` when a date is selected.
        window_days: length of the window in days.
        size: chip side in pixels.
        slots: chips in the season strip (the clearest view of each equal part of the year).
        condition: condition whose window the gallery opens on (default: the worst-coloured).
        view_start: first day of the strip's time axis (ISO; default 1 January).
        view_end: last day of the strip's time axis (ISO; default 31 December).
        n_chips: chips shown in the current window.
        n_strip: chips shown in the season strip.
    """

    style = t.Unicode("truecolor")
    start = t.Unicode("")
    window_days = t.Int(40, min=1, max=366)
    size = t.Int(128, min=16, max=512)
    slots = t.Int(12, min=1, max=24)
    condition = t.Unicode("")
    view_start = t.Unicode("")
    view_end = t.Unicode("")
    n_chips = t.Int(0)
    n_strip = t.Int(0)
    css_class = "cbm-gallery"

    def __init__(self, client: CbmClient, **kwargs: Any) -> None:
        super().__init__(client)
        self.chips: list[Chip] = []
        self.strip_chips: list[Chip] = []
        self.window: tuple[str, str] | None = None
        self._images: dict[str, bytes] = {}
        self._pending: list[tuple[_ChipCard, Chip]] = []
        self._grid_pool: list[_ChipCard] = []  # chip cards, reused from one parcel to the next
        self._strip_pool: list[_ChipCard] = []
        self._pumping = False
        self._opening = False
        auto = w.Layout(width="auto")
        self.prev = w.Button(description="◀ Previous", _dom_classes=["cbm-prev"], layout=auto)
        self.next = w.Button(description="Next ▶", _dom_classes=["cbm-next"], layout=w.Layout(width="auto"))
        self.style_picker = w.Dropdown(options=STYLES, value="truecolor", layout=w.Layout(width="140px"))
        self.range_label = w.HTML("", _dom_classes=["cbm-range"])
        self.progress = w.IntProgress(value=0, min=0, max=1,
                                      layout=w.Layout(width="160px", visibility="hidden"),
                                      _dom_classes=["cbm-progress"])
        self.band = w.HTML("", _dom_classes=["cbm-strip-window"], layout=w.Layout(display="none"))
        self.strip = w.Box([self.band], _dom_classes=["cbm-strip"],
                           layout=w.Layout(margin=f"0 {PLOT_MARGIN_PX}px"))
        grid_layout = w.Layout(grid_template_columns="repeat(auto-fill, minmax(140px, 1fr))", grid_gap="8px",
                               width="100%")
        self.grid = w.GridBox([], layout=grid_layout, _dom_classes=["cbm-chip-grid"])
        bar = w.HBox([self.prev, self.next, self.style_picker, self.range_label, self.progress],
                     layout=w.Layout(flex_flow="row wrap"))
        self.children = [bar, self.status, self.strip, self.grid]
        # ---- wiring
        self.prev.on_click(lambda _: self.shift(-1))
        self.next.on_click(lambda _: self.shift(+1))
        w.link((self.style_picker, "value"), (self, "style"))
        self.observe(self._update_parcel, names=["aoi", "year", "parcel_id"])
        self.observe(self._update_window, names=["date"])
        self.observe(self._update_chips, names=["start", "window_days", "size"])
        self.observe(self._update_style, names=["style"])
        self.observe(self._place_strip, names=["view_start", "view_end"])
        for name, value in kwargs.items():
            setattr(self, name, value)

    # ------------------------------------------------------------------ actions
    def shift(self, direction: int) -> None:
        """Move the window one length back (-1) or forward (+1), never out of the set's year."""
        day = self._first_day() + timedelta(days=direction * self.window_days)
        if self.year:
            last = Date(self.year, 12, 31) - timedelta(days=self.window_days - 1)
            day = min(max(day, Date(self.year, 1, 1)), max(last, Date(self.year, 1, 1)))
        self.start = day.isoformat()

    def follow(self, scale: Any) -> None:
        """Keep the strip's time axis on a bqplot ``DateScale`` (the chart's ``x``: zoom and pan)."""
        def sync(_change: dict[str, Any] | None = None) -> None:
            if scale.min is not None and scale.max is not None:
                self.view_start, self.view_end = _iso(scale.min), _iso(scale.max)
        scale.observe(sync, names=["min", "max"])
        sync()

    def _first_day(self) -> Date:
        if self.start:
            return Date.fromisoformat(self.start)
        return Date(self.year or Date.today().year, 5, 1)

    def _axis(self) -> tuple[Date, Date]:
        year = self.year or Date.today().year
        first = Date.fromisoformat(self.view_start[:10]) if self.view_start else Date(year, 1, 1)
        last = Date.fromisoformat(self.view_end[:10]) if self.view_end else Date(year, 12, 31)
        return first, max(last, first + timedelta(days=1))

    # ------------------------------------------------------------------ updates
    def _update_parcel(self, _change: dict[str, Any] | None = None) -> None:
        self.window, self._images = None, {}
        if self._ready():
            with self.guard(f"loading the decisions of parcel {self.parcel_id}"):
                self.window = self._condition_window()
        self._opening = True
        try:
            if self.window is not None:  # the window of chips starts where the condition's does
                self.start = self.window[0]
            elif self.date:
                self._update_window()
        finally:
            self._opening = False
        self._update_style()

    def _condition_window(self) -> tuple[str, str] | None:
        """The window of ``condition`` or of the worst-coloured decision that has one."""
        found = self.client.decisions(self.aoi, self.year, self.parcel_id).get("decisions", [])
        ranked = sorted(found, key=lambda d: (d.get("condition") != self.condition,
                                              _rank(d.get("colour"))))
        return next((window for d in ranked if (window := window_of(d))), None)

    def _update_style(self, _change: dict[str, Any] | None = None) -> None:
        self._update_strip()
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

    def _update_strip(self) -> None:
        self.strip_chips, self.n_strip = [], 0
        self.strip.children = (self.band,)
        if not self._ready():
            return
        year = self.year
        with self.guard("listing the season's images"):
            self.strip_chips = self.client.parcel_chips(self.aoi, year, self.parcel_id, Date(year, 1, 1),
                                                        Date(year, 12, 31), style=self.style, size=self.size,
                                                        slots=self.slots)
        self.strip.children = (self.band, *self._cards(self._strip_pool, self.strip_chips, strip=True))
        self.n_strip = len(self.strip_chips)
        self._place_strip()
        self._load_images(self.strip.children[1:], self.strip_chips)

    def _update_chips(self, _change: dict[str, Any] | None = None) -> None:
        if self._opening:
            return
        first = self._first_day()
        last = first + timedelta(days=self.window_days - 1)
        self.range_label.value = f"{first:%d %b %Y} – {last:%d %b %Y}"
        self.chips, self.grid.children, self.n_chips = [], (), 0
        if not self._ready():
            return
        with self.guard("listing the images"):
            self.chips = self.client.parcel_chips(self.aoi, self.year, self.parcel_id, first, last,
                                                  style=self.style, size=self.size)
            if not self.chips:
                self.error = "No images in this period; try Previous / Next."
        self.grid.children = self._cards(self._grid_pool, self.chips, strip=False)
        self.n_chips = len(self.chips)
        self._load_images(self.grid.children, self.chips)
        self._highlight()

    def _place_strip(self, _change: dict[str, Any] | None = None) -> None:
        """Put every strip chip (and the condition's window) at its date on the time axis."""
        first, last = self._axis()
        days = (last - first).days

        def where(day: Date) -> float:
            return (day - first).days / days * 100

        for card, chip in zip(self.strip.children[1:], self.strip_chips, strict=False):
            pos = where(chip.date)
            card.layout.left = f"{pos:.3f}%"
            card.layout.visibility = "visible" if 0 <= pos <= 100 else "hidden"
        self.band.layout.display = "none"
        if self.window is not None:
            lo, hi = (min(max(where(Date.fromisoformat(d)), 0.0), 100.0) for d in self.window)
            self.band.layout.left, self.band.layout.width = f"{lo:.3f}%", f"{max(hi - lo, 0.2):.3f}%"
            self.band.layout.display = "block" if hi > lo else "none"

    # ------------------------------------------------------------------ pieces
    def _cards(self, pool: list[_ChipCard], chips: list[Chip], strip: bool) -> tuple[_ChipCard, ...]:
        """Cards showing ``chips``, reusing the pool's (a new parcel changes their values, not the widgets).

        Built anew, every selection would send the browser some 200 new widgets (and leave the
        old ones alive on both sides).
        """
        while len(pool) < len(chips):
            pool.append(_ChipCard(self.select_date, strip))
        for card, chip in zip(pool, chips, strict=False):
            card.show(chip, self._images.get(chip.url, PLACEHOLDER))
        return tuple(pool[:len(chips)])

    def _load_images(self, cards: tuple[_ChipCard, ...], chips: list[Chip]) -> None:
        """Queue the PNGs of these cards; they are fetched one per event-loop turn (see :meth:`_pump`)."""
        shown = {id(c) for c in (*self.grid.children, *self.strip.children)}
        self._pending = [(card, chip) for card, chip in self._pending
                         if id(card) in shown and card.chip is chip]
        self._pending += [(card, chip) for card, chip in zip(cards, chips, strict=True)]
        self.progress.max, self.progress.value = max(len(self._pending), 1), 0
        self.progress.layout.visibility = "visible" if self._pending else "hidden"
        loop = serving_loop()
        if loop is None:  # no event loop running this code (a script, a test): fetch them now
            while self._pending:
                self._pump(again=False)
            return
        if not self._pumping:
            self._pumping = True
            loop.call_soon(self._pump)

    def _pump(self, again: bool = True) -> None:
        """Fetch one queued PNG, then let the kernel handle the user's clicks before the next one."""
        if not self._pending:
            self._pumping = False
            self.progress.layout.visibility = "hidden"
            return
        card, chip = self._pending.pop(0)
        if chip.url not in self._images:
            try:  # not guard(): that would clear the message of the listing
                self._images[chip.url] = self.client.fetch_bytes(chip.url)
            except CbmApiError as exc:
                self.error = human(exc)
            except Exception:
                log.exception("unexpected error while loading chip %s", chip.url)
                self.error = human(RuntimeError())
        if card.chip is chip:  # not reused for another chip meanwhile
            card.image.value = self._images.get(chip.url, PLACEHOLDER)
        self.progress.value += 1
        if again:
            asyncio.get_running_loop().call_soon(self._pump)
        elif not self._pending:
            self.progress.layout.visibility = "hidden"

    def _highlight(self) -> None:
        selected = self.date[:10]
        pairs = [*zip(self.grid.children, self.chips, strict=False),
                 *zip(self.strip.children[1:], self.strip_chips, strict=False)]
        for card, chip in pairs:
            if chip.date.isoformat() == selected:
                card.add_class("cbm-chip-selected")
            else:
                card.remove_class("cbm-chip-selected")


class _ChipCard(w.VBox):
    """A chip: its image, a button selecting its date, and (in the window) its cloud words."""

    def __init__(self, select: Callable[[str], Any], strip: bool) -> None:
        self.strip, self.iso = strip, ""
        self.chip: Chip | None = None
        self.image = w.Image(value=PLACEHOLDER, format="png", _dom_classes=["cbm-chip-img"],
                             **({} if strip else {"layout": w.Layout(width="100%", height="auto")}))
        self.button = w.Button(_dom_classes=["cbm-chip-date"],
                               **({} if strip else {"layout": w.Layout(width="100%")}))
        self.button.on_click(lambda _: select(self.iso))
        self.caption = w.HTML("")
        parts = [self.image, self.button] if strip else [self.image, self.button, self.caption]
        super().__init__(parts, _dom_classes=["cbm-strip-chip", "cbm-chip"] if strip else ["cbm-chip"])

    def show(self, chip: Chip, image: bytes) -> None:
        """Show ``chip`` (with ``image``, a placeholder until its PNG is loaded)."""
        self.iso, self.chip = chip.date.isoformat(), chip
        self.image.value = image
        if self.strip:
            self.button.description = f"{chip.date:%d %b}"
            self.button.tooltip = f"{chip.date:%d %B %Y}: {chip.cloud_text}"
        else:
            self.button.description, self.button.tooltip = self.iso, f"Select {chip.date}"
            self.caption.value = f'<span class="cbm-cloud">{html.escape(chip.cloud_text)}</span>'


def _rank(colour: Any) -> int:
    return WORST_FIRST.index(colour) if colour in WORST_FIRST else len(WORST_FIRST)


def _iso(value: Any) -> str:
    """An ISO date of a scale bound (datetime, numpy datetime64 or text)."""
    if isinstance(value, datetime | Date):
        return value.isoformat()[:10]
    return str(value)[:10]
