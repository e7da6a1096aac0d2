"""The embedded PostgreSQL 15 + PostGIS cluster in ``var/pg`` (used when no external URL is set).

PostgreSQL refuses to run as root, so when the project runs as root the cluster runs as a
dedicated system user (``settings.pg_system_user``). It listens on a unix socket in ``var/run``
(trust, reachable only by root and that user) and on the loopback port from settings
(scram-sha-256 with ``CBM_PG_PASSWORD``).
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import subprocess
import tempfile
from enum import StrEnum
from pathlib import Path

import psycopg

from backend.db import connect, database_url, redact
from backend.errors import ClusterError, DatabaseError
from backend.settings import Settings

log = logging.getLogger(__name__)


class DbState(StrEnum):
    """What ``cbm db status`` reports."""

    NOT_CREATED = "not created"
    STOPPED = "stopped"
    RUNNING = "running"
    UNREACHABLE = "unreachable"


def _run_as(settings: Settings) -> list[str]:
    if os.geteuid() != 0:
        return []
    user = settings.pg_system_user
    try:
        pwd.getpwnam(user)
    except KeyError:
        raise ClusterError(
            f"system user {user!r} does not exist; create it with: useradd --system "
            f"--no-create-home --shell /usr/sbin/nologin {user} (make does this)"
        ) from None
    return ["runuser", "-u", user, "--"]


def _pg(settings: Settings, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    exe = settings.pg_bin / tool
    if not exe.exists():
        raise ClusterError(
            f"{exe} not found: install PostgreSQL 15 + PostGIS with "
            "`apt-get install -y postgresql-15-postgis-3` (or set CBM_PG_BIN)"
        )
    cmd = [*_run_as(settings), str(exe), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise ClusterError(f"{tool} failed: {detail[-1] if detail else proc.returncode}")
    return proc


def _owner_uid(settings: Settings) -> tuple[int, int]:
    if os.geteuid() != 0:
        return os.geteuid(), os.getegid()
    entry = pwd.getpwnam(settings.pg_system_user)
    return entry.pw_uid, entry.pw_gid


def _check_traversable(path: Path, settings: Settings) -> None:
    """Refuse a var/ below a directory the cluster's user cannot enter (e.g. a 0700 home)."""
    if os.geteuid() != 0:
        return
    for parent in reversed(path.resolve().parents):
        if parent.stat().st_mode & 0o001 == 0:
            raise ClusterError(
                f"{parent} is not traversable by user {settings.pg_system_user!r}; "
                f"set CBM_VAR_DIR to a directory outside it (e.g. /var/lib/cbm) or chmod o+x {parent}"
            )


def _prepare_dirs(settings: Settings) -> None:
    uid, gid = _owner_uid(settings)
    _check_traversable(settings.var_dir, settings)
    for d in (settings.pg_data_dir.parent, settings.pg_data_dir, settings.pg_socket_dir):
        d.mkdir(parents=True, exist_ok=True)
        os.chown(d, uid, gid)
    settings.pg_data_dir.chmod(0o700)
    settings.pg_socket_dir.chmod(0o700)


def init(settings: Settings) -> bool:
    """Create the cluster on first use. Returns True when it was created now."""
    if (settings.pg_data_dir / "PG_VERSION").exists():
        return False
    _prepare_dirs(settings)
    uid, gid = _owner_uid(settings)
    with tempfile.NamedTemporaryFile("w", dir=settings.pg_data_dir.parent, delete=False) as fh:
        fh.write(settings.pg_password.get_secret_value() + "\n")
    pwfile = Path(fh.name)
    os.chown(pwfile, uid, gid)
    try:
        _pg(settings, "initdb", "-D", str(settings.pg_data_dir), "-U", "postgres", "-E", "UTF8",
            "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}")
    except ClusterError:
        shutil.rmtree(settings.pg_data_dir, ignore_errors=True)
        raise
    finally:
        pwfile.unlink(missing_ok=True)
    log.info("created PostgreSQL cluster in %s", settings.pg_data_dir)
    return True


def _server_opts(settings: Settings) -> str:
    return (f"-k {settings.pg_socket_dir} -p {settings.pg_port} -c listen_addresses=127.0.0.1 "
            "-c shared_buffers=512MB -c max_connections=200 -c max_wal_size=4GB "
            "-c work_mem=32MB -c maintenance_work_mem=512MB")


def _pg_ctl_running(settings: Settings) -> bool:
    if not (settings.pg_data_dir / "PG_VERSION").exists():
        return False
    return _pg(settings, "pg_ctl", "status", "-D", str(settings.pg_data_dir), check=False).returncode == 0


def start(settings: Settings) -> str:
    """Create (if needed) and start the embedded cluster; a running cluster is left alone.

    Returns:
        A sentence saying what was done.
    """
    _require_embedded(settings)
    created = init(settings)
    if _pg_ctl_running(settings):
        ensure_database(settings)
        return f"database already running on port {settings.pg_port}"
    _prepare_dirs(settings)
    log_file = settings.pg_log_file
    log_file.touch()
    uid, gid = _owner_uid(settings)
    os.chown(log_file, uid, gid)
    # pg_ctl detects and replaces a stale postmaster.pid left by a crash.
    _pg(settings, "pg_ctl", "start", "-D", str(settings.pg_data_dir), "-l", str(log_file),
        "-o", _server_opts(settings), "-w", "-t", "60")
    ensure_database(settings)
    what = "created and started" if created else "started"
    return f"database {what} on port {settings.pg_port} (socket in {settings.pg_socket_dir})"


def stop(settings: Settings) -> str:
    """Stop the embedded cluster (fast shutdown). Stopping a stopped cluster is fine."""
    _require_embedded(settings)
    if not _pg_ctl_running(settings):
        return "database is not running"
    _pg(settings, "pg_ctl", "stop", "-D", str(settings.pg_data_dir), "-m", "fast", "-w", "-t", "60")
    return "database stopped"


def ensure_database(settings: Settings) -> None:
    """Create the project database with PostGIS in the embedded cluster if missing."""
    with connect(settings, dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              (settings.pg_dbname,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{settings.pg_dbname}"')
    with connect(settings, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")


def status(settings: Settings) -> tuple[DbState, str]:
    """Report the database state in plain words, for embedded and external databases."""
    if settings.uses_embedded_db:
        if not (settings.pg_data_dir / "PG_VERSION").exists():
            return DbState.NOT_CREATED, f"no cluster in {settings.pg_data_dir}: run `cbm db start`"
        if not _pg_ctl_running(settings):
            return DbState.STOPPED, "database is stopped: run `cbm db start`"
    url = redact(database_url(settings))
    try:
        with connect(settings) as conn:
            row = conn.execute("SELECT version() AS v, postgis_lib_version() AS g").fetchone()
    except DatabaseError as exc:
        return DbState.UNREACHABLE, str(exc)
    except psycopg.Error as exc:
        return DbState.UNREACHABLE, f"{url}: {str(exc).strip()} (is PostGIS installed?)"
    assert row is not None
    version = row["v"].split(" on ")[0]
    return DbState.RUNNING, f"database running at {url}: {version}, PostGIS {row['g']}"


def _require_embedded(settings: Settings) -> None:
    if not settings.uses_embedded_db:
        raise ClusterError(
            "CBM_DATABASE_URL is set: the project uses that database and starts no embedded "
            "cluster (unset it to use the one in var/)"
        )
