"""Splitting a parcel set's open extraction jobs into chunks, one notebook run each."""

from __future__ import annotations

import math
from collections.abc import Sequence

from backend.db import connect
from backend.db import queries_batch as q
from backend.errors import InvalidInput
from backend.parcels.sets import ParcelSetKey, resolve_set
from backend.settings import Settings


def split_evenly(ids: Sequence[int], n: int) -> list[list[int]]:
    """Split ``ids`` into ``n`` contiguous parts whose sizes differ by at most one.

    Empty parts are dropped, so fewer than ``n`` parts come back when ``len(ids) < n``.

    Raises:
        InvalidInput: ``n`` is not positive.
    """
    if n < 1:
        raise InvalidInput(f"the number of chunks must be at least 1, got {n}")
    size, extra = divmod(len(ids), n)
    parts, start = [], 0
    for i in range(n):
        end = start + size + (1 if i < extra else 0)
        if end > start:
            parts.append(list(ids[start:end]))
        start = end
    return parts


def default_chunks(n_jobs: int, n_slots: int, jobs_per_chunk: int) -> int:
    """Chunks for ``n_jobs``: about ``jobs_per_chunk`` each, but at least one per worker slot."""
    if n_jobs == 0:
        return 0
    return max(min(n_slots, n_jobs), math.ceil(n_jobs / jobs_per_chunk))


def open_jobs(settings: Settings, key: ParcelSetKey) -> list[int]:
    """Ids of the pending and running jobs of a parcel set, in claim order.

    Raises:
        ParcelSetNotFound: no parcel set (aoi, year, ptype).
    """
    with connect(settings) as conn:
        return q.open_jobs(conn, resolve_set(conn, key)["id"])


def sets_with_work(settings: Settings) -> list[tuple[ParcelSetKey, int]]:
    """(set key, claimable jobs) of every parcel set that has claimable jobs."""
    with connect(settings) as conn:
        rows = q.sets_with_work(conn)
    return [(ParcelSetKey(r["aoi"], int(r["year"]), r["ptype"]), int(r["n"])) for r in rows]


def plan(settings: Settings, key: ParcelSetKey, *, chunks: int | None, n_slots: int) -> list[list[int]]:
    """The job ids of each chunk for a run over a parcel set (an empty list: nothing to do)."""
    ids = open_jobs(settings, key)
    n = chunks if chunks is not None else default_chunks(len(ids), n_slots, settings.batch_chunk_jobs)
    return split_evenly(ids, n) if ids else []
