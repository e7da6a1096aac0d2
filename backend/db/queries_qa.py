"""SQL of the annual quality assessment (migrations 0100-0102).

Samples, units, inspections, inspectors and the inspections' attachments.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

Conn = psycopg.Connection[DictRow]
APool = AsyncConnectionPool[psycopg.AsyncConnection[DictRow]]


def run_info(conn: Conn, run_id: int) -> dict[str, Any]:
    """Scheme, catalogue version and recorded parameters (marker and rule versions) of a marker run."""
    row = conn.execute("SELECT id, scheme, catalogue_version, params, finished_at FROM marker_runs "
                       "WHERE id = %s", (run_id,)).fetchone()
    assert row is not None
    return row


def condition_counts(conn: Conn, run_id: int, set_id: int) -> dict[str, int]:
    """Number of decisions per condition of a run."""
    rows = conn.execute("SELECT condition, count(*) AS n FROM decisions WHERE run_id = %s AND set_id = %s "
                        "GROUP BY 1 ORDER BY 1", (run_id, set_id)).fetchall()
    return {r["condition"]: int(r["n"]) for r in rows}


def frame(conn: Conn, run_id: int, set_id: int, conditions: list[str], *,
          crop_group: bool) -> list[dict[str, Any]]:
    """The sampling frame, one row per condition (sorted), its decisions packed in parcel-id order.

    ``ids`` are the parcel ids as big-endian int32 bytes, ``colours`` one letter per decision
    (``g``, ``y``, ``r``) and ``groups`` the crop groups joined by U+001F: the parcel's
    ``attrs.crop_group`` when its import carried one, else the declared crop code (``None``
    without ``crop_group``: the parcels are then not read).
    """
    group = ("string_agg(coalesce(p.attrs->>'crop_group', p.cropcode, ''), E'\\x1f' ORDER BY d.parcel_id)"
             if crop_group else "NULL")
    join = "JOIN parcels p ON p.set_id = d.set_id AND p.id = d.parcel_id" if crop_group else ""
    return conn.execute(
        "SELECT d.condition, string_agg(int4send(d.parcel_id), ''::bytea ORDER BY d.parcel_id) AS ids, "
        "string_agg(left(d.colour, 1), '' ORDER BY d.parcel_id) AS colours, " + group + " AS groups "
        "FROM decisions d " + join + " WHERE d.run_id = %s AND d.set_id = %s AND d.condition = ANY(%s) "
        "GROUP BY d.condition ORDER BY d.condition", (run_id, set_id, conditions)).fetchall()


def insert_sample(conn: Conn, set_id: int, run_id: int, conditions: list[str], seed: int,
                  design: dict[str, Any], created_by: str | None,
                  units: list[tuple[int, str, str, str, float]]) -> int:
    """Store a sample and its units ``(parcel_id, condition, stratum, colour, incl_prob)``; returns its id."""
    with conn.transaction():
        row = conn.execute("INSERT INTO qa_samples (set_id, run_id, conditions, seed, design, created_by) "
                           "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                           (set_id, run_id, conditions, seed, Jsonb(design), created_by)).fetchone()
        assert row is not None
        sid = int(row["id"])
        with conn.cursor().copy("COPY qa_units (sample_id, set_id, parcel_id, condition, stratum, colour, "
                                "incl_prob) FROM STDIN") as cp:
            for parcel_id, cond, stratum, colour, prob in units:
                cp.write_row((sid, set_id, parcel_id, cond, stratum, colour, prob))
    return sid


_SAMPLE_COLUMNS = "s.id, s.set_id, s.run_id, s.conditions, s.seed, s.design, s.created_by, s.created_at"


def samples(conn: Conn, set_id: int) -> list[dict[str, Any]]:
    """Every sample of a set, oldest first, with its number of units and inspected units."""
    return conn.execute(
        f"SELECT {_SAMPLE_COLUMNS}, (SELECT count(*) FROM qa_units u WHERE u.sample_id = s.id) AS n_units, "
        "(SELECT count(DISTINCT (i.parcel_id, i.condition)) FROM qa_inspections i WHERE i.sample_id = s.id) "
        "AS n_inspected FROM qa_samples s WHERE s.set_id = %s ORDER BY s.id", (set_id,)).fetchall()


def sample(conn: Conn, sample_id: int) -> dict[str, Any] | None:
    """One sample with its set's AOI and year, or None."""
    return conn.execute(f"SELECT {_SAMPLE_COLUMNS}, ps.aoi, ps.year, ps.ptype FROM qa_samples s "
                        "JOIN parcel_sets ps ON ps.id = s.set_id WHERE s.id = %s", (sample_id,)).fetchone()


