"""The demo's quality assessment: its SYNTHETIC season inspected by the generator's ground truth.

``cbm demo run`` draws a stratified sample of the demo area's decisions (every condition of the
demo catalogue, stratified by colour, Neyman-like allocation, seed 42), takes the "true
situation" of each sampled parcel from ``ground_truth.json`` (what the generator simulated and
wrote into the imagery: whether the parcel complies with each rule), imports those as the
inspections, measures and stores the report. Everything it shows is synthetic and says so. A
second run for the same marker run reuses the stored sample and report.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import Any

from backend.analysis import complies, load_truth
from backend.db import queries_qa as q
from backend.errors import InvalidInput
from backend.markers.conditions import Catalogue
from backend.parcels.sets import ParcelSetKey
from backend.qa import report
from backend.qa.inspections import CSV_COLUMNS, import_csv
from backend.qa.samples import draw_sample
from backend.qa.sampling import SampleSpec
from backend.reviews.service import run_of

CREATED_BY = "cbm demo run"
INSPECTOR = "demo ground truth"
SIZE = 100  # units per condition
NOTE = "SYNTHETIC: the generator's ground truth (var/demo/ground_truth.json), not a field visit"


def truth_csv(units: list[dict[str, Any]], cat: Catalogue, truth: dict[str, dict[str, Any]],
              year: int) -> str:
    """Inspections (``cbm qa import`` CSV) of the sampled units from the ground truth.

    The truth is the record's ``compliance`` flag of the condition (generator 3 on: computed from
    the simulated daily state, ``backend/demo/rules.py``), else, for an older ground truth, the
    condition evaluated on the true events. A parcel without a ground-truth record (a broken row of
    the demo file that the import repaired or kept) is ``cannot_tell``.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    when = min(date(year, 11, 30), date.today()).isoformat()
    for u in units:
        record = truth.get(u["pid"])
        if record is None:  # one of the demo file's deliberately broken rows that the import kept
            verdict, note = "cannot_tell", "SYNTHETIC: no ground-truth record (a deliberately broken row)"
        else:
            ok = _complies(cat, u["condition"], record, year)
            verdict, note = ("compliant" if ok else "not_compliant"), NOTE
        writer.writerow([u["pid"], u["condition"], verdict, "field_visit", INSPECTOR, when, note])
    return out.getvalue()


def _complies(cat: Catalogue, condition: str, record: dict[str, Any], year: int) -> bool:
    flags = record.get("compliance")
    if flags is not None:
        return bool(flags[condition])
    return complies(cat.condition(condition), record, year)


def run_demo_qa(conn: q.Conn, key: ParcelSetKey, cat: Catalogue, truth_path: Path, out: Path, *,
                seed: int, dashboard_url: str = report.DEFAULT_DASHBOARD_URL) -> str:
    """Sample, inspect from the ground truth, measure and report (once per marker run); one line.

    Raises:
        InvalidInput: the set's latest marker run was decided with another catalogue than ``cat``.
    """
    set_id, run = run_of(conn, key)
    decided_with = (q.run_info(conn, run)["params"] or {}).get("catalogue_sha256")
    if decided_with != cat.sha256:  # the truth would be judged against other windows and limits
        raise InvalidInput(f"marker run {run} of {key.aoi} {key.year} was decided with another catalogue "
                           f"than {Path(cat.source).name}: run `cbm markers run` with it first")
    done = q.sample_by(conn, set_id, run, CREATED_BY)
    if done is not None:
        return (f"quality assessment (SYNTHETIC): sample {done['id']} of marker run {run} is up to date "
                f"(report: {out})")
    conditions = tuple(sorted(q.condition_counts(conn, run, set_id)))
    spec = SampleSpec(conditions, size=SIZE, strata=("colour",), allocation="neyman", seed=seed)
    sample = draw_sample(conn, key, spec, created_by=CREATED_BY)
    units = q.units(conn, sample["id"])
    import_csv(conn, key, sample["id"], truth_csv(units, cat, load_truth(truth_path), key.year), CREATED_BY)
    r = report.build(conn, key, sample["id"], dashboard_url=dashboard_url, created_by=CREATED_BY)
    out.write_text(r["html"], encoding="utf-8")
    measured = r["measurement"]["conditions"]
    figures = "; ".join(f"{c}: agreement {_pct(m['metrics']['agreement'])}, wrong red "
                        f"{_pct(m['metrics']['wrong_red'])}" for c, m in measured.items())
    return (f"quality assessment (SYNTHETIC, inspections = ground truth): sample {sample['id']}, "
            f"{len(units)} units; {figures}; report {r['id']}: {out}")


def _pct(metric: dict[str, Any]) -> str:
    v = metric.get("estimate")
    return "-" if v is None else f"{100 * v:.1f} %"
