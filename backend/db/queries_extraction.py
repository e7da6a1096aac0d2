"""SQL of the extraction job queue, the worker's reads and the signature writes.

One function per statement (psycopg 3, dict rows); the caller owns the transaction: a job's
delete, COPY and finish run in the worker's one transaction (``backend/extraction/service.py``).
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import DictRow

from backend.db.signatures import COLUMNS

Conn = psycopg.Connection[DictRow]

_CLAIM_JOB = """
UPDATE extraction_jobs AS j
   SET status = 'running', attempts = j.attempts + 1, worker = %(worker)s,
       lease_until = now() + make_interval(secs => %(lease_s)s), started_at = now()
 WHERE j.id = (
        SELECT q.id FROM extraction_jobs q
          JOIN parcel_sets ps ON ps.id = q.set_id
          JOIN images i ON i.id = q.image_id
         WHERE ps.aoi = %(aoi)s AND ps.year = %(year)s AND ps.ptype = %(ptype)s
           AND (%(job_ids)s::bigint[] IS NULL OR q.id = ANY(%(job_ids)s::bigint[]))
           AND ((q.status = 'pending' AND q.not_before <= now())
                OR (q.status = 'running' AND q.lease_until < now()))
         ORDER BY i.datetime, q.id
         LIMIT 1
         FOR UPDATE OF q SKIP LOCKED)
RETURNING j.id, j.image_id, j.set_id, j.attempts
"""

# Locks the job row for the final transaction; only the lease holder may complete it.
_LOCK_OWNED_JOB = """
SELECT id FROM extraction_jobs
 WHERE id = %(job_id)s AND status = 'running' AND worker = %(worker)s
 FOR UPDATE
"""

_DELETE_JOB_ROWS = "DELETE FROM signatures WHERE set_id = %(set_id)s AND image_id = %(image_id)s"

_COPY_SIGNATURES = f"COPY signatures ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"

_FINISH_JOB = """
UPDATE extraction_jobs
   SET status = 'done', finished_at = now(), lease_until = NULL, error = %(note)s,
       n_parcels = %(n_parcels)s, n_rows = %(n_rows)s
 WHERE id = %(job_id)s
"""

_FAIL_JOB = """
UPDATE extraction_jobs
   SET status = CASE WHEN %(permanent)s OR attempts >= %(max_attempts)s THEN 'failed' ELSE 'pending' END,
       not_before = now() + make_interval(secs => %(backoff_s)s * power(2, greatest(attempts - 1, 0))),
       lease_until = NULL, error = %(error)s, finished_at = now()
 WHERE id = %(job_id)s AND worker = %(worker)s AND status = 'running'
RETURNING status
"""

# Never waits: a job row locked by its worker's final transaction is skipped (that lock already
# keeps every other worker off it); 'held' says whether the worker still holds the job at all.
_RENEW_LEASE = """
WITH mine AS (
  SELECT id FROM extraction_jobs
   WHERE id = %(job_id)s AND worker = %(worker)s AND status = 'running'
), renewed AS (
  UPDATE extraction_jobs SET lease_until = now() + make_interval(secs => %(lease_s)s)
   WHERE id = (SELECT id FROM extraction_jobs
                WHERE id = %(job_id)s AND worker = %(worker)s AND status = 'running'
                  FOR UPDATE SKIP LOCKED)
  RETURNING id
)
SELECT EXISTS (SELECT 1 FROM mine) AS held, EXISTS (SELECT 1 FROM renewed) AS renewed
"""

_RESET_FOR_FORCE = """
UPDATE extraction_jobs j SET status = 'pending', attempts = 0, not_before = now(), error = NULL,
       lease_until = NULL
  FROM parcel_sets ps
 WHERE ps.id = j.set_id AND ps.aoi = %(aoi)s AND ps.year = %(year)s AND ps.ptype = %(ptype)s
   AND j.status <> 'running'
"""

_IMAGE_FOR_JOB = """
SELECT i.id, i.item_id, i.collection, i.kind, i.datetime, i.epsg, i.bands, i.item,
       ST_AsBinary(i.footprint) AS footprint
  FROM images i WHERE i.id = %(image_id)s
"""

_PARCELS_IN_CRS = """
SELECT p.id, ST_AsBinary(ST_Transform(p.geom, %(epsg)s)) AS wkb
  FROM parcels p WHERE p.set_id = %(set_id)s
 ORDER BY p.id
"""

_JOB_COUNTS = """
SELECT j.status, count(*) AS n FROM extraction_jobs j JOIN parcel_sets ps ON ps.id = j.set_id
 WHERE ps.aoi = %(aoi)s AND ps.year = %(year)s AND ps.ptype = %(ptype)s GROUP BY j.status
