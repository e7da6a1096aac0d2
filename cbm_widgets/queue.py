"""``ReviewQueue``: work through a parcel set one parcel at a time, worst first.

One row per parcel (its worst colour and the colour of each condition), filtered by condition,
colour, crop (part of the name or code) and reviewed or not, sorted by colour, confidence, area,
crop or review state, paged. *Previous parcel* / *Next parcel* move the selection through the
same order across pages; :attr:`highlight` holds the page's parcels as GeoJSON features so the
map can show what the filters select.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
import traitlets as t
from ipyevents import Event

from cbm_widgets.base import CbmWidget, link_choice
from cbm_widgets.client import CbmClient
from cbm_widgets.errors import NotFound
from cbm_widgets.map_layers import DECISION_COLOURS
from cbm_widgets.plain import VERDICT_NAMES, condition_name

COLOURS = ("red", "yellow", "green")
SORTS = (("worst colour", "colour"), ("confidence", "confidence"), ("area", "area"), ("crop name", "crop"),
         ("reviewed", "reviewed"), ("parcel id", "pid"))
KEYS = {"n": "next", "j": "next", "p": "previous", "k": "previous", "]": "next page", "[": "previous page"}
REVIEWED = (("all", ""), ("not reviewed", "false"), ("reviewed", "true"))


def row_html(row: dict[str, Any]) -> str:
    """A queue row: worst colour, crop, area, conditions with their colours, review state."""
    colour = str(row.get("colour", ""))
    dot = f'<span class="cbm-dot" style="background:{DECISION_COLOURS.get(colour, "#999")}"></span>'
    conds = ", ".join(f"{html.escape(condition_name(c))}: {html.escape(v)}"
                      for c, v in dict(row.get("conditions") or {}).items() if v != "green")
    conf = row.get("confidence")
    sure = f" · confidence {float(conf):.0%}" if conf is not None else ""
    state = (f" · <b>{html.escape(VERDICT_NAMES.get(str(row['verdict']), str(row['verdict'])))}</b>"
             if row.get("reviewed") else " · <i>not reviewed</i>")
    crop = html.escape(str(row.get("cropname") or row.get("cropcode") or ""))
    return (f"{dot}{html.escape(colour)} · {crop}"
            f" · {float(row.get('area_ha') or 0):.2f} ha{sure}{state}"
            f"{'<br><span class=cbm-muted>' + conds + '</span>' if conds else ''}")


class ReviewQueue(CbmWidget):
    """The review queue of a parcel set.

    Attributes:
        condition: filter on a condition (``""`` = any).
        colour: filter on the worst colour, or on the condition's colour with ``condition``.
        crop: part of the crop name or code (``""`` = any).
        reviewed: ``""`` any, ``"true"`` reviewed, ``"false"`` not yet.
        sort: ``colour confidence area crop reviewed pid``; ``descending`` reverses it.
        page, page_size, total: paging.
        highlight: GeoJSON features of the page's parcels (property ``colour``) for the map.
    """

    condition = t.Unicode("")
    colour = t.Unicode("")
    crop = t.Unicode("")
    reviewed = t.Unicode("")
    sort = t.Unicode("colour")
    descending = t.Bool(False)
    page = t.Int(0, min=0)
    page_size = t.Int(20, min=1, max=200)
    total = t.Int(0)
    highlight: t.List[dict[str, Any]] = t.List()
    css_class = "cbm-queue"

    def __init__(self, client: CbmClient, **kwargs: Any) -> None:
        super().__init__(client)
        self.rows: list[dict[str, Any]] = []
        self._conditions_of: tuple[str, int] | None = None  # the set whose conditions the picker lists
        self._build_controls()
        self._wire()
        for name, value in kwargs.items():
            setattr(self, name, value)

    def _build_controls(self) -> None:
        self.condition_picker = w.Dropdown(options=[("any condition", "")], value="", description="Condition")
        self.colour_picker = w.ToggleButtons(options=[("any", ""), *[(c, c) for c in COLOURS]], value="",
                                             style={"button_width": "62px"},
                                             _dom_classes=["cbm-queue-colour"])
        self.crop_box = w.Text(placeholder="part of the crop name", continuous_update=False,
                               description="Crop", layout=w.Layout(width="230px"),
                               _dom_classes=["cbm-queue-crop"])
        self.reviewed_picker = w.Dropdown(options=REVIEWED, value="", description="Review",
                                          layout=w.Layout(width="220px"))
        self.sort_picker = w.Dropdown(options=SORTS, value="colour", description="Sort by",
                                      layout=w.Layout(width="220px"))
        self.order = w.ToggleButton(value=False, description="reverse", layout=w.Layout(width="80px"))
        self.prev_page = w.Button(description="◀ page", _dom_classes=["cbm-page-prev"])
        self.next_page = w.Button(description="page ▶", _dom_classes=["cbm-page-next"])
        self.prev_parcel = w.Button(description="◀ Previous parcel", _dom_classes=["cbm-prev-parcel"],
                                    tooltip="Previous parcel in this order (key: p or k)")
        self.next_parcel = w.Button(description="Next parcel ▶", button_style="primary",
                                    _dom_classes=["cbm-next-parcel"], tooltip="Next parcel (key: n or j)")
        self.page_label = w.HTML("", _dom_classes=["cbm-page-label"])
        self.table = w.VBox([], _dom_classes=["cbm-table"])
        filters = w.HBox([self.condition_picker, self.colour_picker, self.crop_box, self.reviewed_picker,
                          self.sort_picker, self.order], _dom_classes=["cbm-queue-filters"])
        moves = w.HBox([self.prev_parcel, self.next_parcel, self.prev_page, self.page_label, self.next_page])
        hint = w.HTML('<span class="cbm-muted">Keys (pointer over the list): n / j next parcel, p / k '
                      "previous, ] / [ next / previous page</span>")
        self.keyboard_area = w.VBox([moves, hint, self.table], _dom_classes=["cbm-queue-keys"])
        self.key_events = Event(source=self.keyboard_area, watched_events=["keydown"])
        self.children = [filters, self.status, self.keyboard_area]

    def _wire(self) -> None:
        link_choice(self.condition_picker, self, "condition", condition_name)
        for control, name in ((self.colour_picker, "colour"), (self.crop_box, "crop"),
                              (self.reviewed_picker, "reviewed"), (self.sort_picker, "sort"),
                              (self.order, "descending")):
            w.link((control, "value"), (self, name))
        self.prev_page.on_click(lambda _: self.set_trait("page", max(self.page - 1, 0)))
        self.next_page.on_click(lambda _: self.set_trait("page", self.page + 1) if self._has_next() else None)
        self.key_events.on_dom_event(self._key)
        self.prev_parcel.on_click(lambda _: self.step(-1))
        self.next_parcel.on_click(lambda _: self.step(1))
        self.observe(self._filters_changed, names=["aoi", "year", "condition", "colour", "crop", "reviewed",
                                                   "sort", "descending"])
        self.observe(self._update_table, names=["page", "page_size"])
        self.observe(self._mark_current, names=["parcel_id"])

    def _key(self, event: dict[str, Any]) -> None:
        """Keyboard shortcuts of the list (not of the filter boxes, where keys are typing)."""
        action = KEYS.get(str(event.get("key", "")))
        if action == "next":
            self.step(1)
        elif action == "previous":
            self.step(-1)
        elif action == "next page" and self._has_next():
            self.page += 1
        elif action == "previous page" and self.page:
            self.page -= 1

    def query(self) -> dict[str, Any]:
        """The API parameters of the current filters and order."""
        return {"condition": self.condition, "colour": self.colour, "crop": self.crop.strip(),
                "reviewed": self.reviewed, "sort": self.sort, "order": "desc" if self.descending else "asc"}

    def _has_next(self) -> bool:
        return (self.page + 1) * self.page_size < self.total

    def _filters_changed(self, _change: dict[str, Any] | None = None) -> None:
        if self.page:
            self.page = 0  # reloads through the observer
        else:
            self._update_table()

    def _update_table(self, _change: dict[str, Any] | None = None) -> None:
        self.rows, self.total = [], 0
        if self.aoi and self.year:
            with self.guard("loading the review queue"):
                data = self.client.queue(self.aoi, self.year, **self.query(),
                                         offset=self.page * self.page_size, limit=self.page_size,
                                         geometry=True)
                self.rows, self.total = list(data["rows"]), int(data["total"])
                self._update_conditions()
        self.highlight = [{"type": "Feature", "id": r["pid"], "geometry": r.pop("geometry", None),
                           "properties": {"pid": r["pid"], "colour": r["colour"]}} for r in self.rows]
        self.table.children = tuple(self._row(r) for r in self.rows)
        pages = max((self.total + self.page_size - 1) // self.page_size, 1)
        self.page_label.value = f"page {self.page + 1} of {pages} · {self.total} parcels"
        self._mark_current()

    def _update_conditions(self) -> None:
        if self._conditions_of == (self.aoi, self.year):
            return
        counts = self.client.decision_page(self.aoi, self.year, limit=1).counts
        names = [(condition_name(c), c) for c in sorted(counts)]
        chosen = self.condition
        self.condition_picker.options = [("any condition", ""), *names]
        self.condition_picker.value = chosen if chosen in counts else ""
        self._conditions_of = (self.aoi, self.year)

    def _row(self, row: dict[str, Any]) -> w.HBox:
        pid = str(row["pid"])
        button = w.Button(description=pid, tooltip=f"Show parcel {pid}", layout=w.Layout(width="110px"),
                          _dom_classes=["cbm-row-pid"])
        button.on_click(lambda _, p=pid: self.select_parcel(p))
        return w.HBox([button, w.HTML(row_html(row))], _dom_classes=["cbm-row"])

    def _mark_current(self, _change: dict[str, Any] | None = None) -> None:
        for box, row in zip(self.table.children, self.rows, strict=False):
            if row["pid"] == self.parcel_id:
                box.add_class("cbm-row-current")
            else:
                box.remove_class("cbm-row-current")

    def step(self, direction: int) -> None:
        """Select the next (``1``) or previous (``-1``) parcel in the queue order, across pages."""
        if not (self.aoi and self.year):
            return
        with self.guard("moving in the queue"):
            target = self._neighbour(direction)
            if not target:
                self.error = f"End of the queue: no {'next' if direction > 0 else 'previous'} parcel."
                return
            self.select_parcel(target)
            self._follow(target)

    def _neighbour(self, direction: int) -> str:
        """The pid next to the selected one; the page's first when none (or one outside the queue) is."""
        first = str(self.rows[0]["pid"]) if self.rows else ""
        if not self.parcel_id:
            return first
        try:
            near = self.client.neighbours(self.aoi, self.year, self.parcel_id, **self.query())
        except NotFound:
            return first
        return str(near["next" if direction > 0 else "previous"] or "")

    def _follow(self, pid: str) -> None:
        """Turn the page when the selected parcel is not on it."""
        if any(r["pid"] == pid for r in self.rows):
            return
        position = int(self.client.neighbours(self.aoi, self.year, pid, **self.query())["position"])
        self.page = position // self.page_size
