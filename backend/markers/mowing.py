"""Mowing marker: a biomass drop followed by regrowth, seen by Sentinel-1 and Sentinel-2.

Sentinel-1 dates a cut to within its revisit: VH backscatter drops (less biomass) on the first
acquisition after it. The clear Sentinel-2 observations around confirm it (NDVI lower after
than before) or refute it (no drop). When clouds hide the weeks after the cut from S2, a
strong VH drop alone is a mowing found by S1, with a lower confidence. Cuts that S2 sees but
S1 misses are kept when the NDVI drop is deep and the sward regrows to its former level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.markers.events import Event, prev_valid_index, r3, take
from backend.markers.radar import Radar

MOWING_VERSION = "mowing-2"


@dataclass(frozen=True)
class MowingParams:
    """Thresholds of the mowing marker (part of every evidence record)."""

    s1_drop_db: float = 1.4
    s1_only_drop_db: float = 2.0
    min_green_before: float = 0.45
    before_days: int = 25
    confirm_days: int = 12
    s2_confirm_drop: float = 0.03
    s2_only_drop: float = 0.1
    regrowth_days: int = 35
    regrowth_margin: float = 0.1
    hint_drop_db: float = 1.0


def _s2_before(days: np.ndarray, v: np.ndarray, row: int, d0: int, span: int) -> tuple[float, list[int]]:
    """Max NDVI of the last two clear S2 observations on or before ``d0`` (within ``span`` days)."""
    cols = np.flatnonzero((days <= d0) & (days > d0 - span) & np.isfinite(v[row]))[-2:]
    if cols.size == 0:
        return float("nan"), []
    return float(np.max(v[row, cols])), [int(days[c]) for c in cols]


def _s2_after(days: np.ndarray, v: np.ndarray, row: int, d0: int, d1: int) -> tuple[float, int] | None:
    """First clear S2 observation in ``(d0, d1]`` as (NDVI, day), or None."""
    cols = np.flatnonzero((days > d0) & (days <= d1) & np.isfinite(v[row]))
    return (float(v[row, cols[0]]), int(days[cols[0]])) if cols.size else None


def _regrows(days: np.ndarray, v: np.ndarray, radar: Radar, row: int, c: int, before: float,
             p: MowingParams) -> bool:
    """The sward regrows after the cut: S2 back near ``before``, or else VH recovering."""
    d = radar.days[c]
    later = np.isfinite(v[row]) & (days > d + 7) & (days <= d + p.regrowth_days)
    if later.any():
        return bool(v[row, later].max() >= before - p.regrowth_margin)
    cols = (radar.days > d) & (radar.days <= d + p.regrowth_days)
    rec = radar.vh[row, cols]
    return bool(rec.size and np.nanmax(rec) >= radar.vh[row, c] + 0.5 * radar.vh_drop[row, c])


def _s1_event(days: np.ndarray, v: np.ndarray, radar: Radar, row: int, c: int,
              p: MowingParams) -> Event | None:
    """Judge the S1 candidate at backscatter column ``c`` of parcel ``row``."""
    d, d0 = int(radar.days[c]), int(radar.days[c - 1])
    before, b_days = _s2_before(days, v, row, d0, p.before_days)
    if not before >= p.min_green_before:
        return None
    drop = float(radar.vh_drop[row, c])
    ev = {"s1_days": [d0, d], "vh_drop_db": r3(drop), "s2_before_days": b_days,
          "ndvi_before": r3(before)}
    if not _regrows(days, v, radar, row, c, before, p):
        return None
    after = _s2_after(days, v, row, d0, d + p.confirm_days)
    if after is not None:
        if before - after[0] < p.s2_confirm_drop:
            return None
        ev |= {"s2_after_day": after[1], "ndvi_after": r3(after[0])}
        conf, src = min(1.0, 0.7 + drop / 10 + (before - after[0])), "s2+s1"
    elif drop >= p.s1_only_drop_db:
        conf, src = min(0.7, 0.4 + drop / 10), "s1"
    else:
        return None
    return Event(row, "mowing", (d0 + 1 + d) // 2, d0 + 1, d, r3(conf), src, ev)


def s1_hint_days(radar: Radar, row: int, params: MowingParams | None = None) -> list[int]:
    """S1 dates of every VH drop that could be a cut (mowing candidates, confirmed or not).

    A candidate that the S2 or regrowth checks rejected is still a hint: a condition should not
    be judged failed (red) on a parcel where S1 saw one.
    """
    p = params or MowingParams()
    with np.errstate(invalid="ignore"):
        cand = radar.vh_drop[row] >= p.hint_drop_db
    cand[1:] &= ~cand[:-1]
    cand[:1] = False
    return [int(d) for d in radar.days[cand]]


def _s1_events(days: np.ndarray, v: np.ndarray, radar: Radar, p: MowingParams) -> list[Event]:
    with np.errstate(invalid="ignore"):
        cand = radar.vh_drop >= p.s1_drop_db
    cand[:, 1:] &= ~cand[:, :-1]
    cand[:, :1] = False  # no prior image for the first one (also fine with no S1 images)
    out = []
    for row, c in zip(*np.nonzero(cand), strict=True):
        e = _s1_event(days, v, radar, int(row), int(c), p)
        if e is not None:
            out.append(e)
    return out


def _s2_events(days: np.ndarray, v: np.ndarray, p: MowingParams) -> list[Event]:
    """Deep NDVI drops between consecutive clear observations with full regrowth."""
    ok = np.isfinite(v)
    pi = prev_valid_index(ok)
    prev_v = take(v, pi)
    with np.errstate(invalid="ignore"):
        cand = ok & (prev_v - v >= p.s2_only_drop) & (prev_v >= p.min_green_before)
    out = []
    for row, j in zip(*np.nonzero(cand), strict=True):
        lo, hi = int(days[pi[row, j]]), int(days[j])
        later = ok[row] & (days > hi) & (days <= hi + p.regrowth_days)
        if not later.any() or v[row, later].max() < prev_v[row, j] - p.regrowth_margin:
            continue
        drop = float(prev_v[row, j] - v[row, j])
        ev = {"s2_days": [lo, hi], "ndvi_before": r3(prev_v[row, j]), "ndvi_after": r3(v[row, j])}
        out.append(Event(int(row), "mowing", (lo + 1 + hi) // 2, lo + 1, hi,
                         r3(min(0.85, 0.5 + drop)), "s2", ev))
    return out


def detect_mowing(days: np.ndarray, v: np.ndarray, radar: Radar,
                  params: MowingParams | None = None) -> list[Event]:
    """Detect mowing events on every parcel.

    Args:
        days: S2 day indices (T,).
        v: Cleaned NDVI (P, T), NaN where dropped.
        radar: Sentinel-1 features.
        params: Thresholds.

    Returns:
        Events sorted by parcel row and day.
    """
    p = params or MowingParams()
    found = _s1_events(days, v, radar, p)
    spans: dict[int, list[tuple[int, int]]] = {}
    for e in found:
        spans.setdefault(e.row, []).append((e.start, e.end))
    for e in _s2_events(days, v, p):
        if not any(a - 2 <= e.end and e.start <= b + 2 for a, b in spans.get(e.row, [])):
            found.append(e)
    return sorted(found, key=lambda e: (e.row, e.day))
