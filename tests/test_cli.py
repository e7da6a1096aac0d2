"""The `cbm` command run as a real subprocess against the test database."""

from __future__ import annotations

import os
import subprocess
import sys

from backend.db import database_url


def run_cbm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "CBM_DEMO_MODE": "true", **(env or {})}
    return subprocess.run([sys.executable, "-m", "backend", *args], capture_output=True,
                          text=True, env=full_env, timeout=120, check=False)


def test_help_on_every_command():
    for args in ([], ["db"], ["db", "start"], ["db", "status"], ["db", "migrate"]):
        res = run_cbm(*args, "--help")
        assert res.returncode == 0, res.stderr
        assert "Usage" in res.stdout


def test_unknown_command_is_usage_error():
    res = run_cbm("nonsense")
    assert res.returncode == 2
    assert "No such command" in res.stderr


def test_status_and_migrate_on_test_database(settings):
    env = {"CBM_DATABASE_URL": database_url(settings)}
    res = run_cbm("db", "status", env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("running:") and "PostGIS" in res.stdout
    res = run_cbm("db", "migrate", env=env)
    assert res.returncode == 0 and "up to date" in res.stdout


def test_wrong_database_url_is_one_clear_line_without_password():
    env = {"CBM_DATABASE_URL": "postgresql://someone:hunter2@127.0.0.1:9/nowhere"}
    res = run_cbm("db", "migrate", env=env)
    assert res.returncode == 69
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: cannot connect to postgresql://someone:***@127.0.0.1:9")
    assert "hunter2" not in res.stderr and "Traceback" not in res.stderr
    status = run_cbm("db", "status", env=env)
    assert status.returncode == 3 and status.stdout.startswith("unreachable:")


def test_debug_shows_traceback():
    env = {"CBM_DATABASE_URL": "postgresql://someone@127.0.0.1:9/nowhere"}
    res = run_cbm("--debug", "db", "migrate", env=env)
    assert res.returncode != 0 and "Traceback" in res.stderr


def test_bad_setting_is_config_error():
    res = run_cbm("db", "status", env={"CBM_PG_PORT": "abc"})
    assert res.returncode == 78
    assert res.stderr.strip() == (
        "error: invalid settings: CBM_PG_PORT: Input should be a valid integer, "
        "unable to parse string as an integer")


def test_db_url_hides_password_unless_asked():
    env = {"CBM_DATABASE_URL": "postgresql://u:s3cret@127.0.0.1:5/x"}
    assert "s3cret" not in run_cbm("db", "url", env=env).stdout
    assert "s3cret" in run_cbm("db", "url", "--show-password", env=env).stdout


def test_cluster_signatures_of_unknown_set_is_not_found(settings):
    res = run_cbm("db", "cluster-signatures", "--aoi", "nowhere", "--year", "2025",
                  env={"CBM_DATABASE_URL": database_url(settings)})
    assert res.returncode == 66, res.stderr
    assert "no parcel set nowhere 2025" in res.stderr and "Traceback" not in res.stderr
