"""The named database of a bench that a later run may reuse (``--reuse`` / ``--keep``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from backend.db import database_settings, drop_database, temporary_database
from backend.settings import Settings, load_settings


@contextlib.contextmanager
def bench_database(name: str, *, reuse: bool = False, keep: bool = False,
                   **overrides: Any) -> Iterator[Settings]:
    """Settings (demo mode, ``overrides``) on database ``name`` of the project's server.

    A fresh migrated database (``backend.db.temporary_database``, replacing one of that name),
    or with ``reuse`` the one a previous run kept; dropped at the end unless ``keep``.
    """
    base = load_settings(demo_mode=True)
    if not reuse:
        with temporary_database(base, name=name, keep=keep, **overrides) as s:
            yield s
        return
    yield database_settings(base, name, **overrides)
    if not keep:  # after a clean end only: a failed run keeps the database it reused
        drop_database(base, name)
