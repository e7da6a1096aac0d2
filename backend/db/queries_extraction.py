"""SQL of the extraction job queue and the signature writes."""

from __future__ import annotations

CLAIM_JOB = """
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
LOCK_OWNED_JOB = """
SELECT id FROM extraction_jobs
 WHERE id = %(job_id)s AND status = 'running' AND worker = %(worker)s
 FOR UPDATE
"""

DELETE_JOB_ROWS = "DELETE FROM signatures WHERE set_id = %(set_id)s AND image_id = %(image_id)s"

FINISH_JOB = """
UPDATE extraction_jobs
   SET status = 'done', finished_at = now(), lease_until = NULL, error = %(note)s,
       n_parcels = %(n_parcels)s, n_rows = %(n_rows)s
 WHERE id = %(job_id)s
"""

FAIL_JOB = """
UPDATE extraction_jobs
   SET status = CASE WHEN %(permanent)s OR attempts >= %(max_attempts)s THEN 'failed' ELSE 'pending' END,
       not_before = now() + make_interval(secs => %(backoff_s)s * power(2, greatest(attempts - 1, 0))),
       lease_until = NULL, error = %(error)s, finished_at = now()
 WHERE id = %(job_id)s AND worker = %(worker)s AND status = 'running'
RETURNING status
"""

# Never waits: a job row locked by its worker's final transaction is skipped (that lock already
# keeps every other worker off it); 'held' says whether the worker still holds the job at all.
RENEW_LEASE = """
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

RESET_FOR_FORCE = """
UPDATE extraction_jobs j SET status = 'pending', attempts = 0, not_before = now(), error = NULL,
       lease_until = NULL
  FROM parcel_sets ps
 WHERE ps.id = j.set_id AND ps.aoi = %(aoi)s AND ps.year = %(year)s AND ps.ptype = %(ptype)s
   AND j.status <> 'running'
"""

IMAGE_FOR_JOB = """
SELECT i.id, i.item_id, i.collection, i.kind, i.datetime, i.epsg, i.bands, i.item,
       ST_AsBinary(i.footprint) AS footprint
  FROM images i WHERE i.id = %(image_id)s
"""

PARCELS_IN_CRS = """
SELECT p.id, ST_AsBinary(ST_Transform(p.geom, %(epsg)s)) AS wkb
  FROM parcels p WHERE p.set_id = %(set_id)s
 ORDER BY p.id
"""

SET_INFO = "SELECT id, aoi, year, ptype, srid, n_parcels FROM parcel_sets WHERE id = %(set_id)s"

JOB_COUNTS = """
SELECT j.status, count(*) AS n FROM extraction_jobs j JOIN parcel_sets ps ON ps.id = j.set_id
 WHERE ps.aoi = %(aoi)s AND ps.year = %(year)s AND ps.ptype = %(ptype)s GROUP BY j.status
"""
