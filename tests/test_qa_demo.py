"""The demo's quality assessment (issue 25 item 5) on the SYNTHETIC demo area that ``cbm demo run`` built.

Runs ``run_demo_qa`` in a transaction that is rolled back (when ``cbm demo run`` already stored the
demo's sample, that one is checked), so the shared demo database is left as it was. Checked
against independent computations: each inspection's truth against the ground-truth file read
here (its per-rule ``compliance`` flags; for an older file without them, the events evaluated
here), the agreement against a hand-weighted estimate (``N_h / m_h``), the report's hash and its
SYNTHETIC notice; a second run reuses the sample.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from backend.db import connect
from backend.db import queries_qa as q
from backend.demo.pipeline import DEMO_AOI, DEMO_CATALOGUE, DEMO_SEED
from backend.markers import load_catalogue
from backend.parcels.sets import ParcelSetKey
from backend.qa.demo import CREATED_BY, run_demo_qa
from backend.reviews.service import run_of
from backend.settings import load_settings

KEY = ParcelSetKey(DEMO_AOI, 2025)


def _complies(cond: Any, rec: dict[str, Any]) -> bool:
    """Whether a parcel truly meets a condition, from the events of a ground truth without flags."""
    if cond.rule == "crop_consistency":
        return rec["declared_crop_code"] == rec["true_crop_code"]
    lo, hi = cond.window
    events = sorted((date.fromisoformat(e["date"]), e["type"]) for e in rec["events"])
    if cond.rule == "event_count":
        return sum(kind == cond.marker and lo <= day <= hi for day, kind in events) >= cond.min_count
    longest, start = 0, None
    for day, kind in [*events, (date(2025, 12, 31) + timedelta(days=1), "bare_soil_end")]:
        if kind == "bare_soil_start":
            start = day
        elif kind == "bare_soil_end" and start is not None:
            longest, start = max(longest, (min(day - timedelta(days=1), hi) - max(start, lo)).days + 1), None
    return longest <= cond.max_days


def test_demo_qa_inspects_with_the_ground_truth(tmp_path: Path) -> None:
    s = load_settings()
    truth_path = s.var_dir / "demo" / "ground_truth.json"
    if not truth_path.exists():
        pytest.fail("the demo area is missing: run `cbm demo run` (`make test` does)")
    truth = {p["pid"]: p for p in json.loads(truth_path.read_text())["parcels"]}
    cat, out = load_catalogue(DEMO_CATALOGUE), tmp_path / "qa.html"
    conn = connect(s)
    try:
        line = run_demo_qa(conn, KEY, cat, truth_path, out, seed=DEMO_SEED)
        set_id, run = run_of(conn, KEY)
        sample = q.sample_by(conn, set_id, run, CREATED_BY)
        assert sample is not None and "SYNTHETIC" in line, line
        units = q.units(conn, sample["id"])
        design = q.sample(conn, sample["id"])["design"]  # type: ignore[index]
        rep = q.latest_report(conn, sample["id"])
        again = run_demo_qa(conn, KEY, cat, truth_path, out, seed=DEMO_SEED)
        n_samples = conn.execute("SELECT count(*) AS n FROM qa_samples WHERE set_id = %s AND run_id = %s "
                                 "AND created_by = %s", (set_id, run, CREATED_BY)).fetchone()["n"]
    finally:
        conn.rollback()
        conn.close()
    assert f"sample {sample['id']} of marker run {run} is up to date" in again and n_samples == 1
    conditions = {u["condition"] for u in units}
    assert conditions == {c.id for c in cat.conditions} and len(units) == 100 * len(conditions)
    for u in units:  # every unit inspected with the generator's truth (broken rows: cannot tell)
        rec = truth.get(u["pid"])
        ok = None if rec is None else (rec["compliance"][u["condition"]] if "compliance" in rec
                                       else _complies(cat.condition(u["condition"]), rec))
        expected = {None: "cannot_tell", True: "compliant", False: "not_compliant"}[ok]
        assert (u["truth"], u["inspector"], u["method"]) == (expected, "demo ground truth", "field_visit"), u
    assert rep is not None
    measured, page = rep["estimates"]["conditions"], rep["html"]
    assert hashlib.sha256(page.encode()).hexdigest() == rep["sha256"] and "SYNTHETIC" in page
    for cond in conditions:  # agreement = weighted share, weights N_h / m_h (all units inspected)
        mine = [u for u in units if u["condition"] == cond]
        m_h: dict[str, int] = defaultdict(int)
        for u in mine:
            m_h[u["stratum"]] += 1
        sizes = {h: v["N"] for h, v in design["conditions"][cond]["strata"].items()}
        known = [u for u in mine if u["truth"] != "cannot_tell" and u["colour"] != "yellow"]
        agree = sum(sizes[u["stratum"]] / m_h[u["stratum"]] for u in known
                    if (u["colour"], u["truth"]) in (("green", "compliant"), ("red", "not_compliant")))
        total = sum(sizes[u["stratum"]] / m_h[u["stratum"]] for u in known)
        assert measured[cond]["metrics"]["agreement"]["estimate"] == pytest.approx(agree / total, abs=1e-12)
