"""QA inspection panel: the sampled parcels of a QA sample and a blind verdict form (issue 25).

The case shown for a sampled parcel (pid, condition, declared crop, area) never includes the
system's decision until the inspector has saved a verdict for it: the API lists uninspected
units without colour, stratum or inclusion probability, and only the answer to a saved
inspection (or a unit already inspected) shows the decision.
"""

from __future__ import annotations

import html
from datetime import date
from typing import Any
from urllib.parse import parse_qs

import ipywidgets as w
from traitlets import Int, Unicode

from cbm_widgets.client import CbmClient
from cbm_widgets.errors import CbmApiError
from cbm_widgets.photos import PhotoStrip

TRUTHS = (("compliant", "compliant"), ("not compliant", "not_compliant"), ("cannot tell", "cannot_tell"))
METHODS = (("field visit", "field_visit"), ("VHR image", "vhr_image"), ("geotagged photo", "photo"))


class QaInspection(w.VBox):
    """Sampled units on the left, the case and the verdict form on the right."""

    aoi = Unicode("")
    year = Int(0)
    sample_id = Int(0)
    unit = Unicode("", help="'pid|condition' of the selected unit")

    def __init__(self, client: CbmClient, **kwargs: Any) -> None:
        """Build the children once; call :meth:`load` (or set aoi/year/sample_id) to fill them."""
        super().__init__(_dom_classes=["cbm-qa"])
        self.client = client
        self._units: dict[str, dict[str, Any]] = {}
        self.banner = w.HTML(_dom_classes=["cbm-qa-banner"])
        self.units = w.Select(options=[], rows=14, layout=w.Layout(width="22em"),
                              _dom_classes=["cbm-qa-units"])
        self.case = w.HTML(_dom_classes=["cbm-qa-case"])
        self.photos = PhotoStrip(client)  # the parcel's geotagged photos with their checks (issue 26)
        self.truth = w.ToggleButtons(options=TRUTHS, value=None, _dom_classes=["cbm-qa-truth"])
        self.method = w.Dropdown(options=METHODS, value="field_visit", description="Method")
        self.inspector = w.Text(description="Inspector", placeholder="your name (default: login)")
        self.when = w.DatePicker(description="Date", value=date.today())
        self.comment = w.Textarea(description="Comment", layout=w.Layout(width="95%"))
        self.save = w.Button(description="Save verdict", button_style="primary", _dom_classes=["cbm-qa-save"])
        self.result = w.HTML(_dom_classes=["cbm-qa-result"])
        self.next = w.Button(description="Next unit to inspect", icon="forward", _dom_classes=["cbm-qa-next"])
        form = w.VBox([self.case, self.truth, self.method, self.inspector, self.when, self.comment,
                       w.HBox([self.save, self.next]), self.result])
        self.children = [self.banner, w.HBox([self.units, form]), self.photos]
        self.units.observe(lambda ch: setattr(self, "unit", ch["new"] or ""), "value")
        self.observe(lambda _: self._update_case(), "unit")
        self.save.on_click(lambda _: self.submit())
        self.next.on_click(lambda _: self.next_unit())
        for k, v in kwargs.items():
            setattr(self, k, v)

    @classmethod
    def from_query(cls, client: CbmClient, query_string: str) -> QaInspection:
        """A panel for ``?aoi=&year=&sample=`` of the page URL; a bad value gives a message."""
        q = {k: v[0].strip() for k, v in parse_qs(query_string).items() if v}
        panel = cls(client, aoi=q.get("aoi", "demo"))
        try:
            panel.year, panel.sample_id = int(q.get("year", "2025")), int(q.get("sample", "1"))
        except ValueError:
            panel.banner.value = ("<b>year and sample in the URL must be numbers, "
                                  "e.g. ?aoi=demo&amp;year=2025&amp;sample=1</b>")
        return panel

    def load(self) -> None:
        """Fetch the sample's units; a short message instead of a traceback on errors."""
        if not self.sample_id:
            return
        try:
            data = self.client.get_json(f"/sets/{self.aoi}/{self.year}/qa/units", sample=self.sample_id)
        except CbmApiError as exc:
            self.banner.value = f"<b>{html.escape(str(exc))}</b>"
            return
        self._units = {f"{u['pid']}|{u['condition']}": u for u in data["units"]}
        synthetic = "<b>SYNTHETIC demo data.</b> " if data.get("synthetic") else ""
        self.banner.value = (f"{synthetic}QA sample {self.sample_id} of {html.escape(self.aoi)} {self.year}: "
                             f"{data['inspected']} of {data['total']} units inspected")
        self.units.options = [((" ✓ " if u["inspected"] else "   ") + f"{u['pid']} · {u['condition']}", k)
                              for k, u in self._units.items()]
        if self.unit not in self._units:
            self.next_unit()

    def next_unit(self) -> str:
        """Select the next unit not inspected yet (after the selected one, wrapping); ``""`` if none."""
        keys = list(self._units)
        start = keys.index(self.unit) + 1 if self.unit in self._units else 0
        for k in keys[start:] + keys[:start]:
            if not self._units[k]["inspected"]:
                self.units.value = k
                return k
        if keys:
            self.result.value = "<b>Every unit of this sample is inspected.</b>"
        return ""

    def _update_case(self) -> None:
        u = self._units.get(self.unit)
        self._show_photos(u)
        if u is None:
            self.case.value, self.result.value = "", ""
            return
        crop = html.escape(f"{u.get('cropname') or ''} ({u.get('cropcode') or ''})")
        self.case.value = (f"<h3 class='cbm-pid'>{html.escape(u['pid'])}</h3><p>Condition "
                           f"<b>{html.escape(u['condition'])}</b>; declared crop {crop}, "
                           f"{float(u['area_m2']) / 10_000:.2f} ha</p>")
        if u["inspected"]:
            self.result.value = self._decision_text(u.get("colour"), u.get("truth"))
            return
        self.truth.value, self.comment.value = None, ""  # a new unit starts without a verdict
        self.result.value = "<i>The system's decision is shown once your verdict is saved.</i>"

    def _show_photos(self, unit: dict[str, Any] | None) -> None:
        """The unit's parcel's photos (thumbnails with checks; no decision in them)."""
        self.photos.aoi, self.photos.year = self.aoi, self.year
        self.photos.parcel_id = unit["pid"] if unit else ""

    @staticmethod
    def _decision_text(colour: str | None, truth: str | None) -> str:
        return (f"<p>Your verdict: <b>{html.escape(str(truth))}</b>. System decision: "
                f"<b class='cbm-qa-colour'>{html.escape(str(colour))}</b>.</p>")

    def submit(self) -> dict[str, Any] | None:
        """Save the verdict of the selected unit; then reveal the system's decision."""
        u = self._units.get(self.unit)
        if u is None or self.truth.value is None:
            self.result.value = "<b>Select a parcel and a verdict first.</b>"
            return None
        body = {"sample_id": self.sample_id, "pid": u["pid"], "condition": u["condition"],
                "truth": self.truth.value, "method": self.method.value,
                "inspected_on": (self.when.value or date.today()).isoformat(), "comment": self.comment.value}
        if self.inspector.value.strip():
            body["inspector"] = self.inspector.value.strip()
        try:
            path = f"/sets/{self.aoi}/{self.year}/qa/inspections"
            answer: dict[str, Any] = self.client.post_json(path, body)
        except CbmApiError as exc:
            self.result.value = f"<b>{html.escape(str(exc))}</b>"
            return None
        selected = self.unit
        self.load()
        self.units.value = selected
        self._update_case()
        return answer
