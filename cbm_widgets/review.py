"""``ReviewPanel``: the reviewer's verdict on a parcel's decision, with reason, comment and history.

One click records a verdict on the chosen condition: *Confirm*, *Override to green* / *to red*
(the reason box must say why; the API refuses an override without one), *Field visit*. Verdicts
are appended beside the automatic decision (never replacing it) and the history below shows
who said what and when, newest first.
"""

from __future__ import annotations

import html
import time
from typing import Any

import ipywidgets as w
import traitlets as t

from cbm_widgets.base import CbmWidget
from cbm_widgets.client import CbmClient
from cbm_widgets.map_layers import DECISION_COLOURS
from cbm_widgets.photos import photo_label
from cbm_widgets.plain import VERDICT_NAMES, condition_name

# button label -> (verdict, override colour), with a stable CSS class each
ACTIONS = (("Confirm", "confirm", None, "cbm-review-confirm"),
           ("Override → green", "override", "green", "cbm-review-green"),
           ("Override → red", "override", "red", "cbm-review-red"),
           ("Field visit", "field_visit", None, "cbm-review-visit"))


def history_html(rows: list[dict[str, Any]]) -> str:
    """The verdicts of a parcel, newest first (when, who, condition, verdict, reason, comment)."""
    if not rows:
        return '<div class="cbm-muted">Not reviewed yet.</div>'
    lines = []
    for r in rows:
        when = str(r.get("reviewed_at", ""))[:16].replace("T", " ")
        verdict = VERDICT_NAMES.get(str(r.get("verdict")), str(r.get("verdict")))
        if r.get("colour"):
            colour = str(r["colour"])
            verdict += f' to <span style="color:{DECISION_COLOURS.get(colour, "#999")}">{colour}</span>'
        extra = " — ".join(html.escape(str(r[k])) for k in ("reason", "comment") if r.get(k))
        who = html.escape(str(r["reviewer"]))
        cited = ", ".join(str(i) for i in r.get("photo_ids") or [])
        cites = f' <span class="cbm-review-cites">(cites photo {cited})</span>' if cited else ""
        lines.append(f'<div class="cbm-review-item">{html.escape(when)} · <b>{who}</b> · '
                     f"{html.escape(condition_name(str(r['condition'])))}: {verdict}"
                     f"{' — ' + extra if extra else ''}{cites}</div>")
    return "".join(lines)


