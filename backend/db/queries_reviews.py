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
                  reviewer: str, comment: str) -> dict[str, Any]:
    """Add a verdict; returns the stored row (``id``, ``reviewed_at``)."""
    row = conn.execute(
        "INSERT INTO reviews (run_id, set_id, parcel_id, condition, verdict, reviewer, comment) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id, reviewed_at",
        (run_id, set_id, parcel_id, condition, verdict, reviewer, comment)).fetchone()
    assert row is not None
    return row


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
