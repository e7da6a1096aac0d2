"""Authentication, login throttling, headers, request ids, secret-free logs, admin bootstrap, CLI users."""

from __future__ import annotations

import logging

import pytest
from apitools import PASSWORDS, Server, running_api

from backend.db import connect
from backend.settings import DEMO_ADMIN_PASSWORD, Settings


def test_missing_and_wrong_credentials_are_401(api: Server) -> None:
    with api.client(None) as c:
        r = c.get("/me")
        wrong = c.get("/me", auth=("consumer", "not-the-password"))
        nobody = c.get("/me", auth=("nobody", "whatever-pw"))
    assert r.status_code == wrong.status_code == nobody.status_code == 401
    assert r.headers["www-authenticate"] == 'Basic realm="cbm"'
    assert wrong.json() == nobody.json() == {"detail": "wrong username or password"}


def test_failed_logins_lock_the_user_and_address_out(api_settings: Settings) -> None:
    s = Settings(**{**api_settings.model_dump(), "api_login_max_failures": 3, "api_login_lockout_s": 60})
    with running_api(s) as server:
        with server.client(None) as c:
            codes = [c.get("/me", auth=("analyst", f"wrong-{i}")).status_code for i in range(3)]
            locked = c.get("/me", auth=("analyst", PASSWORDS["analyst"]))
            other = c.get("/me", auth=("consumer", PASSWORDS["consumer"]))
        assert codes == [401, 401, 401]
        assert locked.status_code == 429 and "api_login_max_failures=3" in locked.json()["detail"]
        assert int(locked.headers["retry-after"]) > 0
        assert other.status_code == 200  # the lockout is per username and address


def test_security_headers_request_id_and_cache_control(api: Server) -> None:
    with api.client() as c:
        r = c.get("/me", headers={"X-Request-ID": "abc-123"})
        bad = c.get("/me", headers={"X-Request-ID": "a b\tc" * 30})
    assert r.headers["x-request-id"] == "abc-123" and len(bad.headers["x-request-id"]) == 16
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-store" and "content-security-policy" in r.headers


def test_no_secrets_in_logs(api: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with api.client(None) as c:
        c.get("/me", auth=("consumer", "Very-Secret-Typo-42"))
        c.get("/query/info", auth=("admin", DEMO_ADMIN_PASSWORD))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "failed login for user 'consumer'" in text
    assert "Very-Secret-Typo-42" not in text and DEMO_ADMIN_PASSWORD not in text
    assert all(hasattr(r, "request_id") for r in caplog.records if r.name.startswith("backend.api"))


def test_admin_bootstrapped_once(api: Server) -> None:
    with connect(api.settings) as conn:
        admins = conn.execute("SELECT username FROM users WHERE role = 'admin'").fetchall()
        grants = conn.execute("SELECT aoi FROM aoi_grants g JOIN users u ON u.id = g.user_id "
                              "WHERE u.username = 'admin'").fetchall()
        hashes = conn.execute("SELECT password_hash FROM users").fetchall()
    assert [a["username"] for a in admins] == ["admin"] and [g["aoi"] for g in grants] == ["*"]
    assert all(h["password_hash"].startswith("$argon2id$") for h in hashes)


def test_concurrent_workers_bootstrap_the_admin_once(api_settings: Settings,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """Every uvicorn worker runs ensure_admin at start; on an empty database they race."""
    import threading

    from backend.accounts import ensure_admin
    from backend.db import temporary_database

    caplog.set_level(logging.WARNING)
    with temporary_database(api_settings, prefix="cbm_test_admin") as s:
        barrier, created = threading.Barrier(4), []

        def worker() -> None:
            with connect(s, autocommit=True) as conn:
                barrier.wait()
                created.append(ensure_admin(conn, s))

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with connect(s) as conn:
            admins = conn.execute("SELECT username FROM users WHERE role = 'admin'").fetchall()
    assert sorted(created) == [False, False, False, True] and [a["username"] for a in admins] == ["admin"]
    assert "no admin bootstrapped" not in caplog.text


def _cli(args: list[str]) -> int:
    from backend import cli

    try:
        cli.main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_cli_users(api: Server, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    import io

    from backend.settings import get_settings

    monkeypatch.setenv("CBM_DEMO_MODE", "true")
    monkeypatch.setenv("CBM_DATABASE_URL", api.settings.database_url.get_secret_value())
    get_settings.cache_clear()
    try:
        monkeypatch.setattr("sys.stdin", io.StringIO("cli-user-pass-1\n"))
        assert _cli(["users", "add", "cliuser", "--role", "consumer", "--password-stdin"]) == 0
        assert _cli(["users", "grant", "cliuser", "tt"]) == 0
        monkeypatch.setattr("sys.stdin", io.StringIO("cli-user-pass-2\n"))
        assert _cli(["users", "passwd", "cliuser", "--password-stdin"]) == 0
        assert _cli(["users", "list"]) == 0
        out = capsys.readouterr().out
        assert "cliuser\tconsumer\ttt" in out and "cli-user-pass" not in out
        with api.client(None) as c:
            assert c.get("/me", auth=("cliuser", "cli-user-pass-2")).json()["aois"] == ["tt"]
        monkeypatch.setattr("sys.stdin", io.StringIO("cli-user-pass-1\n"))
        assert _cli(["users", "add", "cliuser", "--role", "consumer", "--password-stdin"]) == 73
        assert "exists" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()


def test_unexpected_error_is_500_with_request_id_and_security_headers(api_settings: Settings) -> None:
    from fastapi.testclient import TestClient

    from backend.api.app import create_app

    app = create_app(api_settings)

    @app.get("/boom-for-test")
    def boom() -> None:
        raise RuntimeError("unexpected")

    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/boom-for-test")
    assert r.status_code == 500
    assert "unexpected" not in r.text and "request id" in r.json()["detail"]
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-store"
