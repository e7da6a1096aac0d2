"""``MarkerExplorer``: the traffic light of a parcel set, filtered and paged; click a parcel to select it."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
import traitlets as t

from cbm_widgets.base import CbmWidget, link_choice
from cbm_widgets.client import CbmClient
from cbm_widgets.map_layers import DECISION_COLOURS

COLOURS = ("red", "yellow", "green")


def counts_html(counts: dict[str, dict[str, int]]) -> str:
    """A small table: one row per condition, one column per colour."""
    if not counts:
        return '<p class="cbm-muted">No decisions for this parcel set yet.</p>'
    head = "".join(f'<th><span class="cbm-dot" style="background:{DECISION_COLOURS[c]}"></span>{c}</th>'
                   for c in COLOURS)
    rows = "".join(f"<tr><td>{html.escape(cond)}</td>" + "".join(f"<td>{by.get(c, 0)}</td>" for c in COLOURS)
                   + "</tr>" for cond, by in sorted(counts.items()))
    return f'<table class="cbm-counts"><tr><th>condition</th>{head}</tr>{rows}</table>'


class MarkerExplorer(CbmWidget):
    """Decisions of a set: counts per colour and condition, filters, a paged table of parcels.

    Args:
        client: the API client.
        **kwargs: initial traitlet values (``aoi``, ``year``, ``colour``, ``condition``, ``crop``).

    Attributes:
        colour: filter on colour (``""`` = all).
        condition: filter on condition (``""`` = all).
        crop: filter on crop code (``""`` = all).
        page: zero-based page number.
        page_size: rows per page.
        total: rows matching the filters.
    """

    colour = t.Unicode("")
    condition = t.Unicode("")
    crop = t.Unicode("")
    page = t.Int(0, min=0)
    page_size = t.Int(15, min=1, max=200)
    total = t.Int(0)
    css_class = "cbm-explorer"

    def __init__(self, client: CbmClient, **kwargs: Any) -> None:
        super().__init__(client)
        self.rows: list[dict[str, Any]] = []
        self.counts = w.HTML("", _dom_classes=["cbm-counts-box"])
        self.colour_picker = w.ToggleButtons(options=[("all", ""), *[(c, c) for c in COLOURS]], value="",
                                             style={"button_width": "70px"})
        self.condition_picker = w.Dropdown(options=[("all conditions", "")], value="",
                                           description="Condition")
        self.crop_box = w.Text(placeholder="crop code", continuous_update=False, description="Crop",
                               layout=w.Layout(width="200px"))
        self.prev = w.Button(description="◀", layout=w.Layout(width="40px"), _dom_classes=["cbm-page-prev"])
        self.next = w.Button(description="▶", layout=w.Layout(width="40px"), _dom_classes=["cbm-page-next"])
        self.page_label = w.HTML("")
        self.table = w.VBox([], _dom_classes=["cbm-table"])
        filters = w.HBox([self.colour_picker, self.condition_picker, self.crop_box])
        self.children = [self.counts, filters, self.status, self.table,
                         w.HBox([self.prev, self.page_label, self.next])]
        # ---- wiring
        w.link((self.colour_picker, "value"), (self, "colour"))
        link_choice(self.condition_picker, self, "condition")
        w.link((self.crop_box, "value"), (self, "crop"))
        self.prev.on_click(lambda _: self.set_trait("page", max(self.page - 1, 0)))
        self.next.on_click(lambda _: self.set_trait("page", self.page + 1) if self._has_next() else None)
        self.observe(self._filters_changed, names=["aoi", "year", "colour", "condition", "crop"])
        self.observe(self._update_table, names=["page", "page_size"])
        for name, value in kwargs.items():
            setattr(self, name, value)

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
            with self.guard("loading the decisions"):
                result = self.client.decision_page(self.aoi, self.year, colour=self.colour,
                                                   condition=self.condition, crop=self.crop,
                                                   offset=self.page * self.page_size, limit=self.page_size)
                self.rows, self.total = result.rows, result.total
                self.counts.value = counts_html(result.counts)
                self._update_conditions(sorted(result.counts))
        self.table.children = tuple(self._row(r) for r in self.rows)
        pages = max((self.total + self.page_size - 1) // self.page_size, 1)
        self.page_label.value = f"page {self.page + 1} of {pages} · {self.total} decisions"

    def _update_conditions(self, names: list[str]) -> None:
        options = [("all conditions", ""), *[(n, n) for n in names]]
        if list(self.condition_picker.options) != options:
            self.condition_picker.options = options
            self.condition_picker.value = self.condition if self.condition in names else ""

    def _row(self, row: dict[str, Any]) -> w.HBox:
        pid = str(row.get("pid", ""))
        button = w.Button(description=pid, tooltip=f"Show parcel {pid}", layout=w.Layout(width="110px"),
                          _dom_classes=["cbm-row-pid"])
        button.on_click(lambda _, p=pid: self.select_parcel(p))
        colour = str(row.get("colour", ""))
        dot = f'<span class="cbm-dot" style="background:{DECISION_COLOURS.get(colour, "#999")}"></span>'
        text = " · ".join(html.escape(str(row.get(k) or "")) for k in ("cropname", "condition", "reason"))
        return w.HBox([button, w.HTML(f"{dot}{html.escape(colour)} · {text}")], _dom_classes=["cbm-row"])
