"""SQL of markers and decisions (psycopg 3, dict rows).

Signatures are read with ``COPY ... TO STDOUT`` as CSV (one row per parcel x image with the
packed count and mean of each band cut from ``signatures.stats``, decoded with numpy).
Marker results and decisions are written with ``COPY`` in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

Conn = psycopg.Connection[DictRow]

RESULT_COLUMNS = ("run_id", "set_id", "parcel_id", "marker", "seq", "version", "start_date",
                  "end_date", "value", "confidence", "evidence")
DECISION_COLUMNS = ("run_id", "set_id", "parcel_id", "condition", "colour", "reason", "evidence",
                    "rule_version")


def parcels(conn: Conn, set_id: int) -> list[dict[str, Any]]:
    """Every parcel of a set: id, pid, cropcode, cropname, area and centroid (native CRS)."""
    return conn.execute(
        "SELECT id, pid, coalesce(cropcode, '') AS cropcode, coalesce(cropname, '') AS cropname, "
        "area_m2, ST_X(ST_PointOnSurface(geom)) AS x, ST_Y(ST_PointOnSurface(geom)) AS y "
        "FROM parcels WHERE set_id = %s ORDER BY id", (set_id,)).fetchall()


def crop_groups(conn: Conn, set_id: int) -> dict[str, str]:
    """Crop code -> group of the set's crop table (``cbm import crops``), codes with a group only."""
    return {r["cropcode"]: r["crop_group"] for r in conn.execute(
        "SELECT t.cropcode, t.crop_group FROM crop_tables t JOIN parcel_sets s ON s.aoi = t.aoi "
        "AND s.year = t.year WHERE s.id = %s AND t.crop_group IS NOT NULL", (set_id,))}


def images(conn: Conn, set_id: int) -> list[dict[str, Any]]:
    """Images with signatures in the set: id, item_id, kind, datetime, orbit state, item hash."""
    return conn.execute(
        "SELECT i.id, i.item_id, i.kind, i.datetime, i.item_hash, "
        "coalesce(i.item->'properties'->>'sat:orbit_state', '') AS orbit "
        "FROM images i WHERE EXISTS (SELECT 1 FROM extraction_jobs j WHERE j.image_id = i.id "
        "AND j.set_id = %s AND j.status = 'done') ORDER BY i.kind, i.datetime, i.id",
        (set_id,)).fetchall()


def copy_means(conn: Conn, set_id: int, kind: str, bands: Sequence[str]) -> bytes:
    """CSV (with header) of ``parcel_id, image_id, valid_frac, count_mean`` for one sensor.

    ``count_mean`` is hex text of the packed big-endian float32 pairs (valid pixel count, mean)
    of ``bands`` in that order, cut from ``signatures.stats`` without decoding (a band missing
    from an image gives NaN, NaN); :func:`backend.markers.series.means_frame` decodes it with
    numpy. Rows are ordered by image then parcel so that the bytes are reproducible.
    """
    pairs = [sql.SQL("coalesce(substring(s.stats FROM (array_position(i.bands, {b}) - 1) * 32 + 1 FOR 8), "
                     "'\\x7fc000007fc00000'::bytea)").format(b=sql.Literal(b)) for b in bands]
    query = sql.SQL(
        "COPY (SELECT s.parcel_id, s.image_id, s.valid_frac, encode({pairs}, 'hex') AS count_mean "
        "FROM signatures s JOIN images i ON i.id = s.image_id "
        "WHERE s.set_id = {set_id} AND i.kind = {kind} ORDER BY s.image_id, s.parcel_id) "
        "TO STDOUT (FORMAT csv, HEADER)"
    ).format(pairs=sql.SQL(" || ").join(pairs), set_id=sql.Literal(int(set_id)), kind=sql.Literal(kind))
    out = bytearray()
    with conn.cursor() as cur, cur.copy(query) as copy:
        for chunk in copy:
            out += chunk
    return bytes(out)


def insert_run(conn: Conn, set_id: int, *, scheme: str, catalogue_version: str,
               params: dict[str, Any], started_by: str | None) -> int:
    """Insert a marker run and return its id."""
    row = conn.execute(
        "INSERT INTO marker_runs (set_id, scheme, catalogue_version, params, started_by) "
        "VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (set_id, scheme, catalogue_version, Jsonb(params), started_by)).fetchone()
    assert row is not None
    return int(row["id"])


def finish_run(conn: Conn, run_id: int) -> None:
    """Stamp the end of a run."""
    conn.execute("UPDATE marker_runs SET finished_at = now() WHERE id = %s", (run_id,))


def _copy_rows(conn: Conn, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns))
    with conn.cursor() as cur, cur.copy(stmt) as copy:
        for row in rows:
            copy.write_row(row)


