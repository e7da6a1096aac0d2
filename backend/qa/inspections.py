"""Blind inspections of sampled decisions: record (API or CSV), list without the system's decision.

An inspection states the true situation of a sampled parcel for one condition (``compliant``,
``not_compliant``, ``cannot_tell``), how it was established (``field_visit``, ``vhr_image``,
``photo``), by whom and when. Inspections are appended; the latest one of a unit counts.

Blindness: the units of a sample are listed **without** the system's colour, stratum and
inclusion probability (all three can tell the colour) until the unit has an inspection; the
answer to a recorded inspection reveals the decision. Through the API only the sample's
inspectors record inspections, and the other routes hide open units' decisions from them
(:mod:`backend.api.blind`). The CSV import is the operator's path (``cbm qa import``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from backend.db import queries_qa as q
from backend.errors import InvalidInput, NotFound
from backend.parcels.sets import ParcelSetKey
from backend.qa import attachments
from backend.qa.inspectors import require_inspector
from backend.qa.samples import sample_of

TRUTHS = ("compliant", "not_compliant", "cannot_tell")
METHODS = ("field_visit", "vhr_image", "photo")
CSV_COLUMNS = ("pid", "condition", "truth", "method", "inspector", "date", "comment")
_REVEALED = ("colour", "stratum", "incl_prob")


@dataclass(frozen=True)
class InspectionInput:
    """One inspection as submitted; checks its values."""

    pid: str
    condition: str
    truth: str
    method: str
    inspector: str
    inspected_on: date
    comment: str = ""

    def __post_init__(self) -> None:
        """Refuse a value outside the vocabulary, a date in the future or an empty inspector."""
        if self.truth not in TRUTHS:
            raise InvalidInput(f"truth must be one of {', '.join(TRUTHS)}, not {self.truth!r}")
        if self.method not in METHODS:
            raise InvalidInput(f"method must be one of {', '.join(METHODS)}, not {self.method!r}")
        if not 2 <= len(self.inspector.strip()) <= 64:
            raise InvalidInput("inspector must name who inspected (2 to 64 characters)")
        if self.inspected_on > date.today():
            raise InvalidInput(f"inspection date {self.inspected_on} is in the future")
        if len(self.comment) > 2000:
            raise InvalidInput("comment is longer than 2000 characters")


def _public(unit: dict[str, Any]) -> dict[str, Any]:
    inspected = unit["truth"] is not None
    out = {"pid": unit["pid"], "condition": unit["condition"], "cropcode": unit["cropcode"],
           "cropname": unit["cropname"], "area_m2": unit["area_m2"], "inspected": inspected}
    if inspected:
        out.update({k: unit[k] for k in ("inspection_id", "truth", "method", "inspector", "inspected_on",
                                         "comment", "recorded_by", "recorded_at", *_REVEALED)})
    return out


def list_units(conn: q.Conn, key: ParcelSetKey, sample_id: int, pid: str | None = None) -> dict[str, Any]:
    """The sampled units, the system's decision shown only for units already inspected.

    An inspected unit carries its latest inspection's id and that inspection's attachments.
    """
    s = sample_of(conn, key, sample_id)
    rows = [_public(u) for u in q.units(conn, sample_id, pid)]
    files = attachments.list_for(conn, key, [int(r["inspection_id"]) for r in rows if r["inspected"]])
    for r in rows:
        if r["inspected"]:
            r["attachments"] = files[int(r["inspection_id"])]
    return {"sample_id": sample_id, "run_id": s["run_id"], "conditions": s["conditions"],
            "synthetic": bool(s["design"].get("synthetic")), "total": len(rows),
            "inspected": sum(r["inspected"] for r in rows), "units": rows}


def _resolve(conn: q.Conn, sample_id: int, item: InspectionInput) -> dict[str, Any]:
    u = q.unit(conn, sample_id, item.pid, item.condition)
    if u is None:
        raise NotFound(f"parcel {item.pid!r} with condition {item.condition!r} is not in QA sample "
                       f"{sample_id}: only sampled parcels are inspected (list them: GET .../qa/units)")
    return u


def record(conn: q.Conn, key: ParcelSetKey, sample_id: int, item: InspectionInput, user: str, *,
           user_id: int) -> dict[str, Any]:
    """Store an inspection by one of the sample's inspectors and reveal the system's decision of the unit.

    Raises:
        NotFound: no such sample in the set, or the parcel and condition are not in the sample.
        Forbidden: the user is not an inspector of the sample.
    """
    sample_of(conn, key, sample_id)
    require_inspector(conn, sample_id, user_id, user, key)
    u = _resolve(conn, sample_id, item)
    row = q.insert_inspections(conn, sample_id, [_row(u, item, user)])[0]
    expected = {"compliant": "green", "not_compliant": "red"}.get(item.truth)
    return {"id": row["id"], "recorded_at": row["recorded_at"], "sample_id": sample_id, "pid": item.pid,
            "condition": item.condition, "truth": item.truth, "method": item.method,
            "inspector": item.inspector, "inspected_on": item.inspected_on, "comment": item.comment,
            "system_colour": u["colour"],
            "agrees": None if expected is None or u["colour"] == "yellow" else expected == u["colour"]}


def _row(u: dict[str, Any], item: InspectionInput, user: str) -> dict[str, Any]:
    return {"parcel_id": u["parcel_id"], "condition": item.condition, "truth": item.truth,
            "method": item.method, "inspector": item.inspector.strip(), "inspected_on": item.inspected_on,
            "comment": item.comment.strip(), "recorded_by": user}


def _parse_line(line: int, rec: dict[str, str]) -> InspectionInput:
    try:
        when = date.fromisoformat((rec.get("date") or "").strip())
    except ValueError:
        raise InvalidInput(f"line {line}: date must be YYYY-MM-DD, not {rec.get('date')!r}") from None
    try:
        return InspectionInput((rec.get("pid") or "").strip(), (rec.get("condition") or "").strip(),
                               (rec.get("truth") or "").strip(), (rec.get("method") or "").strip(),
                               rec.get("inspector") or "", when, rec.get("comment") or "")
    except InvalidInput as exc:
        raise InvalidInput(f"line {line}: {exc}") from None


def import_csv(conn: q.Conn, key: ParcelSetKey, sample_id: int, text: str, user: str) -> int:
    """Import inspections from CSV (columns :data:`CSV_COLUMNS`), all or nothing; returns the count.

    Raises:
        InvalidInput: a missing column or any bad row (every bad line is listed; nothing is stored).
    """
    sample_of(conn, key, sample_id)
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput(f"CSV lacks column(s) {', '.join(missing)}; expected {','.join(CSV_COLUMNS)}")
    rows, errors = [], []
    for line, rec in enumerate(reader, start=2):
        try:
            item = _parse_line(line, rec)
            rows.append(_row(_resolve(conn, sample_id, item), item, user))
        except (InvalidInput, NotFound) as exc:
            errors.append(str(exc) if str(exc).startswith("line") else f"line {line}: {exc}")
    if errors:
        more = f" (and {len(errors) - 10} more)" if len(errors) > 10 else ""
        raise InvalidInput(f"{len(errors)} bad row(s), nothing imported: " + "; ".join(errors[:10]) + more)
    if not rows:
        raise InvalidInput("the CSV has no inspection rows")
    q.insert_inspections(conn, sample_id, rows)
    return len(rows)
