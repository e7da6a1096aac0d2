"""Summaries and status for the new endpoints.

Parcel sets, catalogue, extraction jobs, batch runs, markers and decisions of a parcel, vector tiles.
"""

from __future__ import annotations

from typing import Any

from backend.accounts import User
from backend.api.params import SetKey
from backend.api.services.query import resolve_set
from backend.db import queries_api as q
from backend.db import queries_catalogue as qc
from backend.db import queries_decisions as qd
from backend.errors import NotFound, ParcelNotFound

MAX_FAILED_JOBS = 50
MAX_RUNS = 100
TILE_MAX_FEATURES = 200_000


def list_sets(conn: q.Conn, user: User) -> list[dict[str, Any]]:
    """Parcel sets the user may read."""
    return [s for s in q.list_sets(conn) if user.can_read(s["aoi"])]


def set_summary(conn: q.Conn, key: SetKey) -> dict[str, Any]:
    """Parcel, crop, job, image and decision counts of one set."""
    return q.set_summary(conn, resolve_set(conn, key)["id"])


def catalogue_summary(conn: q.Conn) -> list[dict[str, Any]]:
    """Images per collection and kind with date range and job counts."""
    return qc.summary(conn)


def jobs(conn: q.Conn, key: SetKey) -> dict[str, Any]:
    """Extraction-job counts of a set and its latest failures."""
    return {"aoi": key.aoi, "year": key.year, "ptype": key.ptype,
            **q.jobs_status(conn, resolve_set(conn, key)["id"], MAX_FAILED_JOBS)}


def _readable_aois(user: User) -> list[str] | None:
    return None if "*" in user.aois else sorted(user.aois)


def batch_runs(conn: q.Conn, user: User) -> list[dict[str, Any]]:
    """The latest batch runs the user may see (runs for granted AOIs; admins see all)."""
    return q.batch_runs(conn, _readable_aois(user), MAX_RUNS)


def batch_run(conn: q.Conn, user: User, run_id: str) -> dict[str, Any]:
    """One batch run with its chunks.

    Raises:
        NotFound: no such run, or it belongs to an AOI the user may not read (same message).
    """
    run = q.batch_run(conn, run_id)
    aoi = (run or {}).get("parameters", {}).get("aoi")
    if run is None or (aoi is not None and not user.can_read(str(aoi))) or (
            aoi is None and "*" not in user.aois):
        raise NotFound(f"no batch run {run_id!r} visible to you")
    return run


def _parcel_id(conn: q.Conn, key: SetKey, pid: str) -> tuple[int, int]:
    set_id = resolve_set(conn, key)["id"]
    row = q.parcel_row(conn, set_id, pid)
    if row is None:
        raise ParcelNotFound(f"no parcel {pid!r} in {key.aoi} {key.year}")
    return set_id, row["id"]


def markers(conn: q.Conn, key: SetKey, pid: str) -> dict[str, Any]:
    """Marker results of a parcel (latest run) with their evidence; empty list when none."""
    set_id, parcel_id = _parcel_id(conn, key, pid)
    return {"pid": pid, "markers": q.markers(conn, set_id, parcel_id)}


def decision_page(conn: q.Conn, key: SetKey, *, colour: str | None, condition: str | None,
                  crop: str | None, offset: int, limit: int) -> dict[str, Any]:
    """One page of the set's latest decisions with the counts per condition and colour."""
    set_id = resolve_set(conn, key)["id"]
    counts: dict[str, dict[str, int]] = {}
    for r in qd.decision_counts(conn, set_id):
        counts.setdefault(r["condition"], {})[r["colour"]] = int(r["n"])
    total, rows = qd.decision_page(conn, set_id, colour=colour, condition=condition, crop=crop,
                                   offset=offset, limit=limit)
    return {"total": total, "offset": offset, "limit": limit, "counts": counts, "rows": rows}


def decisions(conn: q.Conn, key: SetKey, pid: str) -> dict[str, Any]:
    """Traffic-light decisions of a parcel (latest run) with evidence; empty list when none."""
    set_id, parcel_id = _parcel_id(conn, key, pid)
    rows = q.decisions(conn, set_id, parcel_id)
    worst = next((c for c in ("red", "yellow", "green") if any(r["colour"] == c for r in rows)), None)
    return {"pid": pid, "colour": worst, "decisions": rows}


def tile(conn: q.Conn, key: SetKey, z: int, x: int, y: int, min_zoom: int) -> bytes:
    """The MVT tile of a set (empty below ``min_zoom``, where it would hold too many parcels).

    Raises:
        NotFound: tile coordinates outside the zoom level's grid.
    """
    if not (0 <= x < 2 ** z and 0 <= y < 2 ** z):
        raise NotFound(f"tile {z}/{x}/{y} does not exist: x and y must be in [0, {2 ** z - 1}]")
    pset = resolve_set(conn, key)
    if z < min_zoom:
        return b""
    return q.tile(conn, pset, z, x, y, TILE_MAX_FEATURES)

