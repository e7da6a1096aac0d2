"""The extraction job queue in PostgreSQL (one job per image x parcel set).

Workers on any number of machines claim the oldest pending job with ``FOR UPDATE SKIP LOCKED``;
a job whose lease expired (its worker died) is claimable again; a job's rows and its 'done'
status commit in one transaction, and only the current lease holder may commit them.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass

import psycopg
from psycopg.rows import DictRow

from backend.db import queries_extraction as q
from backend.settings import Settings


def worker_id() -> str:
    """A unique id for this worker process (host, pid and a random suffix)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Job:
    """A claimed job."""

    id: int
    image_id: int
    set_id: int
    attempts: int
    worker: str


def claim(conn: psycopg.Connection[DictRow], settings: Settings, worker: str, *, aoi: str,
          year: int, job_ids: list[int] | None = None) -> Job | None:
    """Claim the oldest claimable job of a parcel set (commits at once), or None if none is left."""
    with conn.transaction():
        row = conn.execute(q.CLAIM_JOB, {"worker": worker, "lease_s": settings.job_lease_s,
                                         "aoi": aoi, "year": year, "job_ids": job_ids}).fetchone()
    if row is None:
        return None
    return Job(row["id"], row["image_id"], row["set_id"], row["attempts"], worker)


def lock_owned(conn: psycopg.Connection[DictRow], job: Job) -> bool:
    """Inside the final transaction: lock the job if this worker still holds its lease."""
    row = conn.execute(q.LOCK_OWNED_JOB, {"job_id": job.id, "worker": job.worker}).fetchone()
    return row is not None


def fail(conn: psycopg.Connection[DictRow], settings: Settings, job: Job, error: str, *,
         permanent: bool) -> str:
    """Record a failure: back to 'pending' with exponential backoff, or 'failed' for good.

    Returns:
        The job's new status ('pending', 'failed'), or 'lost' if the lease had been taken over.
    """
    with conn.transaction():
        row = conn.execute(q.FAIL_JOB, {
            "job_id": job.id, "worker": job.worker, "error": error[:2000], "permanent": permanent,
            "max_attempts": settings.job_max_attempts, "backoff_s": settings.job_backoff_s,
        }).fetchone()
    return str(row["status"]) if row else "lost"


def renew_lease(conn: psycopg.Connection[DictRow], settings: Settings, job: Job) -> None:
    """Extend the lease of a long-running job."""
    with conn.transaction():
        conn.execute(q.RENEW_LEASE, {"job_id": job.id, "worker": job.worker,
                                     "lease_s": settings.job_lease_s})


def reset_for_force(conn: psycopg.Connection[DictRow], aoi: str, year: int) -> int:
    """Make every finished or failed job of a set pending again (``--force``)."""
    with conn.transaction():
        cur = conn.execute(q.RESET_FOR_FORCE, {"aoi": aoi, "year": year})
    return cur.rowcount


def counts(conn: psycopg.Connection[DictRow], aoi: str, year: int) -> dict[str, int]:
    """Jobs per status for a parcel set."""
    rows = conn.execute(q.JOB_COUNTS, {"aoi": aoi, "year": year}).fetchall()
    return {r["status"]: int(r["n"]) for r in rows}