"""


def claim_job(conn: Conn, *, worker: str, lease_s: float, aoi: str, year: int, ptype: str,
              job_ids: list[int] | None) -> dict[str, Any] | None:
    """Take the oldest claimable job of the set under a lease: (id, image_id, set_id, attempts) or None."""
    return conn.execute(_CLAIM_JOB, {"worker": worker, "lease_s": lease_s, "aoi": aoi, "year": year,
                                     "ptype": ptype, "job_ids": job_ids}).fetchone()


def lock_owned_job(conn: Conn, job_id: int, worker: str) -> bool:
    """Lock the job row if ``worker`` still holds it (running, its lease)."""
    return conn.execute(_LOCK_OWNED_JOB, {"job_id": job_id, "worker": worker}).fetchone() is not None


def fail_job(conn: Conn, *, job_id: int, worker: str, error: str, permanent: bool, max_attempts: int,
             backoff_s: float) -> str | None:
    """Record a failure; the job's new status, or None when ``worker`` no longer held it."""
    row = conn.execute(_FAIL_JOB, {"job_id": job_id, "worker": worker, "error": error, "permanent": permanent,
                                   "max_attempts": max_attempts, "backoff_s": backoff_s}).fetchone()
    return str(row["status"]) if row else None


def renew_lease(conn: Conn, job_id: int, worker: str, lease_s: float) -> bool:
    """Extend the lease (never waits); True while ``worker`` still holds the job."""
    row = conn.execute(_RENEW_LEASE, {"job_id": job_id, "worker": worker, "lease_s": lease_s}).fetchone()
    return bool(row and row["held"])


def reset_for_force(conn: Conn, aoi: str, year: int, ptype: str) -> int:
    """Make the set's finished and failed jobs pending again; returns how many."""
    return conn.execute(_RESET_FOR_FORCE, {"aoi": aoi, "year": year, "ptype": ptype}).rowcount


def job_counts(conn: Conn, aoi: str, year: int, ptype: str) -> dict[str, int]:
    """Jobs per status of the set."""
    rows = conn.execute(_JOB_COUNTS, {"aoi": aoi, "year": year, "ptype": ptype}).fetchall()
    return {r["status"]: int(r["n"]) for r in rows}


def image_for_job(conn: Conn, image_id: int) -> dict[str, Any] | None:
    """The image a job reads (bands, item JSON, footprint as WKB in EPSG:4326), or None if gone."""
    return conn.execute(_IMAGE_FOR_JOB, {"image_id": image_id}).fetchone()


def parcels_in_crs(conn: Conn, set_id: int, epsg: int) -> list[dict[str, Any]]:
    """The set's parcels (id, ``wkb`` reprojected to ``epsg``) in id order."""
    return conn.execute(_PARCELS_IN_CRS, {"set_id": set_id, "epsg": epsg}).fetchall()


def delete_job_rows(conn: Conn, set_id: int, image_id: int) -> None:
    """Remove the signatures of one image of a set (a re-run replaces them)."""
    conn.execute(_DELETE_JOB_ROWS, {"set_id": set_id, "image_id": image_id})


def copy_signatures(conn: Conn, payload: bytes) -> None:
    """Write signature rows with binary COPY (``backend.db.signatures.encode_signatures``)."""
    with conn.cursor() as cur, cur.copy(_COPY_SIGNATURES) as copy:
        copy.write(payload)


def finish_job(conn: Conn, *, job_id: int, note: str | None, n_parcels: int, n_rows: int) -> None:
    """Mark a job done with its counts (in the transaction of its rows)."""
    conn.execute(_FINISH_JOB, {"job_id": job_id, "note": note, "n_parcels": n_parcels, "n_rows": n_rows})


def jobs_status(conn: Conn, set_id: int, max_failed: int) -> dict[str, Any]:
    """Extraction-job counts by status and the latest failures of a set."""
    counts = conn.execute("SELECT status, count(*) AS n, coalesce(sum(n_rows), 0) AS n_rows "
                          "FROM extraction_jobs WHERE set_id = %s GROUP BY status", (set_id,)).fetchall()
    failed = conn.execute(
        "SELECT j.id, i.item_id, j.attempts, j.error, j.finished_at FROM extraction_jobs j "
        "JOIN images i ON i.id = j.image_id WHERE j.set_id = %s AND j.status = 'failed' "
        "ORDER BY j.finished_at DESC NULLS LAST LIMIT %s", (set_id, max_failed)).fetchall()
    return {"counts": {r["status"]: r["n"] for r in counts},
            "rows": sum(int(r["n_rows"]) for r in counts), "failed": failed}
