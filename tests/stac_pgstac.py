"""A real STAC API on loopback for tests and benchmarks: stac-fastapi-pgstac over pgSTAC.

The pgSTAC schema is created by ``pypgstac`` in a database of its own in the project's
PostgreSQL server (the embedded cluster or ``CBM_DATABASE_URL``), collections and items are
loaded with pypgstac's loader, and ``stac_fastapi.pgstac.app`` is served by uvicorn in a
subprocess on a free loopback port. Nothing of the STAC API is written by us.

    with pgstac_database(settings) as dsn:
        load(dsn, items)
        with stac_api(dsn) as url:
            ...
"""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from procs import free_port, running
from pypgstac.db import PgstacDB
from pypgstac.load import Loader, Methods
from pypgstac.migrate import Migrate

from backend.db import connect, database_url
from backend.settings import Settings

EXTENSIONS = ("postgis", "btree_gist", "unaccent")


@contextlib.contextmanager
def pgstac_database(settings: Settings, prefix: str = "cbm_pgstac") -> Iterator[str]:
    """Create a database with the pgSTAC schema next to the project's; yield its libpq URL; drop it."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with connect(settings, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = database_url(settings, name)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for ext in EXTENSIONS:
                conn.execute(f"CREATE EXTENSION IF NOT EXISTS {ext}")
        with PgstacDB(dsn=dsn) as db:
            Migrate(db).run_migration()
        yield dsn
    finally:
        with connect(settings, dbname="postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def collection_doc(cid: str, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A minimal STAC collection spanning ``items`` (pgSTAC needs the collection first)."""
    return {
        "type": "Collection", "id": cid, "stac_version": "1.0.0", "description": cid,
        "license": "proprietary", "links": [],
        "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                   "temporal": {"interval": [[None, None]]}},
    }


def load(dsn: str, items: Iterable[dict[str, Any]]) -> int:
    """Load items (and a collection for each collection id they name) with pypgstac; return the count."""
    docs = list(items)
    cids = sorted({d["collection"] for d in docs})
    with PgstacDB(dsn=dsn) as db:
        loader = Loader(db=db)
        loader.load_collections(iter([collection_doc(c, docs) for c in cids]),
                                insert_mode=Methods.upsert)
        loader.load_items(iter(docs), insert_mode=Methods.upsert)
    return len(docs)


def _env(dsn: str, extensions: Sequence[str] | None) -> dict[str, str]:
    """The environment of the server: pgSTAC connection (a unix socket dir as host) and extensions."""
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    env = {**os.environ, "PGUSER": str(info.get("user") or "postgres"),
           "PGPASSWORD": str(info.get("password") or "unused"),
           "PGHOST": quote(str(info.get("host") or "127.0.0.1"), safe=""),
           "PGPORT": str(info.get("port") or 5432), "PGDATABASE": str(info["dbname"]),
           "DB_MIN_CONN_SIZE": "1", "DB_MAX_CONN_SIZE": "4"}
    if extensions is not None:
        env["ENABLED_EXTENSIONS"] = ",".join(extensions)
    return env


@contextlib.contextmanager
def stac_api(dsn: str, *, extensions: Sequence[str] | None = None,
             log: Path | None = None) -> Iterator[str]:
    """Serve stac-fastapi-pgstac on the pgSTAC database ``dsn``; yield its root URL.

    ``extensions`` limits the enabled STAC API extensions (stac-fastapi-pgstac's
    ``ENABLED_EXTENSIONS``; default: all of them).
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "uvicorn", "stac_fastapi.pgstac.app:create_app", "--factory",
           "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    with running(cmd, url + "/_mgmt/ping", "stac-fastapi-pgstac", env=_env(dsn, extensions),
                 log=log, quiet=log is None, ok=lambda status: status == 200):
        yield url