def sample_by(conn: Conn, set_id: int, run_id: int, created_by: str) -> dict[str, Any] | None:
    """The newest sample of a set's marker run drawn by ``created_by``, or None."""
    return conn.execute("SELECT id, created_at FROM qa_samples WHERE set_id = %s AND run_id = %s "
                        "AND created_by = %s ORDER BY id DESC LIMIT 1",
                        (set_id, run_id, created_by)).fetchone()


_LATEST = """SELECT DISTINCT ON (parcel_id, condition) id, parcel_id, condition, truth, method, inspector,
       inspected_on, comment, recorded_by, recorded_at
  FROM qa_inspections WHERE sample_id = %(s)s
 ORDER BY parcel_id, condition, recorded_at DESC, id DESC"""


def units(conn: Conn, sample_id: int, pid: str | None = None) -> list[dict[str, Any]]:
    """Sampled units (by pid, condition) with the parcel's crop and the latest inspection if any."""
    return conn.execute(
        f"""WITH latest AS ({_LATEST})
        SELECT p.pid, p.cropcode, p.cropname, p.area_m2, u.parcel_id, u.condition, u.stratum, u.colour,
               u.incl_prob, l.id AS inspection_id, l.truth, l.method, l.inspector, l.inspected_on, l.comment,
               l.recorded_by, l.recorded_at
          FROM qa_units u JOIN parcels p ON p.set_id = u.set_id AND p.id = u.parcel_id
          LEFT JOIN latest l ON l.parcel_id = u.parcel_id AND l.condition = u.condition
         WHERE u.sample_id = %(s)s AND (%(pid)s::text IS NULL OR p.pid = %(pid)s)
         ORDER BY p.pid, u.condition""", {"s": sample_id, "pid": pid}).fetchall()


def unit(conn: Conn, sample_id: int, pid: str, condition: str) -> dict[str, Any] | None:
    """The sampled unit of a parcel (by pid) and condition, or None when it is not in the sample."""
    return conn.execute(
        "SELECT u.parcel_id, u.condition, u.colour, u.stratum, u.incl_prob FROM qa_units u "
        "JOIN parcels p ON p.set_id = u.set_id AND p.id = u.parcel_id "
        "WHERE u.sample_id = %s AND p.pid = %s AND u.condition = %s", (sample_id, pid, condition)).fetchone()