def copy_results(conn: Conn, rows: Iterable[Sequence[Any]]) -> None:
    """COPY marker results (columns :data:`RESULT_COLUMNS`; evidence as a JSON string)."""
    _copy_rows(conn, "marker_results", RESULT_COLUMNS, rows)


def copy_decisions(conn: Conn, rows: Iterable[Sequence[Any]]) -> None:
    """COPY decisions (columns :data:`DECISION_COLUMNS`; evidence as a JSON string)."""
    _copy_rows(conn, "decisions", DECISION_COLUMNS, rows)


def latest_run(conn: Conn, set_id: int, scheme: str | None = None) -> dict[str, Any] | None:
    """The newest finished run of a set (optionally of one scheme), or ``None``."""
    return conn.execute(
        "SELECT id, scheme, catalogue_version, params, started_at, finished_at FROM marker_runs "
        "WHERE set_id = %s AND finished_at IS NOT NULL AND (%s::text IS NULL OR scheme = %s) "
        "ORDER BY id DESC LIMIT 1", (set_id, scheme, scheme)).fetchone()


def parcel_by_pid(conn: Conn, set_id: int, pid: str) -> dict[str, Any] | None:
    """One parcel (id, pid, cropcode, cropname) by the agency's id, or ``None``."""
    return conn.execute("SELECT id, pid, cropcode, cropname FROM parcels "
                        "WHERE set_id = %s AND pid = %s", (set_id, pid)).fetchone()


def parcel_results(conn: Conn, run_id: int, set_id: int, parcel_id: int) -> list[dict[str, Any]]:
    """Marker results of one parcel in one run, ordered by marker and sequence."""
    return conn.execute(
        "SELECT marker, seq, version, start_date, end_date, value, confidence, evidence "
        "FROM marker_results WHERE run_id = %s AND set_id = %s AND parcel_id = %s "
        "ORDER BY marker, seq", (run_id, set_id, parcel_id)).fetchall()


def parcel_decisions(conn: Conn, run_id: int, set_id: int, parcel_id: int) -> list[dict[str, Any]]:
    """Decisions of one parcel in one run, ordered by condition."""
    return conn.execute(
        "SELECT condition, colour, reason, evidence, rule_version FROM decisions "
        "WHERE run_id = %s AND set_id = %s AND parcel_id = %s ORDER BY condition",
        (run_id, set_id, parcel_id)).fetchall()


def run_decisions(conn: Conn, run_id: int) -> list[dict[str, Any]]:
    """All decisions of a run with the parcel's pid, ordered by parcel and condition."""
    return conn.execute(
        "SELECT p.pid, d.parcel_id, d.condition, d.colour, d.reason, d.evidence::text AS evidence, "
        "d.rule_version FROM decisions d JOIN parcels p ON p.set_id = d.set_id AND p.id = d.parcel_id "
        "WHERE d.run_id = %s ORDER BY d.parcel_id, d.condition", (run_id,)).fetchall()


def run_results(conn: Conn, run_id: int) -> list[dict[str, Any]]:
    """All marker results of a run with the parcel's pid (for scoring and exports)."""
    return conn.execute(
        "SELECT p.pid, r.marker, r.seq, r.start_date, r.end_date, r.value, r.confidence, "
        "(r.evidence->>'day')::int AS day FROM marker_results r "
        "JOIN parcels p ON p.set_id = r.set_id AND p.id = r.parcel_id "
        "WHERE r.run_id = %s ORDER BY p.pid, r.marker, r.seq", (run_id,)).fetchall()


def current_run(conn: Conn, set_id: int, catalogue_sha256: str) -> dict[str, Any] | None:
    """The newest finished run of a set made with this catalogue after its last extraction, or None."""
    return conn.execute(
        "SELECT r.id FROM marker_runs r WHERE r.set_id = %(s)s AND r.finished_at IS NOT NULL "
        "AND r.params->>'catalogue_sha256' = %(c)s "
        "AND r.started_at >= coalesce((SELECT max(finished_at) FROM extraction_jobs "
        "WHERE set_id = %(s)s), '-infinity') "
        "ORDER BY r.id DESC LIMIT 1", {"s": set_id, "c": catalogue_sha256}).fetchone()


def markers(conn: Conn, set_id: int, parcel_id: int) -> list[dict[str, Any]]:
    """Marker results of a parcel from the latest run that has any, in marker order."""
    return conn.execute("""
        SELECT r.run_id, m.scheme, r.marker, r.seq, r.version, r.start_date, r.end_date, r.value,
               r.confidence, r.evidence
        FROM marker_results r JOIN marker_runs m ON m.id = r.run_id
        WHERE r.set_id = %(s)s AND r.parcel_id = %(p)s AND r.run_id = (SELECT max(run_id)
              FROM marker_results WHERE set_id = %(s)s AND parcel_id = %(p)s)
        ORDER BY r.marker, r.seq""", {"s": set_id, "p": parcel_id}).fetchall()
