"""SQL of the parcel time series: a parcel's signature rows with their images' provenance.

The read side of the signatures that ``queries_extraction`` writes (decoded in
``backend.extraction.timeseries``). :func:`set_series` is ``async`` on the async pool and takes
the set's key: one statement resolves the set and fetches the rows; None when no such set.
"""

from __future__ import annotations

from datetime import datetime

import psycopg
from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool

Conn = psycopg.Connection[DictRow]
AConn = psycopg.AsyncConnection[DictRow]
APool = AsyncConnectionPool[AConn]

# provenance columns after (date_part, bands, stats, hist): see backend.extraction.timeseries
_PROVENANCE = ("i.item_id, i.provider, i.collection, i.platform, i.orbit_state, i.relative_orbit, i.mask, "
               "extract(epoch FROM i.start_datetime)::float8, extract(epoch FROM i.end_datetime)::float8")
_FILTERS = """
  AND (%(orbit)s::text IS NULL OR i.orbit_state = %(orbit)s)
  AND (%(collection)s::text IS NULL OR i.collection = %(collection)s)
  AND (%(provider)s::text IS NULL OR i.provider = %(provider)s)"""
NO_FILTER = {"orbit": None, "collection": None, "provider": None}

_SERIES = f"""
SELECT extract(epoch FROM i.datetime)::float8 AS date_part, i.bands, g.stats, g.hist, {_PROVENANCE}
FROM parcels p
JOIN signatures g ON g.set_id = p.set_id AND g.parcel_id = p.id
JOIN images i ON i.id = g.image_id
WHERE p.set_id = %(set_id)s AND g.set_id = %(set_id)s AND p.pid = %(pid)s AND i.kind = %(kind)s
  AND i.datetime >= %(start)s AND i.datetime < %(end)s{_FILTERS}
ORDER BY i.datetime, i.id"""


_SET_SERIES = f"""
SELECT s.id, r.*
FROM parcel_sets s LEFT JOIN LATERAL (
  SELECT extract(epoch FROM i.datetime)::float8 AS date_part, i.bands, g.stats, g.hist, {_PROVENANCE},
         i.datetime AS _datetime, i.id AS _id
  FROM parcels p
  JOIN signatures g ON g.set_id = p.set_id AND g.parcel_id = p.id
  JOIN images i ON i.id = g.image_id
  WHERE p.set_id = s.id AND g.set_id = s.id AND p.pid = %(pid)s AND i.kind = %(kind)s
    AND i.datetime >= %(start)s AND i.datetime < %(end)s{_FILTERS}) r ON true
WHERE s.aoi = %(aoi)s AND s.year = %(year)s AND s.ptype = %(ptype)s
ORDER BY r._datetime, r._id"""


def series(conn: Conn, set_id: int, pid: str, kind: str, start: datetime, end: datetime,
           filters: dict[str, str | None] | None = None) -> list[tuple]:
    """One row per image of a parcel's signatures.

    Rows are (date_part, bands, packed stats, packed hist, item_id, provider, collection,
    platform, orbit_state, relative_orbit, mask, start, end); ``filters`` (``orbit``,
    ``collection``, ``provider``; None = any) keep only matching images.
    """
    with conn.cursor(row_factory=psycopg.rows.tuple_row, binary=True) as cur:
        cur.execute(_SERIES, {"set_id": set_id, "pid": pid, "kind": kind, "start": start, "end": end,
                              **NO_FILTER, **(filters or {})})
        return cur.fetchall()


async def set_series(pool: APool, aoi: str, year: int, ptype: str, pid: str, kind: str, start: datetime,
                     end: datetime, filters: dict[str, str | None] | None = None) -> list[tuple] | None:
    """Like :func:`series` but for a set's key, in one statement; None when no such set."""
    async with pool.connection() as conn, conn.cursor(row_factory=psycopg.rows.tuple_row, binary=True) as cur:
        await cur.execute(_SET_SERIES, {"aoi": aoi, "year": year, "ptype": ptype, "pid": pid, "kind": kind,
                                        "start": start, "end": end, **NO_FILTER, **(filters or {})})
        rows = await cur.fetchall()
    return [r[1:-2] for r in rows if r[1] is not None] if rows else None
