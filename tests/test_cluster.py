"""Lifecycle of an embedded cluster of its own (own directory and port), not the shared one."""

from __future__ import annotations

import os
import shutil
import signal
import time
import uuid
from collections.abc import Iterator

import pytest
from procs import free_port

from backend.db import cluster
from backend.errors import ClusterError
from backend.settings import PROJECT_ROOT, Settings, load_settings


@pytest.fixture()
def own_cluster() -> Iterator[Settings]:
    # Under the project's var/ (not /tmp/pytest-of-root, which is 0700 and not traversable
    # by the cluster's system user when running as root).
    var = PROJECT_ROOT / "var" / "test-clusters" / uuid.uuid4().hex[:8]
    var.mkdir(parents=True)
    s = load_settings(demo_mode=True, var_dir=var, pg_port=free_port())
    try:
        yield s
    finally:
        try:
            cluster.stop(s)
        finally:
            shutil.rmtree(var, ignore_errors=True)


def _postmaster_pid(s: Settings) -> int:
    return int((s.pg_data_dir / "postmaster.pid").read_text().splitlines()[0])


def _wait_gone(pid: int, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise AssertionError(f"process {pid} still alive")


def test_lifecycle_start_stop_restart(own_cluster: Settings) -> None:
    s = own_cluster
    assert cluster.status(s)[0] is cluster.DbState.NOT_CREATED
    assert "created and started" in cluster.start(s)
    state, msg = cluster.status(s)
    assert state is cluster.DbState.RUNNING and "PostGIS 3" in msg
    assert "already running" in cluster.start(s)
    assert cluster.stop(s) == "database stopped"
    assert cluster.status(s)[0] is cluster.DbState.STOPPED
    assert cluster.stop(s) == "database is not running"
    assert cluster.start(s).startswith("database started")
    assert cluster.status(s)[0] is cluster.DbState.RUNNING


def test_start_after_crash_with_stale_pid_file(own_cluster: Settings) -> None:
    s = own_cluster
    cluster.start(s)
    pid = _postmaster_pid(s)
    os.kill(pid, signal.SIGKILL)
    _wait_gone(pid)
    assert (s.pg_data_dir / "postmaster.pid").exists()  # stale
    assert cluster.status(s)[0] is not cluster.DbState.RUNNING
    deadline = time.monotonic() + 30
    while True:  # orphaned backends exit once they notice the postmaster died
        try:
            cluster.start(s)
            break
        except ClusterError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    assert cluster.status(s)[0] is cluster.DbState.RUNNING
    assert _postmaster_pid(s) != pid


def test_tcp_login_needs_the_password(own_cluster: Settings) -> None:
    import psycopg

    s = own_cluster
    cluster.start(s)
    good = f"postgresql://postgres:{s.pg_password.get_secret_value()}@127.0.0.1:{s.pg_port}/cbm"
    with psycopg.connect(good) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(f"postgresql://postgres:wrong@127.0.0.1:{s.pg_port}/cbm")


def test_external_url_refuses_embedded_commands() -> None:
    s = load_settings(demo_mode=True, database_url="postgresql://x@127.0.0.1:1/y")
    with pytest.raises(ClusterError, match="CBM_DATABASE_URL is set"):
        cluster.start(s)
    state, msg = cluster.status(s)
    assert state is cluster.DbState.UNREACHABLE and "127.0.0.1:1" in msg


def test_missing_binaries_named(own_cluster: Settings, tmp_path) -> None:
    s = load_settings(demo_mode=True, var_dir=own_cluster.var_dir, pg_port=own_cluster.pg_port,
                      pg_bin=tmp_path)
    with pytest.raises(ClusterError, match="postgresql-15-postgis-3"):
        cluster.start(s)
