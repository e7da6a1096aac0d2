"""The annual QA report (issue 25): content, case-file links, the stored audit record, synthetic notice."""

from __future__ import annotations

from datetime import date

import psycopg
from test_qa_sampling import make_set

from backend.db import queries_qa as q
from backend.qa import report
from backend.qa.samples import draw_sample
from backend.qa.sampling import SampleSpec


def _inspect_all(conn: psycopg.Connection, sample_id: int, truth: str) -> list[dict]:
    units = q.units(conn, sample_id)
    q.insert_inspections(conn, sample_id, [
        {"parcel_id": u["parcel_id"], "condition": u["condition"], "truth": truth, "method": "photo",
         "inspector": "Ann", "inspected_on": date(2025, 7, 1), "comment": "", "recorded_by": "t"}
        for u in units])
    return units


def test_report_lists_design_estimates_and_disagreements(conn: psycopg.Connection) -> None:
    key = make_set(conn, 300, ("mown",))
    s = draw_sample(conn, key, SampleSpec(("mown",), size=30, strata=("colour",), seed=5))
    units = _inspect_all(conn, s["id"], "compliant")  # every red decision is then a disagreement
    reds = sorted(u["pid"] for u in units if u["colour"] == "red")
    built = report.build(conn, key, s["id"], dashboard_url="https://cbm.example/voila/render/")
    page = built["html"]
    assert "SYNTHETIC" not in page
    for words in ("Sample design", "stratified", "seed", "5 (numpy PCG64)", "2025.t", "Confusion table",
                  "Wrong green rate", "Wilson", f"Disagreements ({len(reds)})", "30 of 30 sampled units"):
        assert words.lower() in page.lower(), words
    for pid in reds:
        assert (f'href="https://cbm.example/voila/render/review.ipynb?aoi={key.aoi}&amp;year=2025&amp;'
                f'parcel_id={pid}"') in page
    assert page.count("<circle") == 5  # one estimate dot per measure
    row = report.stored(conn, key, s["id"])
    assert row["id"] == built["id"] and row["html"] == page and row["sha256"] == built["sha256"]
    assert row["versions"]["catalogue_version"] == "2025.t" and row["versions"]["markers"] == {"mowing": "m1"}
    again = report.build(conn, key, s["id"])
    assert again["id"] != built["id"] and report.stored(conn, key, s["id"])["id"] == again["id"]


def test_report_on_the_demo_area_says_synthetic(conn: psycopg.Connection) -> None:
    key = make_set(conn, 50, ("mown",), aoi="demo", year=2031)
    s = draw_sample(conn, key, SampleSpec(("mown",), size=10, seed=1))
    _inspect_all(conn, s["id"], "cannot_tell")
    page = report.build(conn, key, s["id"])["html"]
    assert "SYNTHETIC DATA" in page and s["design"]["synthetic"] is True
    # truth never known: only the yellow and cannot-tell shares have a domain (and a dot)
    assert page.count("<circle") == 2 and page.count("no unit in the domain") == 3
    assert report.to_pdf(page).startswith(b"%PDF")
    from PIL import ImageFile

    assert ImageFile.LOAD_TRUNCATED_IMAGES is False  # WeasyPrint's import set it: put back