class ReviewPanel(CbmWidget):
    """Record and show verdicts on the selected parcel's decisions.

    Attributes:
        condition: the condition the buttons act on (one of the parcel's decisions).
        history: the parcel's verdicts from the API, newest first.
        photos: the parcel's photos (from :class:`~cbm_widgets.photos.PhotoStrip`), offered for citing.
        last_saved_ms: round trip of the last save (request + history reload), for the bench.
    """

    condition = t.Unicode("")
    history: t.List[dict[str, Any]] = t.List()
    photos: t.List[dict[str, Any]] = t.List()
    last_saved_ms = t.Float(0.0)
    css_class = "cbm-review"

    def __init__(self, client: CbmClient, **kwargs: Any) -> None:
        super().__init__(client)
        self.picker = w.Dropdown(options=[], description="Condition", layout=w.Layout(width="100%"))
        self.buttons = []
        for label, verdict, colour, css in ACTIONS:
            button = w.Button(description=label, _dom_classes=[css], layout=w.Layout(width="auto"))
            button.on_click(lambda _, v=verdict, c=colour: self.submit(v, c))
            self.buttons.append(button)
        self.reason = w.Textarea(placeholder="Reason (needed to override): what the images show",
                                 layout=w.Layout(width="100%", height="48px"),
                                 _dom_classes=["cbm-review-reason"])
        self.comment = w.Textarea(placeholder="Comment (optional)",
                                  layout=w.Layout(width="100%", height="36px"),
                                  _dom_classes=["cbm-review-comment"])
        self.cite = w.VBox([], _dom_classes=["cbm-review-cite"])
        self._boxes: dict[int, w.Checkbox] = {}
        self.saved = w.HTML("", _dom_classes=["cbm-review-saved"])
        self.list = w.HTML("", _dom_classes=["cbm-review-history"])
        self.children = [w.HTML("<b>Review</b>"), self.picker, self.reason, self.comment, self.cite,
                         w.HBox(self.buttons, _dom_classes=["cbm-review-buttons"]), self.saved, self.status,
                         self.list]
        self.picker.observe(lambda change: setattr(self, "condition", change["new"] or ""), names="value")
        self.observe(self._update, names=["aoi", "year", "parcel_id"])
        self.observe(self._update_cite, names="photos")
        for name, value in kwargs.items():
            setattr(self, name, value)

    def show_decisions(self, decisions: list[dict[str, Any]]) -> None:
        """Offer the parcel's conditions (worst first as the API lists them)."""
        options = [(f"{condition_name(str(d['condition']))} ({d.get('colour', '')})", str(d["condition"]))
                   for d in decisions]
        keep = self.condition if self.condition in [v for _, v in options] else None
        self.picker.options = options
        self.picker.value = keep or (options[0][1] if options else None)
        self.layout.display = None if options else "none"

    def _update_cite(self, _change: dict[str, Any] | None = None) -> None:
        """One checkbox per photo of the parcel: the ticked ones are cited by the next verdict."""
        self._boxes = {int(p["id"]): w.Checkbox(value=False, description=photo_label(p), indent=False,
                                                _dom_classes=["cbm-cite-photo", f"cbm-cite-photo-{p['id']}"])
                       for p in self.photos}
        heading = w.HTML('<span class="cbm-muted">Cite photos as the reason:</span>')
        self.cite.children = (heading, *self._boxes.values()) if self._boxes else ()

    @property
    def cited(self) -> list[int]:
        """Ids of the ticked photos."""
        return [i for i, box in self._boxes.items() if box.value]

    def cite_photos(self, ids: list[int]) -> None:
        """Tick these photos (and untick the others), as the user would."""
        for i, box in self._boxes.items():
            box.value = i in ids

    def _update(self, _change: dict[str, Any] | None = None) -> None:
        self.saved.value, self.history, self.list.value = "", [], ""
        if not self._ready():
            return
        with self.guard(f"loading the reviews of {self.parcel_id}"):
            self.history = list(self.client.reviews(self.aoi, self.year, self.parcel_id).get("history", []))
        self.list.value = history_html(self.history)

    def submit(self, verdict: str, colour: str | None = None) -> None:
        """Record a verdict on :attr:`condition` with the reason and comment typed."""
        self.saved.value = ""
        if not (self._ready() and self.condition):
            self.error = "Select a parcel with a decision first."
            return
        if verdict == "override" and len(self.reason.value.strip()) < 3:
            self.error = "Write the reason first: an override needs to say why the decision is wrong."
            return
        t0 = time.perf_counter()
        with self.guard("saving the review"):
            cited = self.cited
            self.client.review(self.aoi, self.year, self.parcel_id, self.condition, verdict, colour=colour,
                               reason=self.reason.value.strip(), comment=self.comment.value.strip(),
                               photo_ids=cited)
            self.history = list(self.client.reviews(self.aoi, self.year, self.parcel_id).get("history", []))
            self.list.value = history_html(self.history)
            self.reason.value = self.comment.value = ""
            self.cite_photos([])
            name = VERDICT_NAMES.get(verdict, verdict) + (f" to {colour}" if colour else "")
            name += f", citing photo {', '.join(map(str, cited))}" if cited else ""
            what = html.escape(f"{condition_name(self.condition)} {name}")
            self.saved.value = f'<div class="cbm-saved">Saved: {what}.</div>'
        self.last_saved_ms = (time.perf_counter() - t0) * 1000
