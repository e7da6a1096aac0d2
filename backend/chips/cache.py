"""Disk cache of rendered chips under ``settings.var_dir/chips``.

Entries are files named by a hash of what determines their content (image id and item hash,
chip window on the pixel grid, size, style, stretch). Writes are atomic (temporary file in the
same directory, then ``os.replace``), so concurrent renderers and readers never see a partial
file. No eviction: delete old files with ``find var/chips -atime +30 -delete`` or similar.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from backend.errors import NotFound
from backend.settings import Settings

log = logging.getLogger(__name__)


def cache_dir(settings: Settings) -> Path:
    """Root directory of the chip cache."""
    return settings.var_dir / "chips"


def cache_key(*parts: object) -> str:
    """A 128-bit hex key of JSON-serialisable parts."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def entry_path(settings: Settings, key: str, suffix: str) -> Path:
    """Path of a cache entry (two-level fan-out by key prefix)."""
    return cache_dir(settings) / key[:2] / f"{key}{suffix}"


def relative(settings: Settings, path: Path) -> str:
    """Path of an entry relative to the cache root (what signed URLs carry)."""
    return path.relative_to(cache_dir(settings)).as_posix()


def resolve(settings: Settings, rel: str) -> Path:
    """Absolute path of an existing entry from its relative path.

    Raises:
        NotFound: the entry does not exist (or the path leaves the cache).
    """
    root = cache_dir(settings).resolve()
    path = (root / rel).resolve()
    if root not in path.parents or not path.is_file():
        raise NotFound("chip file not found (expired from the cache?)")
    return path


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cached(settings: Settings, key: str, suffix: str, produce: Callable[[], bytes]) -> Path:
    """Path of the entry ``key``; ``produce()`` its bytes first when it is missing.

    Args:
        settings: backend settings (``var_dir``).
        key: from :func:`cache_key`.
        suffix: file suffix (``.png``, ``.tif``, ``.json``).
        produce: renders the content; called only on a miss.
    """
    path = entry_path(settings, key, suffix)
    if path.is_file():
        log.debug("chip cache hit %s", path.name)
        return path
    write_atomic(path, produce())
    log.debug("chip cache miss %s", path.name)
    return path
