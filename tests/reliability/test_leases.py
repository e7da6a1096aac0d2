"""Job leases renew while their worker lives: a job longer than its lease is never taken over,
a dead worker's job is taken over once its lease has run out, and no row is lost or duplicated.

The workers are real ``cbm extract`` processes with a 10 s lease (the shortest the settings
allow). A job is made to last as long as the test wants by holding an ``ACCESS EXCLUSIVE``
lock on ``parcels``: a worker that claimed a job waits for it when it reads the job's parcels
(before any row is written), while claiming and renewing leases do not touch that table.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from relscene import AOI, YEAR, checksum, load_local

from backend.db import connect
from backend.extraction import jobs
from backend.settings import Settings

LEASE_S = 10
WAITING = ("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() "
           "AND wait_event_type = 'Lock' AND query LIKE '%FROM parcels p%'")
RUNNING = ("SELECT id, attempts, worker, extract(epoch FROM lease_until - started_at) AS lease_s, "
           "extract(epoch FROM lease_until - now()) AS left_s FROM extraction_jobs "
           "WHERE status = 'running' ORDER BY id")


@pytest.fixture()
def leased(clean_db: Settings, baseline) -> Settings:
    """The scene's 3 jobs pending, with a 10 s lease."""
    s = Settings(**{**clean_db.model_dump(), "job_lease_s": LEASE_S})
    load_local(s, baseline.root)
    return s


@pytest.fixture()
def parcels_locked(leased: Settings) -> Iterator[psycopg.Connection]:
    """A connection holding ``parcels`` locked until the test commits (or the fixture ends)."""
    with connect(leased) as conn:
        conn.execute("LOCK TABLE parcels IN ACCESS EXCLUSIVE MODE")
        try:
            yield conn
        finally:
            conn.rollback()


def _worker(s: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CBM_DEMO_MODE": "true", "CBM_DATABASE_URL": s.database_url.get_secret_value(),
           "CBM_VAR_DIR": str(s.var_dir), "CBM_JOB_LEASE_S": str(LEASE_S)}
    with log.open("wb") as out:
        return subprocess.Popen([str(Path(sys.executable).parent / "cbm"), "extract", "--aoi", AOI,
                                 "--year", str(YEAR), "--no-progress"], env=env, stdout=out,
                                stderr=subprocess.STDOUT)


