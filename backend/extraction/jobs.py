"""The extraction job queue in PostgreSQL (one job per image x parcel set).

Workers on any number of machines claim the oldest pending job with ``FOR UPDATE SKIP LOCKED``;
a job whose lease expired (its worker died) is claimable again; a job's rows and its 'done'
status commit in one transaction, and only the current lease holder may commit them. While a
worker lives, its :class:`Heartbeat` renews the lease of the job in hand, however long it runs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import psycopg
from psycopg.rows import DictRow

from backend.db import connect
from backend.db import queries_extraction as q
from backend.errors import DatabaseError
from backend.parcels.sets import ParcelSetKey, resolve_set
from backend.settings import Settings

log = logging.getLogger(__name__)


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
          year: int, ptype: str = "", job_ids: list[int] | None = None) -> Job | None:
    """Claim the oldest claimable job of the parcel set (aoi, year, ptype) (commits at once), or None."""
    with conn.transaction():
        row = q.claim_job(conn, worker=worker, lease_s=settings.job_lease_s, aoi=aoi, year=year, ptype=ptype,
                          job_ids=job_ids)
    if row is None:
        return None
    return Job(row["id"], row["image_id"], row["set_id"], row["attempts"], worker)


def lock_owned(conn: psycopg.Connection[DictRow], job: Job) -> bool:
    """Inside the final transaction: lock the job if this worker still holds its lease."""
    return q.lock_owned_job(conn, job.id, job.worker)


def fail(conn: psycopg.Connection[DictRow], settings: Settings, job: Job, error: str, *,
         permanent: bool) -> str:
    """Record a failure: back to 'pending' with exponential backoff, or 'failed' for good.

    Returns:
        The job's new status ('pending', 'failed'), or 'lost' if the lease had been taken over.
    """
    with conn.transaction():
        status = q.fail_job(conn, job_id=job.id, worker=job.worker, error=error[:2000], permanent=permanent,
                            max_attempts=settings.job_max_attempts, backoff_s=settings.job_backoff_s)
    return status or "lost"


def renew_lease(conn: psycopg.Connection[DictRow], settings: Settings, job: Job) -> bool:
    """Extend the lease of a running job by ``settings.job_lease_s`` from now; never waits.

    A job whose row its worker's final transaction has locked is left as it is: that lock keeps
    every other worker off the job until it commits.

    Returns:
        True while ``job.worker`` still holds the job, False once it was taken over or finished.
    """
    with conn.transaction():
        return q.renew_lease(conn, job.id, job.worker, settings.job_lease_s)


class Heartbeat:
    """Renews the lease of the job in hand every third of the lease, from a thread of its own.

    The thread has its own connection, because the worker's connection may be inside a long
    statement or its final transaction. A beat that cannot reach the database is logged and
    tried again at the next beat; should the lease run out meanwhile, another worker may take
    the job over and the first worker's final ``lock_owned`` check refuses its rows.

    Use it as a context manager around a worker's loop and ``holding(job)`` around each job.
    """

    def __init__(self, settings: Settings, *, interval_s: float | None = None) -> None:
        self.settings = settings
        self.interval_s = interval_s if interval_s is not None else settings.job_lease_s / 3
        self._job: Job | None = None
        self._conn: psycopg.Connection[DictRow] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="cbm-lease-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()
        self._close()

    @contextlib.contextmanager
    def holding(self, job: Job) -> Iterator[Job]:
        """Renew ``job``'s lease until the block ends."""
        self._job = job
        try:
            yield job
        finally:
            self._job = None

    def beat(self) -> bool | None:
        """Renew the lease of the job in hand now.

        Returns:
            True renewed (or locked by its worker's final transaction), False taken over or
            finished meanwhile, None nothing in hand or the database unreachable.
        """
        job = self._job
        if job is None:
            return None
        try:
            held = renew_lease(self._connection(), self.settings, job)
        except (DatabaseError, psycopg.Error) as exc:
            log.warning("job %d: lease not renewed (tried again in %.0f s): %s", job.id, self.interval_s, exc)
            self._close()
            return None
        if not held and self._job is job:
            log.warning("job %d: %s no longer holds it (lease taken over)", job.id, job.worker)
        return held

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.beat()

    def _connection(self) -> psycopg.Connection[DictRow]:
        if self._conn is None or self._conn.closed:
            timeout_ms = int(max(self.interval_s, 1.0) * 1000)
            self._conn = connect(self.settings, autocommit=True,
                                 options=f"-c statement_timeout={timeout_ms}",
                                 application_name="cbm lease heartbeat")
        return self._conn

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None


def reset_for_force(conn: psycopg.Connection[DictRow], aoi: str, year: int, ptype: str = "") -> int:
    """Make every finished or failed job of the set (aoi, year, ptype) pending again (``--force``)."""
    with conn.transaction():
        return q.reset_for_force(conn, aoi, year, ptype)


def counts(conn: psycopg.Connection[DictRow], aoi: str, year: int, ptype: str = "") -> dict[str, int]:
    """Jobs per status for the parcel set (aoi, year, ptype)."""
    return q.job_counts(conn, aoi, year, ptype)


MAX_FAILED_JOBS = 50


def set_status(conn: psycopg.Connection[DictRow], key: ParcelSetKey) -> dict[str, Any]:
    """Extraction-job counts of a set by status, rows written and its latest failures."""
    return {"aoi": key.aoi, "year": key.year, "ptype": key.ptype,
            **q.jobs_status(conn, resolve_set(conn, key)["id"], MAX_FAILED_JOBS)}
