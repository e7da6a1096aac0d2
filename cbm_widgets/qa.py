"""QA inspection panel: the sampled parcels of a QA sample and a blind verdict form (issue 25).

The case of a sampled parcel is the review workstation's case file (:class:`~cbm_widgets.card.ParcelCard`:
identity, crop, area, geotagged photos) in its blind form: it shows no system decision and offers no
download that carries one until the inspector has saved a verdict for every sampled condition of
the parcel (the API lists uninspected units without colour, stratum or inclusion probability,
and hides their decisions from the sample's inspectors on every route). The verdict form takes
the files the true situation was established with (VHR clip, field sheet, photo: JPEG, PNG,
TIFF or PDF), uploaded with the inspection; an inspected unit lists its attachments to save.
"""

from __future__ import annotations

import html
from datetime import date
from typing import Any
from urllib.parse import parse_qs

import ipywidgets as w
from traitlets import Int, Unicode

from cbm_widgets.base import download_link
from cbm_widgets.card import ParcelCard
from cbm_widgets.client import CbmClient
from cbm_widgets.errors import CbmApiError
from cbm_widgets.plain import condition_name

TRUTHS = (("compliant", "compliant"), ("not compliant", "not_compliant"), ("cannot tell", "cannot_tell"))
METHODS = (("field visit", "field_visit"), ("VHR image", "vhr_image"), ("geotagged photo", "photo"))
ACCEPT = ".jpg,.jpeg,.png,.tif,.tiff,.pdf"


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
        self.card = ParcelCard(client, reviews=False, blind=True)  # the workstation's case file, blind
        self.photos = self.card.photos  # the parcel's geotagged photos with their checks (issue 26)
        self.truth = w.ToggleButtons(options=TRUTHS, value=None, _dom_classes=["cbm-qa-truth"])
        self.method = w.Dropdown(options=METHODS, value="field_visit", description="Method")
        self.inspector = w.Text(description="Inspector", placeholder="your name (default: login)")
        self.when = w.DatePicker(description="Date", value=date.today())
        self.comment = w.Textarea(description="Comment", layout=w.Layout(width="95%"))
        self.files = w.FileUpload(accept=ACCEPT, multiple=True, description="Attach evidence",
                                  layout=w.Layout(width="auto", align_self="flex-start"),
                                  _dom_classes=["cbm-qa-files"])
        self.evidence = w.Dropdown(options=[], description="Evidence", _dom_classes=["cbm-qa-evidence"],
                                   layout=w.Layout(display="none"))
        self.evidence_link = w.HTML(_dom_classes=["cbm-download"])
        self.save = w.Button(description="Save verdict", button_style="primary", _dom_classes=["cbm-qa-save"])
        self.result = w.HTML(_dom_classes=["cbm-qa-result"])
        self.next = w.Button(description="Next unit to inspect", icon="forward", _dom_classes=["cbm-qa-next"],
                             layout=w.Layout(width="auto"))
        form = w.VBox([self.case, self.truth, self.method, self.inspector, self.when, self.comment,
                       self.files, w.HBox([self.save, self.next]), self.result,
                       w.HBox([self.evidence, self.evidence_link])])
        self.children = [self.banner, w.HBox([self.units, form]), self.card]
        self.units.observe(lambda ch: setattr(self, "unit", ch["new"] or ""), "value")
        self.observe(lambda _: self._update_case(), "unit")
        self.save.on_click(lambda _: self.submit())
        self.next.on_click(lambda _: self.next_unit())
        self.evidence.observe(lambda ch: self._prepare_evidence(ch["new"]), "value")
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
        self._show_card(u)
        self._show_evidence(u)
        if u is None:
            self.case.value, self.result.value = "", ""
            return
        name = html.escape(condition_name(str(u["condition"])))
        self.case.value = (f"<p>Inspect parcel <b class='cbm-pid'>{html.escape(u['pid'])}</b> for "
                           f"<b title='{html.escape(u['condition'])}'>{name}</b>: what is the true "
                           "situation?</p>")
        if u["inspected"]:
            self.result.value = self._decision_text(u.get("colour"), u.get("truth"))
            return
        self.truth.value, self.comment.value, self.files.value = None, "", ()  # a new unit starts empty
        self.result.value = "<i>The system's decision is shown once your verdict is saved.</i>"

    def _show_card(self, unit: dict[str, Any] | None) -> None:
        """The parcel's case file; blind while any of its sampled conditions is not inspected."""
        pid = unit["pid"] if unit else ""
        open_units = [u for u in self._units.values() if u["pid"] == pid and not u["inspected"]]
        with self.card.hold_trait_notifications():
            self.card.aoi, self.card.year = self.aoi, self.year
            self.card.blind = bool(open_units) or not pid
            self.card.parcel_id = pid

    def _show_evidence(self, unit: dict[str, Any] | None) -> None:
        files = (unit or {}).get("attachments") or []
        self.evidence_link.value = ""
        self.evidence.options = [("choose a file to save", "")] + [
            (f"{f['filename']} ({int(f['bytes']) / 1000:.0f} kB)", f["url"]) for f in files]
        self.evidence.value = ""
        self.evidence.layout.display = None if files else "none"

    def _prepare_evidence(self, url: str) -> None:
        """Fetch the chosen attachment and offer it as a link to save."""
        self.evidence_link.value = ""
        u = self._units.get(self.unit) or {}
        f = next((f for f in u.get("attachments") or [] if f["url"] == url), None)
        if f is None:
            return
        try:
            content = self.client.fetch_bytes(url)
        except CbmApiError as exc:
            self.evidence_link.value = f"<b>{html.escape(str(exc))}</b>"
            return
        name = f"{self.aoi}_{self.year}_{u['pid']}_{f['filename']}"
        self.evidence_link.value = download_link(name, content, str(f["media_type"]))

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
        refused = self._attach(int(answer["id"]))
        answer["attachments_refused"] = refused
        selected = self.unit
        self.load()
        self.units.value = selected
        self._update_case()
        if refused:
            self.result.value += "".join(f"<p><b>Not attached: {html.escape(r)}</b></p>" for r in refused)
        return answer

    def _attach(self, inspection_id: int) -> list[str]:
        """Upload the chosen files to the saved inspection; returns one message per refused file."""
        refused = []
        path = f"/sets/{self.aoi}/{self.year}/qa/inspections/{inspection_id}/attachments"
        for f in self.files.value:
            try:
                self.client.post_file(path, f["name"], bytes(f["content"]), f.get("type") or "")
            except CbmApiError as exc:
                refused.append(f"{f['name']}: {exc}")
        self.files.value = ()
        return refused
