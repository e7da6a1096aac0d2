"""Apply the plain-SQL migrations in ``backend/db/migrations`` in order, once each.

Applied versions are recorded in ``schema_migrations`` with a checksum; a changed applied file
is refused (add a new migration instead). An advisory lock serialises concurrent migrators.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.rows import DictRow

from backend.errors import MigrationError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_LOCK_KEY = 0x43424D  # "CBM"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """sha256 of the file's text."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """List the migration files in order, refusing badly named or duplicate versions."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise MigrationError(f"migration file {path.name} must be named NNNN_name.sql")
        version = int(m.group(1))
        if version in found:
            raise MigrationError(f"two migrations with version {version}: rename one")
        found[version] = Migration(version, m.group(2), path.read_text())
    return [found[v] for v in sorted(found)]


def migrate(conn: psycopg.Connection[DictRow], directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations, each in its own transaction. Returns the names applied."""
    conn.autocommit = True
    conn.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now())""")
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
    try:
        return _apply_pending(conn, available(directory))
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))


def _apply_pending(conn: psycopg.Connection[DictRow], migrations: list[Migration]) -> list[str]:
    rows = conn.execute("SELECT version, name, checksum FROM schema_migrations").fetchall()
    applied = {r["version"]: r for r in rows}
    done = []
    for mig in migrations:
        row = applied.get(mig.version)
        if row is not None:
            if row["checksum"] != mig.checksum:
                raise MigrationError(
                    f"migration {mig.version:04d}_{mig.name} was changed after it was applied; "
                    "restore it and put the change in a new migration"
                )
            continue
        try:
            with conn.transaction():
                conn.execute(mig.sql.encode())
                conn.execute("INSERT INTO schema_migrations (version, name, checksum) "
                             "VALUES (%s, %s, %s)", (mig.version, mig.name, mig.checksum))
        except psycopg.Error as exc:
            raise MigrationError(f"migration {mig.version:04d}_{mig.name} failed: "
                                 f"{str(exc).strip()}") from None
        log.info("applied migration %04d_%s", mig.version, mig.name)
        done.append(f"{mig.version:04d}_{mig.name}")
    return done

