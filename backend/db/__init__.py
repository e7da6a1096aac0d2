"""Database access: connection URL resolution and connections (psycopg 3).

The project uses the embedded cluster in ``var/`` unless ``CBM_DATABASE_URL`` names another
PostgreSQL+PostGIS. SQL lives in ``backend/db/queries*.py`` modules and in the migrations.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import DictRow, dict_row

from backend.errors import DatabaseError
from backend.settings import Settings


def database_url(settings: Settings, dbname: str | None = None) -> str:
    """Return the libpq URL/conninfo of the project database (secret included)."""
    if settings.database_url is not None:
        url = settings.database_url.get_secret_value()
        if dbname is not None:
            url = psycopg.conninfo.make_conninfo(url, dbname=dbname)
        return url
    return psycopg.conninfo.make_conninfo(
        host=str(settings.pg_socket_dir),
        port=settings.pg_port,
        dbname=dbname or settings.pg_dbname,
        user="postgres",
    )


def redact(url: str) -> str:
    """Hide the password of a connection URL or conninfo string for messages and logs."""
    url = re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
    return re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", url)


def connect(
    settings: Settings, *, dbname: str | None = None, **kwargs: Any
) -> psycopg.Connection[DictRow]:
    """Open a connection with rows as dicts; use it in a ``with`` block to commit on exit.

    Raises:
        DatabaseError: the database cannot be reached; the message names the URL, password hidden.
    """
    url = database_url(settings, dbname)
    kwargs.setdefault("row_factory", dict_row)
    kwargs.setdefault("connect_timeout", 10)
    try:
        return psycopg.connect(url, **kwargs)
    except psycopg.OperationalError as exc:
        hint = "start it with `cbm db start`" if settings.uses_embedded_db else "check CBM_DATABASE_URL"
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DatabaseError(f"cannot connect to {redact(url)}: {reason} ({hint})") from None


@contextlib.contextmanager
def temporary_database(settings: Settings, prefix: str = "cbm_tmp", *, migrations: Path | None = None,
                       name: str | None = None, keep: bool = False, **overrides: Any) -> Iterator[Settings]:
    """Create a fresh, migrated database next to the project's, yield settings using it, drop it.

    For tests and benchmarks: the database lives in the same server (embedded cluster or
    ``CBM_DATABASE_URL``), its name is ``<prefix>_<random>``, and it is dropped even on errors.
    ``migrations`` is the folder of migrations to apply (default: the project's, all of them);
    ``name`` is a fixed name instead (a database of that name is replaced), ``keep`` leaves the
    database in place at the end (a bench's ``--keep``/``--reuse``); ``overrides`` are further
    settings for the yielded :class:`Settings`.
    """
    from backend.db.migrate import MIGRATIONS_DIR, migrate

    if name is None:
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    else:
        drop_database(settings, name)
    with connect(settings, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        with connect(tmp := database_settings(settings, name, **overrides)) as conn:
            migrate(conn, migrations or MIGRATIONS_DIR)
        yield tmp
    finally:
        if not keep:
            drop_database(settings, name)


def drop_database(settings: Settings, name: str) -> None:
    """Drop database ``name`` of the server of ``settings`` if it exists, closing its sessions."""
    with connect(settings, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_settings(settings: Settings, dbname: str, **overrides: Any) -> Settings:
    """The same settings on another database of the same server (``overrides`` applied too)."""
    return Settings(**{**settings.model_dump(), "database_url": database_url(settings, dbname), **overrides})
