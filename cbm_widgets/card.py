"""``ParcelCard``: the selected parcel's case file: identity, decisions in plain words, downloads, review.

Decisions name the condition, its window and the reason with dates (not rule ids and
day-of-year numbers). Below them: downloads of the parcel's decisions with their reviews (CSV,
GeoPackage) and its printable evidence sheet, and the :class:`~cbm_widgets.review.ReviewPanel`.
The parcel's geotagged photos (:class:`~cbm_widgets.photos.PhotoStrip`) sit under the decisions;
the review panel offers them for citing.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
import traitlets as t

from cbm_widgets.base import CbmWidget, download_link
from cbm_widgets.client import CbmClient
from cbm_widgets.errors import CbmApiError
from cbm_widgets.map_layers import DECISION_COLOURS
from cbm_widgets.models import Parcel
from cbm_widgets.photos import PhotoStrip
from cbm_widgets.plain import condition_name, plain_reason, window_text
from cbm_widgets.review import ReviewPanel

DOWNLOADS = (("CSV", "csv", "text/csv"), ("GeoPackage", "gpkg", "application/geopackage+sqlite3"),
             ("Evidence sheet", "html", "text/html"))
BLIND_NOTE = ('<div class="cbm-muted cbm-blind">The system\'s decisions stay hidden until your verdict is '
              "saved (blind inspection).</div>")


def parcel_html(parcel: Parcel) -> str:
    """The parcel's identity: id, crop and area."""
    crop = html.escape(parcel.cropname or "unknown crop")
    code = html.escape(parcel.cropcode or "–")
    return (f'<div class="cbm-card-title">Parcel <b class="cbm-pid">{html.escape(parcel.pid)}</b></div>'
            f"<div>{crop} <span class=\"cbm-muted\">(code {code})</span> · {parcel.area / 10_000:.2f} ha · "
            f"{parcel.lat:.5f}, {parcel.lon:.5f}</div>")


def decisions_html(decisions: list[dict[str, Any]], year: int = 0) -> str:
    """One line per condition: colour, plain name, window and the reason with dates."""
    if not decisions:
        return '<div class="cbm-muted">No decision yet for this parcel.</div>'
    lines = []
    for d in decisions:
        colour = str(d.get("colour", ""))
        dot = f'<span class="cbm-dot" style="background:{DECISION_COLOURS.get(colour, "#999")}"></span>'
        window = window_text(d)
        when = f' <span class="cbm-muted">(window {html.escape(window)})</span>' if window else ""
        reason = html.escape(plain_reason(str(d.get("reason", "")), year))
        rule_id = html.escape(str(d.get("condition")))
        lines.append(f'<div class="cbm-decision cbm-{html.escape(colour)}" title="{rule_id}">'
                     f"{dot}<b>{html.escape(condition_name(str(d.get('condition', ''))))}</b>{when}: "
                     f"{html.escape(colour)} — {reason}</div>")
    return "".join(lines)


class ParcelCard(CbmWidget):
    """A short case file about the selected parcel.

    Attributes:
        colour: worst decision colour of the parcel (``""`` when none).
        blind: show the case without the system's decisions and the downloads that carry them (a QA
            inspection before the inspector's verdict); set it False to reveal them.
    """

    colour = t.Unicode("")
    blind = t.Bool(False)
    css_class = "cbm-card"

    def __init__(self, client: CbmClient, *, reviews: bool = True, **kwargs: Any) -> None:
        super().__init__(client)
        self.body = w.HTML('<div class="cbm-muted">Search or click a parcel on the map.</div>')
        self.decisions = w.HTML("")
        self.download_buttons = []
        for label, kind, media in DOWNLOADS:
            button = w.Button(description=label, tooltip=f"Prepare the {label} of this parcel",
                              _dom_classes=[f"cbm-download-{kind}"], layout=w.Layout(width="auto"))
            button.on_click(lambda _, k=kind, m=media: self.prepare_download(k, m))
            self.download_buttons.append(button)
        self.download_link = w.HTML("", _dom_classes=["cbm-download"])
        self.downloads = w.HBox([w.HTML("Download:"), *self.download_buttons, self.download_link],
                                _dom_classes=["cbm-downloads"])
        self.review = ReviewPanel(client)
        self.review.layout.display = "none"
        self.photos = PhotoStrip(client)
        self.children = [self.body, self.decisions, self.photos, self.downloads, self.status,
                         *([self.review] if reviews else [])]
        for name in ("aoi", "year", "parcel_id"):
            t.link((self, name), (self.photos, name))
            t.link((self, name), (self.review, name))
        t.dlink((self.photos, "photos"), (self.review, "photos"))
        self.observe(self._update, names=["aoi", "year", "parcel_id", "blind"])
        for name, value in kwargs.items():
            setattr(self, name, value)

    def _update(self, _change: dict[str, Any] | None = None) -> None:
        self.colour, self.decisions.value, self.download_link.value = "", "", ""
        self.downloads.layout.display = "none"
        self.review.show_decisions([])
        if not self._ready():
            return
        self.body.value = ""
        with self.guard(f"loading parcel {self.parcel_id}"):
            self.body.value = parcel_html(self.client.parcel(self.aoi, self.year, self.parcel_id))
            if self.blind:
                self.decisions.value = BLIND_NOTE
                return
            self.downloads.layout.display = None
            try:
                result = self.client.decisions(self.aoi, self.year, self.parcel_id)
            except CbmApiError as exc:
                message = html.escape(f"Decisions not available: {exc}")
                self.decisions.value = f'<div class="cbm-muted">{message}</div>'
                return
            decisions = list(result.get("decisions", []))
            self.colour = str(result.get("colour") or "")
            self.decisions.value = decisions_html(decisions, self.year)
            self.review.show_decisions(decisions)

    def prepare_download(self, kind: str, media_type: str) -> None:
        """Fetch the parcel's ``csv``/``gpkg``/``html`` file and offer it as a link to save."""
        self.download_link.value = ""
        if not self._ready():
            return
        with self.guard(f"preparing the {kind} of {self.parcel_id}"):
            name, content = self.client.download(self.aoi, self.year, self.parcel_id, kind)
            self.download_link.value = download_link(name, content, media_type)