def insert_inspections(conn: Conn, sample_id: int, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Append inspections (one transaction); returns ``id`` and ``recorded_at`` of each, in order."""
    out = []
    with conn.transaction():
        for r in rows:
            row = conn.execute(
                "INSERT INTO qa_inspections (sample_id, parcel_id, condition, truth, method, inspector, "
                "inspected_on, comment, recorded_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "RETURNING id, recorded_at",
                (sample_id, r["parcel_id"], r["condition"], r["truth"], r["method"], r["inspector"],
                 r["inspected_on"], r["comment"], r["recorded_by"])).fetchone()
            assert row is not None
            out.append(row)
    return out


def inspection(conn: Conn, inspection_id: int) -> dict[str, Any] | None:
    """An inspection with its sample's set and the parcel's pid, or None."""
    return conn.execute(
        "SELECT i.id, i.sample_id, s.set_id, p.pid, i.condition, i.recorded_by FROM qa_inspections i "
        "JOIN qa_samples s ON s.id = i.sample_id JOIN parcels p ON p.set_id = s.set_id "
        "AND p.id = i.parcel_id WHERE i.id = %s", (inspection_id,)).fetchone()


_ATTACHMENT_COLUMNS = "id, inspection_id, filename, media_type, bytes, sha256, uploaded_by, uploaded_at"


def insert_attachment(conn: Conn, inspection_id: int, row: dict[str, Any]) -> dict[str, Any] | None:
    """Store an attachment's row (committed); None when the inspection already has the same content."""
    with conn.transaction():
        return conn.execute(
            "INSERT INTO qa_attachments (inspection_id, filename, media_type, bytes, sha256, store_key, "
            "uploaded_by) VALUES (%(i)s, %(filename)s, %(media_type)s, %(bytes)s, %(sha256)s, %(store_key)s, "
            "%(uploaded_by)s) ON CONFLICT (inspection_id, sha256) DO NOTHING "
            f"RETURNING {_ATTACHMENT_COLUMNS}",
            {"i": inspection_id, **row}).fetchone()


def attachments(conn: Conn, inspection_ids: list[int]) -> list[dict[str, Any]]:
    """The attachments of these inspections, oldest first."""
    return conn.execute(f"SELECT {_ATTACHMENT_COLUMNS} FROM qa_attachments WHERE inspection_id = ANY(%s) "
                        "ORDER BY inspection_id, id", (inspection_ids,)).fetchall()


def attachment(conn: Conn, inspection_id: int, attachment_id: int) -> dict[str, Any] | None:
    """One attachment of an inspection with its store key, or None."""
    return conn.execute(f"SELECT {_ATTACHMENT_COLUMNS}, store_key FROM qa_attachments "
                        "WHERE id = %s AND inspection_id = %s", (attachment_id, inspection_id)).fetchone()


def insert_report(conn: Conn, sample_id: int, versions: dict[str, Any], estimates: dict[str, Any],
                  page: str, sha256: str, created_by: str | None) -> dict[str, Any]:
    """Store a report as an audit record; returns ``id`` and ``created_at``."""
    row = conn.execute("INSERT INTO qa_reports (sample_id, versions, estimates, html, sha256, created_by) "
                       "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id, created_at",
                       (sample_id, Jsonb(versions), Jsonb(estimates), page, sha256, created_by)).fetchone()
    assert row is not None
    return row


def latest_report(conn: Conn, sample_id: int) -> dict[str, Any] | None:
    """The newest stored report of a sample, or None."""
    return conn.execute("SELECT id, sample_id, versions, estimates, html, sha256, created_by, created_at "
                        "FROM qa_reports "
                        "WHERE sample_id = %s ORDER BY id DESC LIMIT 1", (sample_id,)).fetchone()


# ---------------------------------------------------------------------------- inspectors (0101)
def user_for_assignment(conn: Conn, username: str) -> dict[str, Any] | None:
    """An active user's id, role and AOI grants, or None."""
    return conn.execute(
        "SELECT u.id, u.username, u.role, coalesce(array_agg(g.aoi) FILTER (WHERE g.aoi IS NOT NULL), "
        "'{}') AS aois FROM users u LEFT JOIN aoi_grants g ON g.user_id = u.id "
        "WHERE u.username = %s AND u.active GROUP BY u.id", (username,)).fetchone()


def assign(conn: Conn, sample_id: int, user_ids: list[int], assigned_by: str | None) -> int:
    """Make users inspectors of a sample (already assigned ones are kept); returns how many were new."""
    cur = conn.execute("INSERT INTO qa_inspectors (sample_id, user_id, assigned_by) "
                       "SELECT %s, unnest(%s::int[]), %s ON CONFLICT DO NOTHING",
                       (sample_id, user_ids, assigned_by))
    return cur.rowcount


def unassign(conn: Conn, sample_id: int, user_ids: list[int]) -> int:
    """Remove inspectors from a sample; returns how many were removed."""
    return conn.execute("DELETE FROM qa_inspectors WHERE sample_id = %s AND user_id = ANY(%s)",
                        (sample_id, user_ids)).rowcount


def inspectors(conn: Conn, sample_id: int) -> list[str]:
    """Usernames of a sample's inspectors, sorted."""
    rows = conn.execute("SELECT u.username FROM qa_inspectors a JOIN users u ON u.id = a.user_id "
                        "WHERE a.sample_id = %s ORDER BY 1", (sample_id,)).fetchall()
    return [r["username"] for r in rows]


def is_inspector(conn: Conn, sample_id: int, user_id: int) -> bool:
    """True if the user is assigned to inspect the sample."""
    return conn.execute("SELECT 1 FROM qa_inspectors WHERE sample_id = %s AND user_id = %s",
                        (sample_id, user_id)).fetchone() is not None


# A unit is open while it has no inspection: its decision is hidden from the sample's inspectors.
# Open units = units - inspected units (inspections only reference sampled units); the one pid is
# looked up through parcels (set_id, pid) and the units' primary key, never the whole sample.
_OPEN_UNITS = """
SELECT * FROM (
  SELECT a.sample_id,
         (SELECT count(*) FROM qa_units u WHERE u.sample_id = a.sample_id)
         - (SELECT count(*) FROM (SELECT DISTINCT parcel_id, condition FROM qa_inspections i
                                   WHERE i.sample_id = a.sample_id) d) AS n_open,
         EXISTS (SELECT 1 FROM parcels p JOIN qa_units u ON u.sample_id = a.sample_id AND u.parcel_id = p.id
                  WHERE p.set_id = s.set_id AND p.pid = %(pid)s
                    AND NOT EXISTS (SELECT 1 FROM qa_inspections i WHERE i.sample_id = u.sample_id
                                    AND i.parcel_id = u.parcel_id AND i.condition = u.condition))
           AS parcel_open
    FROM qa_inspectors a
    JOIN qa_samples s ON s.id = a.sample_id
    JOIN parcel_sets ps ON ps.id = s.set_id
   WHERE a.user_id = %(user)s AND ps.aoi = %(aoi)s AND ps.year = %(year)s AND ps.ptype = %(ptype)s
) o WHERE n_open > 0 ORDER BY sample_id"""


async def open_units(pool: APool, user_id: int, aoi: str, year: int, ptype: str,
                     pid: str | None) -> list[dict[str, Any]]:
    """Per sample of the set that the user inspects: its open units and whether ``pid`` has one.

    Samples without open units are not listed.
    """
    async with pool.connection() as conn:
        cur = await conn.execute(_OPEN_UNITS, {"user": user_id, "aoi": aoi, "year": year, "ptype": ptype,
                                               "pid": pid})
        return await cur.fetchall()


def assignments(conn: Conn, user_id: int) -> list[dict[str, Any]]:
    """The samples a user inspects, with their set and the number of units and open units."""
    return conn.execute(
        "SELECT ps.aoi, ps.year, ps.ptype, a.sample_id, s.conditions, "
        "(SELECT count(*) FROM qa_units u WHERE u.sample_id = a.sample_id) AS n_units, "
        "(SELECT count(*) FROM qa_units u WHERE u.sample_id = a.sample_id AND NOT EXISTS (SELECT 1 FROM "
        " qa_inspections i WHERE i.sample_id = u.sample_id AND i.parcel_id = u.parcel_id "
        " AND i.condition = u.condition)) AS n_open "
        "FROM qa_inspectors a JOIN qa_samples s ON s.id = a.sample_id "
        "JOIN parcel_sets ps ON ps.id = s.set_id "
        "WHERE a.user_id = %s ORDER BY ps.aoi, ps.year DESC, a.sample_id", (user_id,)).fetchall()
