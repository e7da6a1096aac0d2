"""Read side of the marker runs: a parcel's markers and decisions, a page of a set's decisions.

All of them read the set's latest marker run (the one ``cbm markers run`` stored last).
"""

from __future__ import annotations

from typing import Any

from backend.db import queries_decisions as qd
from backend.db import queries_markers as qm
from backend.db import queries_parcel_reads as qpr
from backend.errors import ParcelNotFound
from backend.parcels.sets import ParcelSetKey, resolve_set


def _parcel_id(conn: qd.Conn, key: ParcelSetKey, pid: str) -> tuple[int, int]:
    set_id = resolve_set(conn, key)["id"]
    row = qpr.parcel_row(conn, set_id, pid)
    if row is None:
        raise ParcelNotFound(f"no parcel {pid!r} in {key.aoi} {key.year}")
    return set_id, row["id"]


def markers(conn: qd.Conn, key: ParcelSetKey, pid: str) -> dict[str, Any]:
    """Marker results of a parcel (latest run) with their evidence; empty list when none."""
    set_id, parcel_id = _parcel_id(conn, key, pid)
    return {"pid": pid, "markers": qm.markers(conn, set_id, parcel_id)}


def decision_page(conn: qd.Conn, key: ParcelSetKey, *, colour: str | None, condition: str | None,
                  crop: str | None, offset: int, limit: int) -> dict[str, Any]:
    """One page of the set's latest decisions with the counts per condition and colour."""
    set_id = resolve_set(conn, key)["id"]
    counts: dict[str, dict[str, int]] = {}
    for r in qd.decision_counts(conn, set_id):
        counts.setdefault(r["condition"], {})[r["colour"]] = int(r["n"])
    total, rows = qd.decision_page(conn, set_id, colour=colour, condition=condition, crop=crop,
                                   offset=offset, limit=limit)
    return {"total": total, "offset": offset, "limit": limit, "counts": counts, "rows": rows}


def decisions(conn: qd.Conn, key: ParcelSetKey, pid: str) -> dict[str, Any]:
    """Traffic-light decisions of a parcel (latest run) with evidence; empty list when none."""
    set_id, parcel_id = _parcel_id(conn, key, pid)
    rows = qd.decisions(conn, set_id, parcel_id)
    worst = next((c for c in ("red", "yellow", "green") if any(r["colour"] == c for r in rows)), None)
    return {"pid": pid, "colour": worst, "decisions": rows}
