"""Harvest marker: the end of the main crop's season, one per parcel.

Optical first: the crop's ripening (or its removal) is the first clear S2 observation after the
season's NDVI peak that is below ``harvest_after``. Radar confirms and dates: Sentinel-1 VH drops
sharply when the crop is removed and stays low (no regrowth, unlike a mowing); the strongest such
drop from the clear S2 observation before the ripening until ``harvest_lag_days`` after it is the
harvest, dated to within the S1 revisit. A drop outside that span (a rain artefact weeks later,
the next crop's tillage) is not the harvest. Without a ripening (no clear S2 after the peak),
the strongest drop after ``harvest_from_day`` is taken, with a lower confidence; without an S1
candidate, the largest NDVI fall after the peak between two clear S2 observations.
"""

from __future__ import annotations

import numpy as np

from backend.markers.events import Event, prev_valid_index, r3, take
from backend.markers.radar import Radar
from backend.markers.tillage import TillageParams

HARVEST_VERSION = "harvest-2"
"""2: the S1 drop matching the ripening seen by S2, not the largest drop of the season."""


def _stays_low(radar: Radar, row: int, c: int) -> bool:
    cols = (radar.days > radar.days[c]) & (radar.days <= radar.days[c] + 20)
    before = radar.vh[row, c] + radar.vh_drop[row, c]
    later = radar.vh[row, cols]
    return bool(later.size and np.nanmedian(later) <= before - 1.0)


def ripening(days: np.ndarray, v: np.ndarray, row: int, p: TillageParams) -> tuple[int, int] | None:
    """(last clear day before, first clear day with NDVI <= ``harvest_after``) after the peak."""
    ok = np.isfinite(v[row])
    if not ok.any():
        return None
    k = int(np.nanargmax(np.where(ok, v[row], -np.inf)))
    with np.errstate(invalid="ignore"):
        low = np.flatnonzero(ok & (np.arange(days.size) > k) & (days >= p.harvest_from_day)
                             & (v[row] <= p.harvest_after))
    if not low.size:
        return None
    before = np.flatnonzero(ok[:low[0]])
    return int(days[before[-1]]) if before.size else int(days[k]), int(days[low[0]])


def _s1_harvest(days: np.ndarray, v: np.ndarray, radar: Radar, row: int, p: TillageParams) -> Event | None:
    peak = np.nanmax(v[row]) if np.isfinite(v[row]).any() else np.nan
    if not peak >= p.harvest_peak:
        return None
    ripe = ripening(days, v, row, p)
    lo, hi = (ripe[0], ripe[1] + p.harvest_lag_days) if ripe else (p.harvest_from_day, 400)
    best: tuple[float, int] | None = None
    for col in np.flatnonzero(radar.vh_drop[row] >= p.harvest_vh_drop_db):
        c = int(col)
        usable = (c > 0 and max(lo, p.harvest_from_day) <= radar.days[c] and radar.days[c - 1] < hi
                  and _stays_low(radar, row, c))
        if usable and (best is None or radar.vh_drop[row, c] > best[0]):
            best = (float(radar.vh_drop[row, c]), c)
    if best is None:
        return None
    c = best[1]
    d0, d = int(radar.days[c - 1]), int(radar.days[c])
    ev = {"s1_days": [d0, d], "vh_drop_db": r3(best[0]), "ndvi_peak": r3(peak),
          "ripening_s2_days": list(ripe) if ripe else None}
    conf = min(1.0, 0.5 + best[0] / 8) if ripe else min(0.7, 0.4 + best[0] / 8)
    return Event(row, "harvest", (d0 + 1 + d) // 2, d0 + 1, d, r3(conf), "s1", ev)


def _s2_harvest(days: np.ndarray, v: np.ndarray, pi: np.ndarray, row: int,
                p: TillageParams) -> Event | None:
    ok = np.isfinite(v[row])
    prev_v = take(v[row:row + 1], pi[row:row + 1])[0]
    with np.errstate(invalid="ignore"):
        drop = np.where(ok & (days >= p.harvest_from_day) & (prev_v >= p.harvest_peak)
                        & (v[row] <= p.harvest_after), prev_v - v[row], -1.0)
    j = int(np.argmax(drop)) if drop.size else 0
    if not drop.size or drop[j] <= 0:
        return None
    lo, hi = int(days[pi[row, j]]), int(days[j])
    ev = {"s2_days": [lo, hi], "ndvi_before": r3(prev_v[j]), "ndvi_after": r3(v[row, j])}
    return Event(row, "harvest", (lo + 1 + hi) // 2, lo + 1, hi, r3(min(0.8, 0.4 + drop[j])), "s2", ev)


def detect_harvest(days: np.ndarray, v: np.ndarray, radar: Radar,
                   params: TillageParams | None = None) -> list[Event]:
    """At most one harvest per parcel (S1-dated when possible)."""
    p = params or TillageParams()
    pi = prev_valid_index(np.isfinite(v))
    out = []
    for row in range(v.shape[0]):
        e = _s1_harvest(days, v, radar, row, p) or _s2_harvest(days, v, pi, row, p)
        if e is not None:
            out.append(e)
    return out
