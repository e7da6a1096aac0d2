"""SQL of reviewer verdicts on decisions (table ``reviews``, migration 0005) and the review queue."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import DictRow

Conn = psycopg.Connection[DictRow]

_LATEST = """
    SELECT DISTINCT ON (r.parcel_id, r.condition) r.parcel_id, r.condition, r.verdict, r.reviewer,
           r.reviewed_at
    FROM reviews r WHERE r.run_id = %(run)s
    ORDER BY r.parcel_id, r.condition, r.reviewed_at DESC, r.id DESC"""


def decision(conn: Conn, run_id: int, set_id: int, pid: str, condition: str) -> dict[str, Any] | None:
    """The decision of one parcel (by agency id) and condition in a run: parcel_id and colour."""
    return conn.execute(
        "SELECT d.parcel_id, d.colour FROM decisions d JOIN parcels p ON p.set_id = d.set_id "
        "AND p.id = d.parcel_id WHERE d.run_id = %s AND d.set_id = %s AND p.pid = %s AND d.condition = %s",
        (run_id, set_id, pid, condition)).fetchone()


def insert_review(conn: Conn, run_id: int, set_id: int, parcel_id: int, condition: str, verdict: str,
                  reviewer: str, comment: str, *, colour: str | None = None, reason: str = "",
                  photo_ids: tuple[int, ...] = ()) -> dict[str, Any]:
    """Add a verdict (with the cited photos) and mark the parcel reviewed in the run's queue.

    Returns ``id`` and ``reviewed_at``.
    """
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO reviews (run_id, set_id, parcel_id, condition, verdict, reviewer, comment, colour, "
            "reason, photo_ids) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id, reviewed_at",
            (run_id, set_id, parcel_id, condition, verdict, reviewer, comment, colour, reason,
             list(photo_ids))).fetchone()
        conn.execute("UPDATE review_queue SET reviewed = true, verdict = %s "
                     "WHERE run_id = %s AND parcel_id = %s", (verdict, run_id, parcel_id))
    assert row is not None
    return row


_HISTORY_COLUMNS = ("r.id, r.run_id, r.condition, d.colour AS decision_colour, r.verdict, r.colour, "
                    "r.reason, r.comment, r.reviewer, r.reviewed_at, r.photo_ids")


def parcel_history(conn: Conn, run_id: int, set_id: int, parcel_id: int) -> list[dict[str, Any]]:
    """Every verdict on a parcel's decisions of a run, newest first."""
    return conn.execute(
        f"SELECT {_HISTORY_COLUMNS} FROM reviews r JOIN decisions d ON d.run_id = r.run_id AND "
        "d.set_id = r.set_id AND d.parcel_id = r.parcel_id AND d.condition = r.condition "
        "WHERE r.run_id = %s AND r.set_id = %s AND r.parcel_id = %s ORDER BY r.reviewed_at DESC, r.id DESC",
        (run_id, set_id, parcel_id)).fetchall()


_EXPORT = """
WITH latest AS (
    SELECT DISTINCT ON (r.parcel_id, r.condition) r.parcel_id, r.condition, r.verdict, r.reviewer,
           r.reviewed_at, r.colour, r.reason, r.comment
    FROM reviews r WHERE r.run_id = %(run)s AND r.set_id = %(s)s
    ORDER BY r.parcel_id, r.condition, r.reviewed_at DESC, r.id DESC)
SELECT p.pid, p.cropcode, p.cropname, p.area_m2, d.run_id, d.condition, d.colour AS decision_colour,
       d.reason AS decision_reason, d.rule_version, d.decided_at,
       l.verdict, l.colour AS override_colour, l.reason AS review_reason, l.comment AS review_comment,
       l.reviewer, l.reviewed_at,
       CASE WHEN l.verdict = 'override' THEN l.colour ELSE d.colour END AS final_colour{geom}
FROM decisions d JOIN parcels p ON p.set_id = d.set_id AND p.id = d.parcel_id
LEFT JOIN latest l ON l.parcel_id = d.parcel_id AND l.condition = d.condition
WHERE d.run_id = %(run)s AND d.set_id = %(s)s AND (%(pid)s::text IS NULL OR p.pid = %(pid)s)
ORDER BY p.pid, d.condition"""


def export_rows(conn: Conn, run_id: int, set_id: int, pid: str | None, *,
                geometry: bool) -> list[dict[str, Any]]:
    """Decisions of a run (one parcel or all) with the latest review of each; WKB WGS84 ``geom`` if asked."""
    geom = ", ST_AsBinary(ST_Transform(p.geom, 4326)) AS geom" if geometry else ""
    return conn.execute(_EXPORT.format(geom=geom), {"run": run_id, "s": set_id, "pid": pid}).fetchall()


def review_queue(conn: Conn, run_id: int, colours: list[str], condition: str | None, offset: int,
                 limit: int) -> list[dict[str, Any]]:
    """Decisions of a run with these colours (red first), with the latest verdict if any."""
    return conn.execute(
        f"""WITH latest AS ({_LATEST})
        SELECT p.pid, p.cropcode, p.cropname, d.condition, d.colour, d.reason,
               l.verdict, l.reviewer, l.reviewed_at, count(*) OVER () AS total
        FROM decisions d JOIN parcels p ON p.set_id = d.set_id AND p.id = d.parcel_id
        LEFT JOIN latest l ON l.parcel_id = d.parcel_id AND l.condition = d.condition
        WHERE d.run_id = %(run)s AND d.colour = ANY(%(colours)s)
          AND (%(cond)s::text IS NULL OR d.condition = %(cond)s)
        ORDER BY (d.colour = 'red') DESC, p.pid, d.condition
        OFFSET %(offset)s LIMIT %(limit)s""",
        {"run": run_id, "colours": colours, "cond": condition, "offset": offset, "limit": limit}).fetchall()


def reviews(conn: Conn, run_id: int) -> list[dict[str, Any]]:
    """Every verdict of a run, newest first, with the parcel's pid and the decision's colour."""
    return conn.execute(
        "SELECT r.id, p.pid, r.condition, d.colour, r.verdict, r.comment, r.reviewer, r.reviewed_at "
        "FROM reviews r JOIN parcels p ON p.set_id = r.set_id AND p.id = r.parcel_id "
        "JOIN decisions d ON d.run_id = r.run_id AND d.set_id = r.set_id AND d.parcel_id = r.parcel_id "
        "AND d.condition = r.condition "
        "WHERE r.run_id = %s ORDER BY r.reviewed_at DESC, r.id DESC", (run_id,)).fetchall()
