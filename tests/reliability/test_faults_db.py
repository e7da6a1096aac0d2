"""Database-side faults mid-COPY: the worker's connection terminated by another session
(``pg_terminate_backend``) and the worker process killed with SIGKILL.

A test-only row trigger on ``signatures`` waits for an advisory lock that the test holds, so the
fault lands while the worker is inside its COPY (its final transaction). Afterwards nothing of
that job is committed, the job is reclaimed when its lease expires, and the rerun's rows equal
the fault-free run's row for row.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from relscene import AOI, YEAR, checksum, job_counts, load_local, record

from backend.db import connect
from backend.extraction.service import extract
from backend.settings import Settings

GATE_KEY = 424242
GATE_SQL = f"""
CREATE FUNCTION rel_gate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_advisory_xact_lock_shared({GATE_KEY}); RETURN NEW; END $$;
CREATE TRIGGER rel_gate BEFORE INSERT ON signatures FOR EACH ROW EXECUTE FUNCTION rel_gate();
"""
IN_COPY = ("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND "
           "wait_event = 'advisory' AND query LIKE 'COPY signatures%'")


@pytest.fixture()
def gate(clean_db: Settings) -> Iterator[psycopg.Connection]:
    """Install the COPY gate and hold it closed; yields the holding connection."""
    with connect(clean_db, autocommit=True) as admin:
        admin.execute(GATE_SQL)
        admin.execute("SELECT pg_advisory_lock(%s)", (GATE_KEY,))
        try:
            yield admin
        finally:
            admin.execute("SELECT pg_advisory_unlock_all()")
            admin.execute("DROP TRIGGER IF EXISTS rel_gate ON signatures; DROP FUNCTION IF EXISTS rel_gate()")


def _wait_in_copy(conn: psycopg.Connection, timeout_s: float = 60) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        row = conn.execute(IN_COPY).fetchone()
        if row:
            return int(row["pid"])
        time.sleep(0.05)
    raise AssertionError("the worker never reached its COPY")


def _rerun_after_lease(s: Settings) -> int:
    with connect(s) as conn:
        left = conn.execute("SELECT extract(epoch FROM max(lease_until) - now()) AS s FROM extraction_jobs "
                            "WHERE status = 'running'").fetchone()["s"]
    time.sleep(max(0.0, float(left or 0)) + 0.2)
    return extract(s, aoi=AOI, year=YEAR).done


def _check(s: Settings, baseline, fault: str, rows_at_kill: int) -> None:
    got = checksum(s)
    record("fault", fault=fault, injected=1, survived=got == baseline.checksum,
           lost=baseline.checksum["n"] - got["n_distinct"], duplicated=got["n"] - got["n_distinct"])
    assert rows_at_kill == 0, "rows of the interrupted COPY were committed"
    assert job_counts(s) == {"done": 3}
    assert got == baseline.checksum


def test_connection_terminated_mid_copy(clean_db: Settings, baseline, gate: psycopg.Connection) -> None:
    s = Settings(**{**clean_db.model_dump(), "job_lease_s": 10})
    load_local(s, baseline.root)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            extract(s, aoi=AOI, year=YEAR)
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    pid = _wait_in_copy(gate)
    gate.execute("SELECT pg_terminate_backend(%s)", (pid,))
    worker.join(30)
    gate.execute("SELECT pg_advisory_unlock_all()")
    gate.execute("DROP TRIGGER rel_gate ON signatures")
    assert len(errors) == 1 and isinstance(errors[0], psycopg.OperationalError), errors
    rows_at_kill = checksum(s)["n"]
    assert _rerun_after_lease(s) == 3
    _check(s, baseline, "pg-terminate-mid-copy", rows_at_kill)


def test_worker_sigkilled_mid_copy(clean_db: Settings, baseline, gate: psycopg.Connection) -> None:
    s = Settings(**{**clean_db.model_dump(), "job_lease_s": 10})
    load_local(s, baseline.root)
    env = {**os.environ, "CBM_DEMO_MODE": "true", "CBM_DATABASE_URL": s.database_url.get_secret_value(),
           "CBM_VAR_DIR": str(s.var_dir), "CBM_JOB_LEASE_S": "10"}
    code = f"from backend.extraction.service import extract; from backend.settings import Settings; " \
           f"extract(Settings(), aoi={AOI!r}, year={YEAR})"
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        backend_pid = _wait_in_copy(gate)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        proc.kill()
    gate.execute("SELECT pg_advisory_unlock_all()")  # the orphaned backend reads EOF and rolls back
    gate.execute("DROP TRIGGER rel_gate ON signatures")
    deadline = time.monotonic() + 30
    while gate.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (backend_pid,)).fetchone():
        assert time.monotonic() < deadline, "the killed worker's backend did not go away"
        time.sleep(0.05)
    rows_at_kill = checksum(s)["n"]
    assert _rerun_after_lease(s) == 3
    _check(s, baseline, "sigkill-mid-copy", rows_at_kill)
