"""Maintenance of the signatures table after extraction."""

from __future__ import annotations

import time

import psycopg

from backend.db import connect
from backend.db import queries_parcels as q
from backend.errors import CbmError
from backend.parcels.sets import ParcelSetKey, resolve_set
from backend.settings import Settings


def cluster_signatures(settings: Settings, aoi: str, year: int, ptype: str = "", *,
                       lock_timeout_s: float = 30) -> str:
    """Rewrite a set's signatures in (parcel, image) order, so one parcel's series is on a few pages.

    Extraction writes one image's rows at a time, which spreads each parcel's series over one
    heap page per image; after clustering a cold series read touches a handful of pages
    (bench/series_layout.py measures it). The set's signatures are locked for the rewrite (API
    reads and extraction of that set wait): run it when an extraction campaign is finished.

    Raises:
        ParcelSetNotFound: no set (aoi, year, ptype).
        CbmError: the partition stayed locked by other sessions for ``lock_timeout_s`` (try
            again later).
    """
    with connect(settings) as conn:
        pset = resolve_set(conn, ParcelSetKey(aoi, year, ptype))
        t0 = time.perf_counter()
        try:
            q.cluster_signatures(conn, pset["id"], lock_timeout_s)
        except psycopg.errors.LockNotAvailable:
            raise CbmError(f"signatures of {aoi} {year} are in use (extraction or long queries) and "
                           f"were not locked within {lock_timeout_s:g} s: try again when the extraction "
                           "is finished") from None
        conn.commit()
        mb = q.signatures_bytes(conn, pset["id"]) / 1e6
    return f"signatures of {aoi} {year} clustered by parcel in {time.perf_counter() - t0:.1f} s ({mb:.0f} MB)"
