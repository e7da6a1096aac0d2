"""SQL of the batch runner: run and chunk records, and the job queue as seen by a run."""

from __future__ import annotations

# Unfinished jobs of a parcel set, in the order workers claim them. 'running' jobs are included:
# their worker may have died (the lease expires) or another runner holds them (they finish).
OPEN_JOBS = """
SELECT j.id FROM extraction_jobs j
  JOIN parcel_sets ps ON ps.id = j.set_id
  JOIN images i ON i.id = j.image_id
 WHERE ps.aoi = %(aoi)s AND ps.year = %(year)s AND j.status IN ('pending', 'running')
 ORDER BY i.datetime, j.id
"""

# Parcel sets with claimable work (for `cbm batch watch`).
SETS_WITH_WORK = """
SELECT ps.aoi, ps.year, count(*) AS n FROM extraction_jobs j
  JOIN parcel_sets ps ON ps.id = j.set_id
 WHERE (j.status = 'pending' AND j.not_before <= now())
    OR (j.status = 'running' AND j.lease_until < now())
 GROUP BY ps.aoi, ps.year ORDER BY ps.aoi, ps.year
"""

# State of a chunk's jobs. `rows` counts the signature rows committed by this chunk's workers.
CHUNK_JOBS_STATE = """
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
RELEASE_RUN_JOBS = """
UPDATE extraction_jobs SET status = 'pending', lease_until = NULL, worker = NULL, not_before = now()
 WHERE status = 'running' AND starts_with(worker, %(prefix)s)
"""

INSERT_RUN = """
INSERT INTO batch_runs (id, notebook, parameters, started_by, scheduler, n_chunks, output_dir)
VALUES (%(id)s, %(notebook)s, %(parameters)s, %(started_by)s, %(scheduler)s, %(n_chunks)s, %(output_dir)s)
"""

INSERT_CHUNK = """
INSERT INTO batch_chunks (run_id, chunk, job_ids, output_path)
VALUES (%(run_id)s, %(chunk)s, %(job_ids)s, %(output_path)s)
"""

START_CHUNK = """
UPDATE batch_chunks SET status = 'running', attempts = %(attempts)s, started_at = coalesce(started_at, now())
 WHERE run_id = %(run_id)s AND chunk = %(chunk)s
"""

FINISH_CHUNK = """
UPDATE batch_chunks SET status = %(status)s, rows_written = %(rows)s, error = %(error)s, finished_at = now()
 WHERE run_id = %(run_id)s AND chunk = %(chunk)s
"""

FINISH_RUN = """
UPDATE batch_runs r SET status = %(status)s, finished_at = now(),
       rows_written = (SELECT coalesce(sum(rows_written), 0) FROM batch_chunks c WHERE c.run_id = r.id)
 WHERE id = %(id)s
RETURNING rows_written
"""

# A chunk still 'running' or 'pending' when its run stops (interrupted) is closed as failed.
CLOSE_OPEN_CHUNKS = """
UPDATE batch_chunks SET status = 'failed', error = coalesce(error, %(error)s), finished_at = now()
 WHERE run_id = %(run_id)s AND status IN ('pending', 'running')
"""

LIST_RUNS = """
SELECT r.id, r.notebook, r.parameters, r.status, r.started_by, r.started_at, r.finished_at,
       r.scheduler, r.n_chunks, r.rows_written, r.output_dir,
       count(c.chunk) FILTER (WHERE c.status = 'done') AS chunks_done,
       count(c.chunk) FILTER (WHERE c.status = 'failed') AS chunks_failed
  FROM batch_runs r LEFT JOIN batch_chunks c ON c.run_id = r.id
 GROUP BY r.id ORDER BY r.started_at DESC, r.id DESC LIMIT %(limit)s
"""

GET_RUN = """
SELECT id, notebook, parameters, status, started_by, started_at, finished_at, scheduler, n_chunks,
       rows_written, output_dir
  FROM batch_runs WHERE id = %(id)s
"""

GET_CHUNKS = """
SELECT chunk, status, attempts, job_ids, rows_written, error, output_path, started_at, finished_at
  FROM batch_chunks WHERE run_id = %(run_id)s ORDER BY chunk
"""
