"""The per-row import report: what was repaired or rejected, as CSV or JSON."""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backend.parcels.validate import (
    MAX_PARCEL_AREA_M2,
    MAX_REPAIR_AREA_CHANGE,
    MIN_PARCEL_AREA_M2,
    Outcome,
    Validation,
)

log = logging.getLogger(__name__)

FIELDS = ("row", "pid", "action", "code", "reason")


@dataclass(frozen=True)
class ReportRow:
    """One repaired or rejected row; ``row`` is the 1-based feature number in the file."""

    row: int
    pid: str | None
    action: str  # "repaired", "rejected" or "warning" (imported, e.g. without a crop)
    code: str  # Outcome code, e.g. "duplicate_pid"
    reason: str


def build_rows(validation: Validation, pids: np.ndarray) -> list[ReportRow]:
    """Report rows for the repaired and rejected rows only (a loop over those few rows)."""
    rows = []
    for i in np.flatnonzero(validation.outcome != Outcome.OK).tolist():
        outcome = Outcome(int(validation.outcome[i]))
        action = "repaired" if outcome is Outcome.REPAIRED else "rejected"
        pid = None if pids[i] is None else str(pids[i])
        rows.append(ReportRow(i + 1, pid, action, outcome.code,
                              _reason(outcome, i, validation)))
    return rows


def crop_rows(kept: np.ndarray, code: np.ndarray, name: np.ndarray, pids: np.ndarray
              ) -> list[ReportRow]:
    """A ``warning`` row for every imported row with neither a crop code nor a crop name."""
    null = kept & (pd.isna(code) & pd.isna(name))
    return [ReportRow(i + 1, None if pids[i] is None else str(pids[i]), "warning", "null_crop",
                      "no crop code and no crop name") for i in np.flatnonzero(null).tolist()]


def _reason(outcome: Outcome, i: int, v: Validation) -> str:
    area = v.area_m2[i]
    texts = {
        Outcome.MISSING_PID: "missing or empty parcel id",
        Outcome.DUPLICATE_PID: "parcel id not unique in the file (all its rows are rejected)",
        Outcome.NULL_GEOMETRY: "no geometry",
        Outcome.EMPTY_GEOMETRY: "empty geometry",
        Outcome.NOT_POLYGON: f"geometry type {_geom_type(v.geoms[i])} is not a polygon",
        Outcome.AREA_TOO_SMALL: f"area {area:.1f} m² below {MIN_PARCEL_AREA_M2:g} m²",
        Outcome.AREA_TOO_LARGE: f"area {area:.0f} m² above {MAX_PARCEL_AREA_M2:g} m²",
        Outcome.OUTSIDE_EXTENT: "outside the declared AOI extent",
    }
    if outcome in texts:
        return texts[outcome]
    invalid = v.invalid_reason.get(i, "invalid geometry")
    if outcome is Outcome.REPAIRED:
        return f"{invalid}; repaired with make_valid"
    if outcome is Outcome.UNREPAIRABLE:
        return f"{invalid}; make_valid leaves no polygon"
    before = v.area_before_m2.get(i, float("nan"))
    return (f"{invalid}; make_valid changes the area from {before:.1f} to {area:.1f} m² "
            f"(more than {MAX_REPAIR_AREA_CHANGE:.0%})")


def _geom_type(geom: object) -> str:
    return str(getattr(geom, "geom_type", "unknown"))


def summarize(rows: list[ReportRow], n_read: int) -> dict[str, Any]:
    """Counts per action and per code, for ``parcel_sets.report`` and the JSON report."""
    actions = Counter(r.action for r in rows)
    return {
        "n_read": n_read,
        "n_repaired": actions["repaired"],
        "n_rejected": actions["rejected"],
        "n_imported": n_read - actions["rejected"],
        "n_null_crop": actions["warning"],
        "codes": dict(sorted(Counter(r.code for r in rows).items())),
    }


def default_report_path(var_dir: Path, aoi: str, year: int, ptype: str) -> Path:
    """``var_dir/reports/<aoi>_<year>[_<ptype>]_<timestamp>.csv``."""
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    name = "_".join(p for p in (aoi, str(year), ptype, stamp) if p)
    return var_dir / "reports" / f"{name}.csv"


def write_report(path: Path, rows: list[ReportRow], summary: dict[str, Any]) -> Path:
    """Write the report as JSON (``.json`` suffix, with the summary) or CSV (any other suffix).

    Returns:
        The path written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".json":
        doc = {"summary": summary, "rows": [dataclasses.asdict(r) for r in rows]}
        path.write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding="utf-8")
    else:
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=FIELDS)
            writer.writeheader()
            writer.writerows(dataclasses.asdict(r) for r in rows)
    log.info("import report: %s (%d rows)", path, len(rows))
    return path
