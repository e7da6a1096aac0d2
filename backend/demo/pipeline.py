"""``cbm demo run``: every step of the demo chain, each reusing what a previous run left."""

from __future__ import annotations

from collections.abc import Iterator

from backend.db import cluster, connect, database_url, redact
from backend.db.migrate import migrate
from backend.settings import Settings


def run_demo(settings: Settings) -> Iterator[str]:
    """Run the demo chain step by step, yielding one human-readable line per step."""
    if settings.uses_embedded_db:
        yield cluster.start(settings)
    with connect(settings) as conn:
        applied = migrate(conn)
    yield "schema: " + (", ".join(applied) if applied else "up to date")
    yield from _connect_hints(settings)


def _connect_hints(settings: Settings) -> Iterator[str]:
    url = redact(database_url(settings))
    yield "database ready"
    yield f"  connect:  psql '{url}'   (or: .venv/bin/cbm db url)"
    if settings.uses_embedded_db:
        yield (f"  TCP:      psql -h 127.0.0.1 -p {settings.pg_port} -U postgres "
               f"{settings.pg_dbname}   (password: CBM_PG_PASSWORD)")
