"""SQL of the batch runner: run and chunk records, and the job queue as seen by a run.

One function per statement (psycopg 3, dict rows); the caller owns the connection and its
transaction.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

Conn = psycopg.Connection[DictRow]

# Unfinished jobs of a parcel set, in the order workers claim them. 'running' jobs are included:
# their worker may have died (the lease expires) or another runner holds them (they finish).
_OPEN_JOBS = """
SELECT j.id FROM extraction_jobs j
  JOIN images i ON i.id = j.image_id
 WHERE j.set_id = %(set_id)s AND j.status IN ('pending', 'running')
 ORDER BY i.datetime, j.id
"""

# Parcel sets with claimable work (for `cbm batch watch`).
_SETS_WITH_WORK = """
SELECT ps.aoi, ps.year, ps.ptype, count(*) AS n FROM extraction_jobs j
  JOIN parcel_sets ps ON ps.id = j.set_id
 WHERE (j.status = 'pending' AND j.not_before <= now())
    OR (j.status = 'running' AND j.lease_until < now())
 GROUP BY ps.aoi, ps.year, ps.ptype ORDER BY ps.aoi, ps.year, ps.ptype
"""

# State of a chunk's jobs. `rows` counts the signature rows committed by this chunk's workers.
_CHUNK_JOBS_STATE = """
SELECT count(*) FILTER (WHERE status = 'done') AS n_done,
       count(*) FILTER (WHERE status = 'failed') AS n_failed,
       count(*) FILTER (WHERE status IN ('pending', 'running')) AS n_open,
       coalesce(sum(n_rows) FILTER (WHERE status = 'done' AND starts_with(worker, %(prefix)s)), 0) AS rows,
       max(CASE WHEN status = 'running' THEN lease_until WHEN status = 'pending' THEN not_before END)
           - now() AS wait,
       array_agg(id || ': ' || error) FILTER (WHERE status = 'failed') AS errors
  FROM extraction_jobs WHERE id = ANY(%(job_ids)s::bigint[])
"""

# Give back the jobs a cancelled run's workers still hold (a late commit then fails: LeaseLost).
_RELEASE_RUN_JOBS = """
UPDATE extraction_jobs SET status = 'pending', lease_until = NULL, worker = NULL, not_before = now()
 WHERE status = 'running' AND starts_with(worker, %(prefix)s)
"""

_INSERT_RUN = """
INSERT INTO batch_runs (id, notebook, parameters, started_by, scheduler, n_chunks, output_dir)
VALUES (%(id)s, %(notebook)s, %(parameters)s, %(started_by)s, %(scheduler)s, %(n_chunks)s, %(output_dir)s)
"""

_INSERT_CHUNK = """
INSERT INTO batch_chunks (run_id, chunk, job_ids, output_path)
VALUES (%(run_id)s, %(chunk)s, %(job_ids)s, %(output_path)s)
"""

_START_CHUNK = """
UPDATE batch_chunks SET status = 'running', attempts = %(attempts)s, started_at = coalesce(started_at, now())
 WHERE run_id = %(run_id)s AND chunk = %(chunk)s
"""

_FINISH_CHUNK = """
UPDATE batch_chunks SET status = %(status)s, rows_written = %(rows)s, error = %(error)s, finished_at = now()
 WHERE run_id = %(run_id)s AND chunk = %(chunk)s
"""

_FINISH_RUN = """
UPDATE batch_runs r SET status = %(status)s, finished_at = now(),
       rows_written = (SELECT coalesce(sum(rows_written), 0) FROM batch_chunks c WHERE c.run_id = r.id)
 WHERE id = %(id)s
RETURNING rows_written
"""

# A chunk still 'running' or 'pending' when its run stops (interrupted) is closed as failed.
_CLOSE_OPEN_CHUNKS = """
UPDATE batch_chunks SET status = 'failed', error = coalesce(error, %(error)s), finished_at = now()
 WHERE run_id = %(run_id)s AND status IN ('pending', 'running')
"""

_LIST_RUNS = """
SELECT r.id, r.notebook, r.parameters, r.status, r.started_by, r.started_at, r.finished_at,
       r.scheduler, r.n_chunks, r.rows_written, r.output_dir,
       count(c.chunk) FILTER (WHERE c.status = 'done') AS chunks_done,
       count(c.chunk) FILTER (WHERE c.status = 'failed') AS chunks_failed
  FROM batch_runs r LEFT JOIN batch_chunks c ON c.run_id = r.id
 GROUP BY r.id ORDER BY r.started_at DESC, r.id DESC LIMIT %(limit)s
"""

_GET_RUN = """
SELECT id, notebook, parameters, status, started_by, started_at, finished_at, scheduler, n_chunks,
       rows_written, output_dir
  FROM batch_runs WHERE id = %(id)s
"""

_GET_CHUNKS = """
SELECT chunk, status, attempts, job_ids, rows_written, error, output_path, started_at, finished_at
  FROM batch_chunks WHERE run_id = %(run_id)s ORDER BY chunk
