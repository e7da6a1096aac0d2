"""SQL for paging through a parcel set's traffic-light decisions (latest marker run)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import DictRow

Conn = psycopg.Connection[DictRow]

_LATEST = "(SELECT max(run_id) FROM decisions WHERE set_id = %(s)s)"
_FILTER = f"""
  FROM decisions d JOIN parcels p ON p.set_id = d.set_id AND p.id = d.parcel_id
 WHERE d.set_id = %(s)s AND d.run_id = {_LATEST}
   AND (%(colour)s::text IS NULL OR d.colour = %(colour)s)
   AND (%(condition)s::text IS NULL OR d.condition = %(condition)s)
   AND (%(crop)s::text IS NULL OR p.cropcode = %(crop)s OR p.cropname = %(crop)s)
"""


def decision_counts(conn: Conn, set_id: int) -> list[dict[str, Any]]:
    """Decisions of the latest run per condition and colour."""
    return conn.execute(
        f"SELECT condition, colour, count(*) AS n FROM decisions WHERE set_id = %(s)s AND run_id = {_LATEST} "
        "GROUP BY 1, 2 ORDER BY 1, 2", {"s": set_id}).fetchall()


def decision_page(conn: Conn, set_id: int, *, colour: str | None, condition: str | None,
                  crop: str | None, offset: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
    """The total matching the filters and one page of them (red first, then yellow, then by pid)."""
    args = {"s": set_id, "colour": colour, "condition": condition, "crop": crop,
            "offset": offset, "limit": limit}
    total = conn.execute("SELECT count(*) AS n" + _FILTER, args).fetchone()
    rows = conn.execute(
        "SELECT p.pid, p.cropcode, p.cropname, d.condition, d.colour, d.reason, d.run_id" + _FILTER
        + " ORDER BY array_position(ARRAY['red','yellow','green'], d.colour), p.pid, d.condition "
          "OFFSET %(offset)s LIMIT %(limit)s", args).fetchall()
    return (int(total["n"]) if total else 0), rows


def decisions(conn: Conn, set_id: int, parcel_id: int) -> list[dict[str, Any]]:
    """Decisions of a parcel from the latest run that has any, by condition."""
    return conn.execute("""
        SELECT d.run_id, m.scheme, m.catalogue_version, d.condition, d.colour, d.reason, d.evidence,
               d.rule_version, d.decided_at
        FROM decisions d JOIN marker_runs m ON m.id = d.run_id
        WHERE d.set_id = %(s)s AND d.parcel_id = %(p)s AND d.run_id = (SELECT max(run_id)
              FROM decisions WHERE set_id = %(s)s AND parcel_id = %(p)s)
        ORDER BY d.condition""", {"s": set_id, "p": parcel_id}).fetchall()