def _wait_blocked(s: Settings, n: int, procs: list[subprocess.Popen[bytes]], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    with connect(s, autocommit=True) as conn:
        while conn.execute(WAITING).fetchone()["n"] < n:
            assert all(p.poll() is None for p in procs), "a worker exited before reading its parcels"
            assert time.monotonic() < deadline, f"{n} workers never waited for the parcels"
            time.sleep(0.1)


def _running(s: Settings) -> list[dict]:
    with connect(s, autocommit=True) as conn:
        return conn.execute(RUNNING).fetchall()


def _try_take_over(s: Settings, job_ids: list[int]) -> jobs.Job | None:
    with connect(s, autocommit=True) as conn:
        return jobs.claim(conn, s, "intruder", aoi=AOI, year=YEAR, job_ids=job_ids)


def _attempts(s: Settings) -> dict[int, tuple[str, int]]:
    with connect(s) as conn:
        rows = conn.execute("SELECT id, status, attempts FROM extraction_jobs ORDER BY id").fetchall()
    return {r["id"]: (r["status"], r["attempts"]) for r in rows}


def test_job_longer_than_its_lease_is_never_taken_over(leased: Settings, baseline, tmp_path: Path,
                                                       parcels_locked: psycopg.Connection) -> None:
    procs = [_worker(leased, tmp_path / f"worker-{i}.log") for i in range(2)]
    try:
        _wait_blocked(leased, 2, procs)
        held = [r["id"] for r in _running(leased)]
        assert len(held) == 2
        until = time.monotonic() + 1.6 * LEASE_S  # the jobs outlive their first lease by 60 %
        while time.monotonic() < until:
            assert _try_take_over(leased, held) is None, "a live worker's job was taken over"
            time.sleep(0.5)
        running = _running(leased)
        assert [r["id"] for r in running] == held
        assert all(r["lease_s"] > 1.5 * LEASE_S for r in running), running  # renewed, not the first lease
        parcels_locked.commit()  # the jobs go on
        for p in procs:
            assert p.wait(120) == 0, (tmp_path / "worker-0.log").read_text()
    finally:
        for p in procs:
            p.kill()
    assert list(_attempts(leased).values()) == [("done", 1)] * 3  # each job claimed once
    assert checksum(leased) == baseline.checksum


def test_dead_workers_job_is_taken_over_after_its_lease(leased: Settings, baseline, tmp_path: Path,
                                                        parcels_locked: psycopg.Connection) -> None:
    from backend.extraction.service import extract

    proc = _worker(leased, tmp_path / "worker.log")
    try:
        _wait_blocked(leased, 1, [proc])
        deadline = time.monotonic() + 3 * LEASE_S
        while (running := _running(leased))[0]["lease_s"] <= LEASE_S + 1:  # wait for a renewal
            assert time.monotonic() < deadline, "the lease was never renewed"
            time.sleep(0.2)
        job_id = running[0]["id"]
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        proc.kill()
    parcels_locked.commit()
    assert _try_take_over(leased, [job_id]) is None  # its lease still runs
    time.sleep(max(0.0, float(_running(leased)[0]["left_s"])) + 0.2)
    report = extract(leased, aoi=AOI, year=YEAR)
    assert (report.done, report.failed, report.lost) == (3, 0, 0)
    assert _attempts(leased)[job_id] == ("done", 2)
    assert checksum(leased) == baseline.checksum


def test_stalled_worker_loses_its_job_and_writes_none_of_it(leased: Settings, baseline, tmp_path: Path,
                                                            parcels_locked: psycopg.Connection) -> None:
    """A worker frozen past its lease (SIGSTOP, as a paused VM) comes back after another worker took
    its job: it writes none of that job's rows, does the other jobs, says so and exits 75."""
    from backend.extraction.service import _Worker

    log = tmp_path / "worker.log"
    proc = _worker(leased, log)
    try:
        _wait_blocked(leased, 1, [proc])
        job_id = _running(leased)[0]["id"]
        proc.send_signal(signal.SIGSTOP)  # its heartbeat stops with it
        time.sleep(max(0.0, float(_running(leased)[0]["left_s"])) + 0.2)
        intruder = _try_take_over(leased, [job_id])
        assert intruder is not None and intruder.id == job_id
        parcels_locked.commit()
        proc.send_signal(signal.SIGCONT)
        assert proc.wait(120) == 75, log.read_text()
    finally:
        proc.kill()
    out = log.read_text()
    assert "1 job(s) taken over by another worker" in out and "2 images done" in out, out
    assert _attempts(leased)[job_id] == ("running", 2)  # the intruder's claim, not renewed by the old worker
    with connect(leased) as conn:
        rows = conn.execute("SELECT count(*) AS n FROM signatures s JOIN extraction_jobs j ON "
                            "j.image_id = s.image_id AND j.set_id = s.set_id WHERE j.id = %s",
                            (job_id,)).fetchone()["n"]
        assert rows == 0  # the stalled worker wrote nothing of the job it lost
        _Worker(leased, conn).run(intruder)  # the intruder does the job
    assert [st for st, _ in _attempts(leased).values()] == ["done"] * 3
    assert checksum(leased) == baseline.checksum  # nothing lost, nothing twice


def test_renewal_never_waits_for_the_workers_final_transaction(leased: Settings) -> None:
    with connect(leased, autocommit=True) as conn:
        job = jobs.claim(conn, leased, "worker-1", aoi=AOI, year=YEAR)
        assert job is not None
        with connect(leased) as final:  # the worker's final transaction holds the job row
            assert jobs.lock_owned(final, job)
            with jobs.Heartbeat(leased) as heartbeat, heartbeat.holding(job):
                t0 = time.monotonic()
                assert heartbeat.beat() is True  # still held, left to the lock
                assert time.monotonic() - t0 < 2
            final.rollback()
        with jobs.Heartbeat(leased) as heartbeat, heartbeat.holding(job):
            lease = "SELECT lease_until FROM extraction_jobs WHERE id = %s"
            before = conn.execute(lease, (job.id,)).fetchone()["lease_until"]
            assert heartbeat.beat() is True
            assert conn.execute(lease, (job.id,)).fetchone()["lease_until"] > before
            conn.execute("UPDATE extraction_jobs SET worker = 'worker-2' WHERE id = %s", (job.id,))
            assert heartbeat.beat() is False  # taken over: not renewed
