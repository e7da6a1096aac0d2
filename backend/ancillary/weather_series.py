"""Serve a parcel's daily weather in the JRC column shape (one row per day)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np

from backend.db import queries_ancillary as q

_EPOCH = dt.date(1970, 1, 1)


def weather_columns(conn: q.Conn, set_id: int, pid: str) -> dict[str, list[Any]]:
    """``date_part`` (epoch seconds of the day, UTC), ``date`` and one column per variable.

    A parcel linked to several cells gets their area-weighted mean. ``{}`` when the set has
    no weather; every column empty when the set has no such parcel.
    """
    source = q.weather_source(conn, set_id)
    if source is None:
        return {}
    return columns_of(source, q.parcel_weather(conn, set_id, pid))


async def weather_columns_async(pool: q.APool, aoi: str, year: int, ptype: str,
                                pid: str) -> dict[str, list[Any]] | None:
    """:func:`weather_columns` in one SQL round trip on the async pool; None when no such set."""
    rows = await q.set_parcel_weather(pool, aoi, year, ptype, pid)
    if not rows:
        return None
    if rows[0]["first_day"] is None:
        return {}
    return columns_of(rows[0], [r for r in rows if r["variable"] is not None])


def columns_of(source: dict[str, Any], rows: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    """The columns from a source (first_day, n_days, variables) and the parcel's linked series."""
    variables = list(source["variables"])
    if not rows:
        return {"date_part": [], "date": [], **{v: [] for v in variables}}
    first, n = source["first_day"], int(source["n_days"])
    days = [first + dt.timedelta(days=i) for i in range(n)]
    first_s = (first - _EPOCH).days * 86400
    out: dict[str, list[Any]] = {"date_part": [float(first_s + 86400 * i) for i in range(n)],
                                 "date": [d.isoformat() for d in days]}
    for name in variables:
        mine = [r for r in rows if r["variable"] == name]
        weights = np.array([r["weight"] for r in mine], dtype=np.float64)
        values = np.stack([np.frombuffer(r["vals"], "<f4").astype(np.float64) for r in mine])
        mean = values[0] if len(mine) == 1 else weights @ values / weights.sum()
        out[name] = [None if v != v else v for v in mean.tolist()]  # NaN -> null
    return out
