"""QA inspections, estimates and the stored report through the real API (issue 25).

The tiny area (``apitools``) has decisions for condition ``mown_once``: A red, B green (C and D
none). Each test draws its own census sample of both decisions, so tests do not share units.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from apitools import Server, get_json

from backend.db import connect
from backend.parcels.sets import ParcelSetKey
from backend.qa import inspectors, report
from backend.qa.samples import draw_sample
from backend.qa.sampling import SampleSpec

BASE = "/sets/tt/2025/qa"


@pytest.fixture()
def sample(api: Server) -> Iterator[int]:
    """A census sample of A and B inspected by consumer and analyst (assignments removed afterwards)."""
    with connect(api.settings) as conn:
        r = draw_sample(conn, ParcelSetKey("tt", 2025), SampleSpec(("mown_once",), size=2, seed=1),
                        created_by="t")
        inspectors.assign(conn, ParcelSetKey("tt", 2025), int(r["id"]), ["consumer", "analyst"],
                          assigned_by="t")
    yield int(r["id"])
    with connect(api.settings) as conn:  # open units would hide decisions from them in other tests
        conn.execute("DELETE FROM qa_inspectors WHERE sample_id = %s", (r["id"],))


def _inspect(api: Server, sample: int, who: str = "consumer", **body: object) -> tuple[int, dict]:
    full = {"sample_id": sample, "pid": "A", "condition": "mown_once", "truth": "compliant",
            "method": "field_visit", "inspected_on": "2025-07-01", **body}
    with api.client(who) as c:
        r = c.post(f"{BASE}/inspections", json=full)
    return r.status_code, r.json()


def test_decision_hidden_until_the_inspection_is_recorded(api: Server, sample: int) -> None:
    before = get_json(api, f"{BASE}/units", sample=sample)
    assert [u["pid"] for u in before["units"]] == ["A", "B"] and before["inspected"] == 0
    for u in before["units"]:
        assert not u["inspected"]
        assert not {"colour", "stratum", "incl_prob", "truth"} & set(u), u  # nothing tells the colour
    status, answer = _inspect(api, sample, comment="sward cut, bales on the field")
    assert status == 201, answer
    assert (answer["system_colour"], answer["agrees"], answer["inspector"]) == ("red", False, "consumer")
    after = {u["pid"]: u for u in get_json(api, f"{BASE}/units", sample=sample)["units"]}
    assert after["A"]["inspected"] and after["A"]["colour"] == "red" and after["A"]["truth"] == "compliant"
    assert after["A"]["comment"] == "sward cut, bales on the field"
    assert not after["B"]["inspected"] and "colour" not in after["B"]


def test_only_sampled_parcels_and_valid_values(api: Server, sample: int) -> None:
    status, answer = _inspect(api, sample, pid="C")
    assert status == 404 and "not in QA sample" in answer["detail"]
    assert _inspect(api, sample, condition="other")[0] == 404
    assert _inspect(api, sample, truth="maybe")[0] == 422
    assert _inspect(api, sample, method="guess")[0] == 422
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    status, answer = _inspect(api, sample, inspected_on=tomorrow)
    assert status == 422 and "future" in answer["detail"]
    assert _inspect(api, 999_999)[0] == 404
    assert get_json(api, f"{BASE}/units", sample=sample)["inspected"] == 0  # nothing stored


def test_no_grant_no_inspection(api: Server, sample: int) -> None:
    status, answer = _inspect(api, sample, who="outsider")
    assert status == 403 and "no access" in answer["detail"]
    with api.client("outsider") as c:
        assert c.get(f"{BASE}/units", params={"sample": sample}).status_code == 403
        assert c.get(f"{BASE}/estimates", params={"sample": sample}).status_code == 403
    assert get_json(api, f"{BASE}/units", sample=sample)["inspected"] == 0


def test_estimates_and_stored_report(api: Server, sample: int) -> None:
    status, first = _inspect(api, sample, truth="compliant")  # A red, truly compliant: wrong red
    assert status == 201
    with api.client() as c:
        sheet = c.post(f"{BASE}/inspections/{first['id']}/attachments", files={"file": ("sheet.pdf", PDF)})
    assert sheet.status_code == 201, sheet.text
    assert _inspect(api, sample, pid="B", truth="compliant", method="vhr_image", who="analyst")[0] == 201
    est = get_json(api, f"{BASE}/estimates", sample=sample)
    m = est["conditions"]["mown_once"]["metrics"]
    assert (m["agreement"]["k"], m["agreement"]["m"], m["agreement"]["estimate"]) == (1, 2, 0.5)
    assert m["wrong_red"]["estimate"] == 1.0 and m["wrong_green"]["estimate"] == 0.0
    assert [d["pid"] for d in est["disagreements"]] == ["A"]
    assert [e["filename"] for e in est["disagreements"][0]["evidence"]] == ["sheet.pdf"]
    with api.client() as c:
        assert c.get(f"{BASE}/report.html", params={"sample": sample}).status_code == 404  # none stored yet
    with connect(api.settings) as conn:
        stored = report.build(conn, ParcelSetKey("tt", 2025), sample, dashboard_url="http://dash/voila/render")
    with api.client() as c:
        page = c.get(f"{BASE}/report.html", params={"sample": sample})
        pdf = c.get(f"{BASE}/report.pdf", params={"sample": sample})
    assert page.status_code == 200 and page.headers["x-report-sha256"] == stored["sha256"]
    assert 'href="http://dash/voila/render/review.ipynb?aoi=tt&amp;year=2025&amp;parcel_id=A"' in page.text
    assert "SYNTHETIC" not in page.text  # tt is not the demo area
    assert f"sheet.pdf (SHA-256 {sheet.json()['sha256'][:12]}…)" in page.text  # the evidence, identified
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    listed = get_json(api, f"{BASE}/samples")["samples"]
    assert any(s["id"] == sample and s["n_inspected"] == 2 for s in listed)


def test_inspection_widget_hides_the_decision_until_saved(api: Server, sample: int) -> None:
    from apitools import PASSWORDS

    from cbm_widgets.client import CbmClient
    from cbm_widgets.qa import QaInspection

    panel = QaInspection(CbmClient(api.url, "consumer", PASSWORDS["consumer"]), aoi="tt", year=2025,
                         sample_id=sample)
    panel.load()
    assert [v for _, v in panel.units.options] == ["A|mown_once", "B|mown_once"]
    panel.units.value = "B|mown_once"
    assert "B" in panel.case.value and "System decision" not in panel.case.value + panel.result.value
    assert "green" not in panel.case.value + panel.result.value
    assert panel.card.blind and "stay hidden" in panel.card.decisions.value  # the workstation's card, blind
    assert "B" in panel.card.body.value and panel.card.downloads.layout.display == "none"
    assert panel.submit() is None and "verdict first" in panel.result.value  # nothing chosen: nothing sent
    panel.truth.value, panel.method.value = "not_compliant", "photo"
    clip = _jpeg()
    now = datetime.now(UTC)  # what the browser sends, as ipywidgets holds it
    panel.files.value = ({"name": "clip.jpg", "type": "image/jpeg", "size": len(clip),
                          "content": memoryview(clip), "last_modified": now},
                         {"name": "notes.txt", "type": "text/plain", "size": 5,
                          "content": memoryview(b"words"), "last_modified": now})
    answer = panel.submit()
    assert answer is not None and answer["system_colour"] == "green" and answer["agrees"] is False
    assert "System decision: <b class='cbm-qa-colour'>green</b>" in panel.result.value
    assert len(answer["attachments_refused"]) == 1 and "Not attached: notes.txt" in panel.result.value
    assert not panel.card.blind and "green" in panel.card.decisions.value  # revealed once inspected
    assert panel.card.downloads.layout.display is None
    assert [label for label, _ in panel.evidence.options][1:] == [f"clip.jpg ({len(clip) / 1000:.0f} kB)"]
    panel.evidence.value = panel.evidence.options[1][1]
    assert 'download="tt_2025_B_clip.jpg"' in panel.evidence_link.value and panel.files.value == ()
    assert "1 of 2 units inspected" in panel.banner.value
    panel.units.value = "A|mown_once"  # still blind for the other unit
    assert "System decision" not in panel.case.value + panel.result.value
    assert panel.card.blind and "red" not in panel.card.decisions.value
    assert panel.evidence.layout.display == "none"
    assert "once your verdict is saved" in panel.result.value
    panel.units.value = "B|mown_once"
    assert panel.next_unit() == "A|mown_once" and panel.truth.value is None  # the open one, no verdict yet


def test_inspection_app_runs_from_its_url(api: Server, sample: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from apitools import PASSWORDS
    from nbclient import NotebookClient

    monkeypatch.setenv("CBM_API_URL", api.url)
    monkeypatch.setenv("CBM_API_USER", "consumer")
    monkeypatch.setenv("CBM_API_PASSWORD", PASSWORDS["consumer"])
    monkeypatch.setenv("QUERY_STRING", f"aoi=tt&year=2025&sample={sample}")
    nb = nbformat.read("apps/qa_inspection.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    out = nb.cells[1]["outputs"]
    assert not [o for o in out if o["output_type"] == "error"], out
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    texts = " ".join(str(m["state"].get("value", "")) + " " + str(m["state"].get("_options_labels", ""))
                     for m in state.values())
    assert f"QA sample {sample} of tt 2025: 0 of 2 units inspected" in texts
    assert "A · mown_once" in texts and "System decision" not in texts


def _jpeg(colour: str = "green") -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(buf, "JPEG")
    return buf.getvalue()


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def test_inspection_attachments(api: Server, sample: int) -> None:
    status, answer = _inspect(api, sample, method="vhr_image")
    assert status == 201, answer
    files = f"{BASE}/inspections/{answer['id']}/attachments"
    clip = _jpeg()
    with api.client() as c:
        r1 = c.post(files, files={"file": ("clip 2025-06-30.jpg", clip, "image/jpeg")})
        r2 = c.post(files, files={"file": ("../../field sheet", PDF, "application/octet-stream")})
        again = c.post(files, files={"file": ("copy.jpg", clip, "image/jpeg")})
        text = c.post(files, files={"file": ("notes.jpg", b"just words", "image/jpeg")})
        empty = c.post(files, files={"file": ("empty.pdf", b"", "application/pdf")})
        unknown = c.post(f"{BASE}/inspections/999999999/attachments", files={"file": ("a.pdf", PDF)})
    assert r1.status_code == 201, r1.text
    assert (r1.json()["filename"], r1.json()["media_type"], r1.json()["bytes"]) == ("clip_2025-06-30.jpg",
                                                                                  "image/jpeg", len(clip))
    assert r2.status_code == 201 and r2.json()["filename"] == "field_sheet.pdf"  # type read from the bytes
    assert r2.json()["media_type"] == "application/pdf"
    assert again.status_code == 409 and "already has this file" in again.json()["detail"]
    assert text.status_code == 422 and "not a JPEG, PNG, TIFF or PDF" in text.json()["detail"]
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]
    assert unknown.status_code == 404 and "no QA inspection" in unknown.json()["detail"]
    with api.client("analyst") as c:  # an inspector of the sample, but not who recorded it
        other = c.post(files, files={"file": ("mine.pdf", PDF)})
    assert other.status_code == 403 and "recorded by consumer" in other.json()["detail"]
    with api.client("outsider") as c:
        assert c.post(files, files={"file": ("x.pdf", PDF)}).status_code == 403
        assert c.get(files).status_code == 403
    listed = get_json(api, files)["attachments"]
    assert [f["filename"] for f in listed] == ["clip_2025-06-30.jpg", "field_sheet.pdf"]
    unit = {u["pid"]: u for u in get_json(api, f"{BASE}/units", sample=sample)["units"]}["A"]
    assert unit["inspection_id"] == answer["id"] and unit["attachments"] == listed
    with api.client("analyst") as c:  # readers of the set read the evidence
        got = c.get(listed[0]["url"])
    assert got.status_code == 200 and got.content == clip and got.headers["content-type"] == "image/jpeg"
    assert 'filename="tt_2025_A_clip_2025-06-30.jpg"' in got.headers["content-disposition"]
    with api.client() as c:
        assert c.get(f"{files}/999999").status_code == 404
        assert c.get(f"{BASE.replace('tt', 'zz')}/inspections/{answer['id']}/attachments").status_code == 403


def test_attachment_limits(api: Server, sample: int, tmp_path: object) -> None:
    from backend.errors import LimitExceeded
    from backend.qa import attachments
    from backend.settings import Settings

    status, answer = _inspect(api, sample)
    assert status == 201
    small = Settings(**{**api.settings.model_dump(), "photo_max_bytes": 1000})
    with connect(api.settings) as conn:
        user_id = conn.execute("SELECT id FROM users WHERE username = 'consumer'").fetchone()["id"]
        with pytest.raises(attachments.AttachmentTooLarge, match="CBM_PHOTO_MAX_BYTES"):
            attachments.attach(conn, small, ParcelSetKey("tt", 2025), answer["id"], "big.pdf",
                               PDF + b" " * 1000, user="consumer", user_id=user_id)
        for i in range(attachments.MAX_PER_INSPECTION):
            attachments.attach(conn, api.settings, ParcelSetKey("tt", 2025), answer["id"], f"p{i}.pdf",
                               PDF + str(i).encode(), user="consumer", user_id=user_id)
        with pytest.raises(LimitExceeded, match="one PDF"):
            attachments.attach(conn, api.settings, ParcelSetKey("tt", 2025), answer["id"], "one-more.pdf",
                               PDF + b"more", user="consumer", user_id=user_id)
        n = conn.execute("SELECT count(*) AS n FROM qa_attachments WHERE inspection_id = %s",
                         (answer["id"],)).fetchone()["n"]
    assert n == attachments.MAX_PER_INSPECTION
