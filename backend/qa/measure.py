"""Measurement of a QA sample: per-condition estimates, confusion tables and the disagreements."""

from __future__ import annotations

from typing import Any

from backend.db import queries_qa as q
from backend.errors import InvalidInput
from backend.parcels.sets import ParcelSetKey
from backend.qa import attachments
from backend.qa.estimation import Unit, estimate_condition
from backend.qa.samples import sample_of

_TRUTH_COLOUR = {"compliant": "green", "not_compliant": "red"}


def disagrees(colour: str, truth: str) -> bool:
    """A green or red decision whose established truth says the other colour."""
    expected = _TRUTH_COLOUR.get(truth)
    return expected is not None and colour != "yellow" and colour != expected


def measure(conn: q.Conn, key: ParcelSetKey, sample_id: int,
            confidence: float | None = None) -> dict[str, Any]:
    """Estimates of every condition of a sample from its latest inspections.

    Raises:
        NotFound: no such sample in the set.
        InvalidInput: a confidence outside [0.5, 1).
    """
    s = sample_of(conn, key, sample_id)
    design = s["design"]
    level = float(confidence if confidence is not None else design.get("confidence") or 0.95)
    if not 0.5 <= level < 1:
        raise InvalidInput(f"confidence must be in [0.5, 1), not {level}")
    rows = q.units(conn, sample_id)
    out: dict[str, Any] = {}
    for cond in s["conditions"]:
        cd = design["conditions"][cond]
        sizes = {h: int(v["N"]) for h, v in cd["strata"].items()}
        mine = [r for r in rows if r["condition"] == cond]
        units = [Unit(r["stratum"], r["colour"], r["truth"]) for r in mine if r["truth"] is not None]
        out[cond] = {"N": cd["N"], "n": cd["n"], "frame_colours": cd.get("colours"),
                     **estimate_condition(units, sizes, level)}
    wrong = [{k: r[k] for k in ("pid", "condition", "colour", "truth", "method", "inspector", "inspected_on",
                                "comment", "cropname", "inspection_id")}
             for r in rows if r["truth"] is not None and disagrees(r["colour"], r["truth"])]
    files = attachments.list_for(conn, key, [int(r["inspection_id"]) for r in wrong])
    for r in wrong:  # the evidence the inspector attached, named and identified by its SHA-256
        r["evidence"] = [{k: f[k] for k in ("filename", "media_type", "sha256", "url")}
                         for f in files[int(r["inspection_id"])]]
    return {"sample_id": sample_id, "run_id": s["run_id"], "aoi": key.aoi, "year": key.year,
            "confidence": level, "synthetic": bool(design.get("synthetic")), "n_units": len(rows),
            "n_inspected": sum(r["truth"] is not None for r in rows), "conditions": out,
            "disagreements": wrong}
