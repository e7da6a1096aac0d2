"""``cbm serve`` and ``cbm users``: the REST API and its accounts."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from backend.cli.base import app, echo, settings
from backend.logging_setup import server_log_config


@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64,
                                         help="Worker processes (limits are per worker).")] = 1,
) -> None:
    """Serve the REST API with uvicorn (JRC /query endpoints, docs at /docs)."""
    import uvicorn

    from backend.api.serving import UVICORN_OPTIONS, serve_workers

    s = settings()
    secrets = [v.get_secret_value() for v in (s.secret_key, s.admin_password, s.pg_password) if v]
    config = uvicorn.Config("backend.api.app:app_from_env", factory=True, host=host, port=port,
                            workers=workers, log_config=server_log_config(secrets), proxy_headers=False,
                            **UVICORN_OPTIONS)
    if workers == 1:
        uvicorn.Server(config).run()
    else:  # our supervisor hands each connection to the least busy worker (backend.api.serving)
        serve_workers(config)


users_app = typer.Typer(help="API users, roles and AOI grants.", no_args_is_help=True)
app.add_typer(users_app, name="users")


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="admin, analyst or consumer.")],
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin.")] = False,
) -> None:
    """Create a user (the password is argon2-hashed; it is never printed or logged)."""
    from backend.accounts import add_user
    from backend.db import connect

    password = _read_password(password_stdin)
    with connect(settings(), autocommit=True) as conn:
        add_user(conn, username, password, role, actor="cli")
    echo(f"user {username} added ({role}); grant AOIs with `cbm users grant {username} AOI`")


@users_app.command("passwd")
def users_passwd(
    username: Annotated[str, typer.Argument(help="Login name.")],
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin.")] = False,
) -> None:
    """Change a user's password."""
    from backend.accounts import set_password
    from backend.db import connect

    password = _read_password(password_stdin)
    with connect(settings(), autocommit=True) as conn:
        set_password(conn, username, password, actor="cli")
    echo(f"password of {username} changed")


@users_app.command("grant")
def users_grant(
    username: Annotated[str, typer.Argument(help="Login name.")],
    aoi: Annotated[str, typer.Argument(help="AOI code, or '*' for every AOI.")],
) -> None:
    """Grant a user read access to an AOI."""
    from backend.accounts import grant_aoi
    from backend.db import connect

    with connect(settings(), autocommit=True) as conn:
        added = grant_aoi(conn, username, aoi, actor="cli")
    echo(f"{username} {'granted' if added else 'already had'} {aoi}")


@users_app.command("list")
def users_list() -> None:
    """List users with role, state and AOI grants."""
    from backend.accounts import list_users
    from backend.db import connect

    with connect(settings()) as conn:
        for u in list_users(conn):
            state = "" if u["active"] else " (inactive)"
            echo(f"{u['username']}\t{u['role']}{state}\t{','.join(u['aois']) or '-'}")