"""


def open_jobs(conn: Conn, set_id: int) -> list[int]:
    """Ids of the pending and running jobs of a parcel set, in claim order."""
    return [int(r["id"]) for r in conn.execute(_OPEN_JOBS, {"set_id": set_id})]


def sets_with_work(conn: Conn) -> list[dict[str, Any]]:
    """(aoi, year, ptype, n) of every parcel set with claimable jobs."""
    return conn.execute(_SETS_WITH_WORK).fetchall()


def chunk_jobs_state(conn: Conn, job_ids: list[int], prefix: str) -> dict[str, Any]:
    """Done, failed and open counts of a chunk's jobs, rows its workers wrote, wait, errors."""
    row = conn.execute(_CHUNK_JOBS_STATE, {"job_ids": job_ids, "prefix": prefix}).fetchone()
    assert row is not None  # an aggregate always returns a row
    return row


def release_run_jobs(conn: Conn, prefix: str) -> int:
    """Put the jobs held by workers named ``prefix...`` back to 'pending'; returns how many."""
    return conn.execute(_RELEASE_RUN_JOBS, {"prefix": prefix}).rowcount


def insert_run(conn: Conn, *, run_id: str, notebook: str, parameters: dict[str, Any], started_by: str | None,
               scheduler: str | None, n_chunks: int, output_dir: str | None) -> None:
    """Insert a batch run."""
    conn.execute(_INSERT_RUN, {"id": run_id, "notebook": notebook, "parameters": Jsonb(parameters),
                               "started_by": started_by, "scheduler": scheduler, "n_chunks": n_chunks,
                               "output_dir": output_dir})


def insert_chunk(conn: Conn, *, run_id: str, chunk: int, job_ids: list[int], output_path: str | None) -> None:
    """Insert one chunk of a run (status 'pending')."""
    conn.execute(_INSERT_CHUNK, {"run_id": run_id, "chunk": chunk, "job_ids": job_ids,
                                 "output_path": output_path})


def start_chunk(conn: Conn, run_id: str, chunk: int, attempts: int) -> None:
    """Mark a chunk running (attempt ``attempts``)."""
    conn.execute(_START_CHUNK, {"run_id": run_id, "chunk": chunk, "attempts": attempts})


def finish_chunk(conn: Conn, run_id: str, chunk: int, *, status: str, rows: int, error: str | None) -> None:
    """Store a chunk's final status, rows and error."""
    conn.execute(_FINISH_CHUNK, {"run_id": run_id, "chunk": chunk, "status": status, "rows": rows,
                                 "error": error})


def close_open_chunks(conn: Conn, run_id: str, error: str) -> None:
    """Close a stopped run's pending or running chunks as failed."""
    conn.execute(_CLOSE_OPEN_CHUNKS, {"run_id": run_id, "error": error})


def finish_run(conn: Conn, run_id: str, status: str) -> int:
    """Close a run with ``status``; returns its rows written (0 when the run does not exist)."""
    row = conn.execute(_FINISH_RUN, {"id": run_id, "status": status}).fetchone()
    return int(row["rows_written"]) if row else 0


def list_runs(conn: Conn, limit: int) -> list[dict[str, Any]]:
    """The most recent runs, newest first, with chunk counts."""
    return conn.execute(_LIST_RUNS, {"limit": limit}).fetchall()


def get_run(conn: Conn, run_id: str) -> dict[str, Any] | None:
    """One run, or None."""
    return conn.execute(_GET_RUN, {"id": run_id}).fetchone()


def get_chunks(conn: Conn, run_id: str) -> list[dict[str, Any]]:
    """The chunks of a run, by chunk number."""
    return conn.execute(_GET_CHUNKS, {"run_id": run_id}).fetchall()


def ping(conn: Conn) -> None:
    """Round-trip to the database (raises if it does not answer)."""
    conn.execute("SELECT 1")


def batch_runs(conn: Conn, aois: list[str] | None, limit: int) -> list[dict[str, Any]]:
    """Latest batch runs; ``aois`` restricts to runs whose ``aoi`` parameter is granted."""
    return conn.execute(
        "SELECT id, notebook, parameters, status, started_by, started_at, finished_at, n_chunks, "
        "rows_written FROM batch_runs WHERE %(all)s OR parameters->>'aoi' = ANY(%(aois)s) "
        "ORDER BY started_at DESC LIMIT %(limit)s",
        {"all": aois is None, "aois": aois or [], "limit": limit}).fetchall()


def batch_run(conn: Conn, run_id: str) -> dict[str, Any] | None:
    """One batch run with its chunks, or None."""
    run = conn.execute("SELECT * FROM batch_runs WHERE id = %s", (run_id,)).fetchone()
    if run is not None:
        run["chunks"] = conn.execute(
            "SELECT chunk, status, attempts, rows_written, error, started_at, finished_at "
            "FROM batch_chunks WHERE run_id = %s ORDER BY chunk", (run_id,)).fetchall()
    return run
