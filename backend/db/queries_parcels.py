"""SQL of parcel-set import and deletion (psycopg 3, dict rows).

The caller owns the transaction: every function here runs inside it, so an import or a
replacement either commits whole or leaves the database unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

Conn = psycopg.Connection[DictRow]

PARCEL_COPY_COLUMNS = ("set_id", "id", "pid", "cropcode", "cropname", "area_m2", "attrs", "geom")


def lock_set_key(conn: Conn, aoi: str, year: int, ptype: str) -> None:
    """Serialise imports and deletions of one (aoi, year, ptype) until the transaction ends."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                 (f"parcel_set:{aoi}:{year}:{ptype}",))


def find_set(conn: Conn, aoi: str, year: int, ptype: str) -> dict[str, Any] | None:
    """The parcel set row (id, n_parcels, srid, imported_at, imported_by) or ``None``."""
    return conn.execute(
        "SELECT id, n_parcels, srid, imported_at, imported_by FROM parcel_sets "
        "WHERE aoi = %s AND year = %s AND ptype = %s", (aoi, year, ptype)).fetchone()


def delete_set(conn: Conn, set_id: int) -> None:
    """Delete a set (parcels, jobs and marker results cascade) and its signature partition."""
    conn.execute("DELETE FROM parcel_sets WHERE id = %s", (set_id,))
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(
        sql.Identifier(f"signatures_s{int(set_id)}")))


def cluster_signatures(conn: Conn, set_id: int, lock_timeout_s: float = 30) -> None:
    """Rewrite a set's signature partition in (parcel, image) order and refresh its statistics.

    Takes an exclusive lock on the partition for the duration (readers and extraction wait);
    gives up with ``LockNotAvailable`` when the lock is not granted within ``lock_timeout_s``.
    """
    name = f"signatures_s{int(set_id)}"
    part = sql.Identifier(name)
    timeout = sql.Literal(f"{int(lock_timeout_s * 1000)}ms")
    conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(timeout))
    conn.execute(sql.SQL("CLUSTER {} USING {}").format(part, sql.Identifier(f"{name}_key")))
    conn.execute(sql.SQL("ANALYZE {}").format(part))


def signatures_bytes(conn: Conn, set_id: int) -> int:
    """On-disk size of a set's signature partition (table, indexes and TOAST), in bytes."""
    row = conn.execute("SELECT pg_total_relation_size(%s::regclass) AS b",
                       (f"signatures_s{int(set_id)}",)).fetchone()
    return int(row["b"]) if row else 0


def insert_set(conn: Conn, *, aoi: str, year: int, ptype: str, srid: int,
               n_parcels: int, extent_wkt: str, source: str, report: dict[str, Any],
               imported_by: str | None) -> int:
    """Insert a parcel set row and return its id (``extent_wkt``: polygon in EPSG:4326)."""
    row = conn.execute(
        "INSERT INTO parcel_sets (aoi, year, ptype, srid, n_parcels, extent, source, report, "
        "imported_by) VALUES (%s, %s, %s, %s, %s, ST_GeomFromText(%s, 4326), %s, %s, %s) "
        "RETURNING id",
        (aoi, year, ptype, srid, n_parcels, extent_wkt, source, Jsonb(report),
         imported_by)).fetchone()
    assert row is not None
    return int(row["id"])


def copy_parcels(conn: Conn, chunks: Iterable[bytes]) -> None:
    """COPY CSV rows (columns :data:`PARCEL_COPY_COLUMNS`, geometry as hex EWKB) into parcels."""
    stmt = sql.SQL("COPY parcels ({}) FROM STDIN (FORMAT csv)").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in PARCEL_COPY_COLUMNS))
    with conn.cursor() as cur, cur.copy(stmt) as copy:
        for chunk in chunks:
            copy.write(chunk)


def create_signature_partition(conn: Conn, set_id: int) -> None:
    """Create the set's partition of ``signatures``."""
    conn.execute("SELECT cbm_create_signature_partition(%s)", (set_id,))


def create_extraction_jobs(conn: Conn, set_id: int) -> int:
    """Queue one job per catalogued image of the set's season whose footprint meets its extent."""
    cur = conn.execute(
        "INSERT INTO extraction_jobs (image_id, set_id) "
        "SELECT i.id, s.id FROM images i JOIN parcel_sets s "
        "ON ST_Intersects(i.footprint, s.extent) WHERE s.id = %s "
        "AND i.duplicate_of IS NULL AND cbm_in_season(i.datetime, s) "  # issue 17: seasons
        "ON CONFLICT DO NOTHING", (set_id,))
    return max(cur.rowcount, 0)


def replace_crop_table(conn: Conn, aoi: str, year: int, rows: list[tuple[str, str | None, str | None,
                                                                          str | None]]) -> int:
    """Replace the crop table of (aoi, year) by ``rows`` (code, name, group, hcat); returns the old size."""
    old = conn.execute("DELETE FROM crop_tables WHERE aoi = %s AND year = %s", (aoi, year)).rowcount
    with conn.cursor().copy("COPY crop_tables (aoi, year, cropcode, cropname, crop_group, hcat_code) "
                            "FROM STDIN") as copy:
        for row in rows:
            copy.write_row((aoi, year, *row))
    return int(old)


def crop_table(conn: Conn, aoi: str, year: int) -> list[dict[str, Any]]:
    """The crop table of (aoi, year), by code."""
    return conn.execute("SELECT cropcode, cropname, crop_group, hcat_code FROM crop_tables "
                        "WHERE aoi = %s AND year = %s ORDER BY cropcode", (aoi, year)).fetchall()


def demo_build(conn: Conn, set_id: int) -> str | None:
    """The digest of the demo build a set was imported from (``cbm demo run``), or ``None``."""
    row = conn.execute("SELECT report->>'demo_build' AS b FROM parcel_sets WHERE id = %s",
                       (set_id,)).fetchone()
    return row["b"] if row else None


def set_demo_build(conn: Conn, set_id: int, digest: str) -> None:
    """Record the digest of the demo build a set was imported from."""
    conn.execute("UPDATE parcel_sets SET report = report || jsonb_build_object('demo_build', %s::text) "
                 "WHERE id = %s", (digest, set_id))


def set_source_is(conn: Conn, set_id: int, source: str) -> bool:
    """Whether a set was imported from this file."""
    row = conn.execute("SELECT source = %s AS same FROM parcel_sets WHERE id = %s",
                       (source, set_id)).fetchone()
    return bool(row and row["same"])


def delete_images_under(conn: Conn, folder: str) -> int:
    """Delete the catalogued images whose item names a file under ``folder``; returns how many.

    Their extraction jobs and signatures cascade.
    """
    prefix = folder.rstrip("/") + "/"
    return conn.execute("DELETE FROM images WHERE position(%s IN item::text) > 0",
                        (json.dumps(prefix)[1:-1],)).rowcount
