"""Dry cover (stubble, a ripe or senescent crop, dead haulm) told apart from bare soil by the time course.

After a crop ripens, NDVI and the bare-soil index of its stubble or dead haulm sit close to bare
soil, yet the soil is covered (GAEC 6 counts stubble as cover). The surface becomes bare soil
when it is disturbed: ploughed, disced, or the root crop lifted. So a bare-looking period that
begins at the crop's ripening (the first clear S2 observation after the NDVI peak at or below
``harvest_after``) and contains such a disturbance (a ploughing or harvest event, or a VV rise
of ``plough_vv_rise_db``) is dry cover until the disturbance when the observations before it
are greener than those after by ``dry_cover_margin``: the period then starts at the
disturbance, and its evidence keeps ``dry_cover_from`` / ``dry_cover_until``. Maize stubble,
whose NDVI is that of the soil, stays bare.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from backend.markers.events import Event
from backend.markers.harvest import ripening
from backend.markers.radar import Radar
from backend.markers.tillage import TillageParams


def _disturbances(e: Event, radar: Radar, others: list[Event], p: TillageParams) -> list[int]:
    """Days inside the period (after its first days) where the surface was disturbed."""
    days = {o.day for o in others if e.start + 5 < o.day <= e.end}
    for c in np.flatnonzero((radar.days > e.start + 5) & (radar.days <= e.end)):
        if c > 0 and radar.vv_rise[e.row, c] >= p.plough_vv_rise_db:
            days.add((int(radar.days[c - 1]) + 1 + int(radar.days[c])) // 2)
    return sorted(days)


def _split_day(e: Event, days: np.ndarray, v: np.ndarray, cuts: list[int], p: TillageParams) -> int | None:
    ok = np.isfinite(v[e.row]) & (days >= e.start) & (days <= e.end)
    for d in cuts:
        before, after = v[e.row, ok & (days < d)], v[e.row, ok & (days > d)]
        if before.size and after.size and np.median(before) >= np.median(after) + p.dry_cover_margin:
            return d
    return None


def split_dry_cover(bare: list[Event], days: np.ndarray, v: np.ndarray, radar: Radar,
                    disturbing: list[Event], params: TillageParams | None = None) -> list[Event]:
    """Bare-soil periods with the dry cover after a ripening cut off (see the module doc).

    Args:
        bare: Bare-soil periods of every parcel.
        days: S2 day indices.
        v: Cleaned NDVI (P, T).
        radar: Sentinel-1 features.
        disturbing: Ploughing and harvest events of every parcel.
        params: Thresholds.
    """
    p = params or TillageParams()
    by_row: dict[int, list[Event]] = {}
    for o in disturbing:
        by_row.setdefault(o.row, []).append(o)
    out = []
    for e in bare:
        ripe = ripening(days, v, e.row, p)
        if ripe is None or not ripe[0] <= e.start <= ripe[1] + p.dry_cover_after_days:
            out.append(e)
            continue
        d = _split_day(e, days, v, _disturbances(e, radar, by_row.get(e.row, []), p), p)
        if d is None:
            out.append(e)
            continue
        ev = e.evidence | {"dry_cover_from": e.start, "dry_cover_until": d}
        out.append(replace(e, day=d, start=d, end=max(d, e.end), evidence=ev))
    return out
