"""Serve a parcel's daily weather in the JRC column shape (one row per day)."""

from __future__ import annotations

import datetime as dt
import functools
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
    rows = q.parcel_weather(conn, set_id, pid)  # by variable, then cell
    weights = [r["weight"] for r in rows if r["variable"] == rows[0]["variable"]]
    vals = b"".join(r["vals"] for name in source["variables"] for r in rows if r["variable"] == name)
    return columns_of(source, weights, vals)


async def weather_columns_async(pool: q.APool, aoi: str, year: int, ptype: str,
                                pid: str) -> dict[str, list[Any]] | None:
    """:func:`weather_columns` in one SQL round trip (one row) on the async pool; None when no such set."""
    row = await q.set_parcel_weather(pool, aoi, year, ptype, pid)
    if row is None:
        return None
    if row["first_day"] is None:
        return {}
    return columns_of(row, row["weights"] or [], row["vals"] or b"")


@functools.lru_cache(maxsize=32)
def _days(first: dt.date, n: int) -> tuple[tuple[float, ...], tuple[str, ...]]:
    """The ``date_part`` and ``date`` columns of ``n`` days from ``first`` (the same for every parcel)."""
    first_s = (first - _EPOCH).days * 86400
    return (tuple(float(first_s + 86400 * i) for i in range(n)),
            tuple((first + dt.timedelta(days=i)).isoformat() for i in range(n)))


def columns_of(source: dict[str, Any], weights: Sequence[float], vals: bytes) -> dict[str, list[Any]]:
    """The columns from a source (first_day, n_days, variables) and the parcel's linked series.

    ``weights`` are the parcel's cells' (in cell order), ``vals`` their float32 series one after
    the other: per variable in the source's order, per cell in that order.
    """
    variables = list(source["variables"])
    if not weights:
        return {"date_part": [], "date": [], **{v: [] for v in variables}}
    n = int(source["n_days"])
    date_part, dates = _days(source["first_day"], n)
    out: dict[str, list[Any]] = {"date_part": list(date_part), "date": list(dates)}
    series = np.frombuffer(vals, "<f4").reshape(len(variables), len(weights), n).astype(np.float64)
    w = np.asarray(weights, dtype=np.float64)
    means = series[:, 0] if len(w) == 1 else np.einsum("c,vcd->vd", w, series) / w.sum()
    for name, mean in zip(variables, means, strict=True):
        values = mean.tolist()
        out[name] = [None if v != v else v for v in values] if np.isnan(mean).any() else values  # NaN -> null
    return out
