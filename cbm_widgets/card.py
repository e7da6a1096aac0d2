"""``ParcelCard``: crop, area and the traffic-light decisions of the selected parcel."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
import traitlets as t

from cbm_widgets.base import CbmWidget
from cbm_widgets.client import CbmClient
from cbm_widgets.errors import CbmApiError
from cbm_widgets.map_layers import DECISION_COLOURS
from cbm_widgets.models import Parcel


def parcel_html(parcel: Parcel) -> str:
    """The parcel's identity: id, crop and area."""
    crop = html.escape(parcel.cropname or "unknown crop")
    code = html.escape(parcel.cropcode or "–")
    return (f'<div class="cbm-card-title">Parcel <b class="cbm-pid">{html.escape(parcel.pid)}</b></div>'
            f"<div>{crop} <span class=\"cbm-muted\">(code {code})</span> · {parcel.area / 10_000:.2f} ha · "
            f"{parcel.lat:.5f}, {parcel.lon:.5f}</div>")


def decisions_html(decisions: list[dict[str, Any]]) -> str:
    """One line per condition with its colour and the reason in plain words."""
    if not decisions:
        return '<div class="cbm-muted">No decision yet for this parcel.</div>'
    lines = []
    for d in decisions:
        colour = str(d.get("colour", ""))
        dot = f'<span class="cbm-dot" style="background:{DECISION_COLOURS.get(colour, "#999")}"></span>'
        lines.append(f'<div class="cbm-decision cbm-{html.escape(colour)}">{dot}<b>'
                     f'{html.escape(str(d.get("condition", "")))}</b>: {html.escape(colour)} — '
                     f'{html.escape(str(d.get("reason", "")))}</div>')
    return "".join(lines)


class ParcelCard(CbmWidget):
    """A short card about the selected parcel.

    Attributes:
        colour: worst decision colour of the parcel (``""`` when none).
    """

    colour = t.Unicode("")
    css_class = "cbm-card"

    def __init__(self, client: CbmClient, **kwargs: Any) -> None:
        super().__init__(client)
        self.body = w.HTML('<div class="cbm-muted">Search or click a parcel on the map.</div>')
        self.decisions = w.HTML("")
        self.children = [self.body, self.decisions, self.status]
        self.observe(self._update, names=["aoi", "year", "parcel_id"])
        for name, value in kwargs.items():
            setattr(self, name, value)

    def _update(self, _change: dict[str, Any] | None = None) -> None:
        self.colour, self.decisions.value = "", ""
        if not self._ready():
            return
        self.body.value = ""
        with self.guard(f"loading parcel {self.parcel_id}"):
            self.body.value = parcel_html(self.client.parcel(self.aoi, self.year, self.parcel_id))
            try:
                result = self.client.decisions(self.aoi, self.year, self.parcel_id)
            except CbmApiError as exc:
                message = html.escape(f"Decisions not available: {exc}")
                self.decisions.value = f'<div class="cbm-muted">{message}</div>'
                return
            self.colour = str(result.get("colour") or "")
            self.decisions.value = decisions_html(list(result.get("decisions", [])))
