"""Bare-soil periods (S2, dated with S1), ploughing (S1 roughness) and harvest (end of season).

A clear S2 observation is bare when NDVI is low and the bare-soil index high; runs of bare
observations are periods whose start and end are interpolated at the NDVI threshold between the
neighbouring observations, and the start moved to the Sentinel-1 date of the change when S1
saw one (ploughing roughens the soil: VV rises; a harvest removes biomass: VH drops; a
ploughing is preferred). Stubble and sparse winter cover sit near soil level in NDVI: a run that
contains a ploughing with clearly greener observations before it starts at the ploughing.
A ploughing needs the 6-day coherence of the pairs around it to drop (the surface was disturbed);
a VV rise with intact coherence is wetter soil. A smaller VV rise (soil already bare after
lifting potatoes or beet, or only disced) counts when the coherence dropped to half.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from backend.markers.events import Event, r3
from backend.markers.indices import bsi
from backend.markers.radar import Radar, coherence_dip
from backend.markers.series import Sensor

TILLAGE_VERSION = "tillage-4"
"""3: a smaller VV rise is a ploughing when the coherence dropped to half (bare soil ploughed, discing).
4: dry cover after a ripening (stubble, dead haulm) is not bare soil until the surface is disturbed
(backend.markers.stubble)."""


@dataclass(frozen=True)
class TillageParams:
    """Thresholds of the bare-soil, ploughing and harvest markers."""

    bare_ndvi: float = 0.36
    soil_rank: int = 0
    end_soil_rank: int = 2
    soil_margin: float = 0.05
    end_margin: float = 0.12
    bare_bsi: float = 0.05
    bare_margin: float = 0.04
    s1_change_db: float = 1.0
    plough_vv_rise_db: float = 2.0
    plough_ndvi_after: float = 0.38
    split_margin: float = 0.06
    plough_coh_max: float = 0.7
    plough_weak_vv_db: float = 1.0
    plough_weak_coh_max: float = 0.5
    harvest_peak: float = 0.6
    harvest_after: float = 0.45
    harvest_vh_drop_db: float = 1.5
    harvest_from_day: int = 150
    harvest_lag_days: int = 40
    dry_cover_after_days: int = 20
    dry_cover_margin: float = 0.03


def bare_mask(s2: Sensor, v: np.ndarray, p: TillageParams) -> np.ndarray:
    """(P, T) float: 1 bare, 0 covered, NaN where the observation was dropped."""
    thr = bare_threshold(v, p)
    with np.errstate(invalid="ignore"):
        bare = (v < thr) & (bsi(s2.bands) > p.bare_bsi)
    return np.where(np.isfinite(v), bare.astype(float), np.nan)


def bare_threshold(v: np.ndarray, p: TillageParams, rank: int | None = None) -> np.ndarray:
    """(P, 1) NDVI below which a parcel's soil is bare: its own soil level plus a margin, capped."""
    s = np.sort(np.where(np.isfinite(v), v, np.inf), axis=1)
    k = min(p.soil_rank if rank is None else rank, v.shape[1] - 1) if v.shape[1] else 0
    soil = s[:, k:k + 1] if v.shape[1] else np.full((v.shape[0], 1), np.inf)
    return np.minimum(p.bare_ndvi, np.where(np.isfinite(soil), soil + p.soil_margin, p.bare_ndvi))


def _cross(d0: int, v0: float, d1: int, v1: float, thr: float) -> int:
    """Day where the line from (d0, v0) to (d1, v1) crosses ``thr`` (within (d0, d1])."""
    if not np.isfinite(v0) or v0 == v1:
        return d1
    f = min(1.0, max(0.0, (v0 - thr) / (v0 - v1)))
    return max(d0 + 1, min(d1, round(d0 + f * (d1 - d0))))


def _s1_change_day(radar: Radar, row: int, lo: int, hi: int, p: TillageParams,
                   stubble: bool = False) -> int | None:
    """Day of the first S1 change in ``(lo, hi]``; the ploughing first when ``stubble`` came before."""
    cols = np.flatnonzero((radar.days > lo) & (radar.days <= hi + 1))
    plough = [c for c in cols if stubble and c > 0 and radar.vv_rise[row, c] >= p.plough_vv_rise_db]
    for c in plough[:1] or cols:
        if c > 0 and (radar.vh_drop[row, c] >= p.s1_change_db or radar.vv_rise[row, c] >= p.s1_change_db):
            return (int(radar.days[c - 1]) + 1 + int(radar.days[c])) // 2
    return None


def plough_split(row: int, days: np.ndarray, v: np.ndarray, run_cols: np.ndarray, radar: Radar,
                 p: TillageParams) -> tuple[int, int] | None:
    """Where a bare run really starts when it was stubble or winter cover until a ploughing.

    Dry stubble and sparse cover sit near soil level in NDVI; a ploughing inside the run (VV rise
    of ``plough_vv_rise_db``) with the observations before it at least ``split_margin`` above those
    after it shows that the soil was only bared then.

    Returns:
        (index into ``run_cols`` of the first observation after the ploughing, ploughing day), or None.
    """
    d = days[run_cols]
    for c in np.flatnonzero((radar.days > d[0]) & (radar.days <= d[-1])):
        if not radar.vv_rise[row, c] >= p.plough_vv_rise_db:
            continue
        k = int(np.searchsorted(d, radar.days[c - 1], side="right"))
        if 0 < k < d.size and np.median(v[run_cols[:k]]) >= np.median(v[run_cols[k:]]) + p.split_margin:
            return k, (int(radar.days[c - 1]) + 1 + int(radar.days[c])) // 2
    return None


def _period(row: int, days: np.ndarray, v: np.ndarray, cols: np.ndarray, run: tuple[int, int],
            radar: Radar, p: TillageParams) -> Event:
    """One bare period from the run ``cols[run[0]..run[1]]`` of clear observations."""
    a, b = run
    split = plough_split(row, days, v, cols[a:b + 1], radar, p)
    if split is not None:
        a += split[0]
    first = cols[a]
    if split is not None:
        start = split[1]
    elif a > 0:
        prev = cols[a - 1]
        start = _cross(int(days[prev]), v[prev], int(days[first]), v[first], p.bare_ndvi)
        s1 = _s1_change_day(radar, row, int(days[prev]), int(days[first]), p, True)
        start = s1 if s1 is not None else start
    else:
        start = 0
    end_thr = p.bare_ndvi - p.soil_margin + p.end_margin
    above = np.flatnonzero(v[cols[b + 1:]] >= end_thr)
    if above.size:
        k = b + 1 + int(above[0])
        end = _cross(int(days[cols[k - 1]]), v[cols[k - 1]], int(days[cols[k]]), v[cols[k]], end_thr) - 1
    else:
        end = 364
    ev = {"s2_days": [int(days[c]) for c in cols[a:b + 1]],
          "ndvi": [r3(v[c]) for c in cols[a:b + 1]]}
    if split is not None:
        ev["stubble_or_cover_until"] = split[1]
    n = b - a + 1
    conf = r3(min(1.0, 0.55 + 0.15 * n))
    return Event(row, "bare_soil", start, start, max(start, end), conf, "s2", ev)


def _hysteresis(flags: np.ndarray, v: np.ndarray, p: TillageParams) -> np.ndarray:
    """Bridge single marginal gaps inside bare runs; drop lone marginal bare observations."""
    out = flags.copy()
    marginal = v < p.bare_ndvi + p.bare_margin
    inner = np.zeros_like(flags)
    inner[1:-1] = flags[:-2] & flags[2:] & marginal[1:-1]
    out |= inner
    lone = out.copy()
    lone[1:] &= ~out[:-1]
    lone[:-1] &= ~out[1:]
    out &= ~(lone & (v > p.bare_ndvi - p.bare_margin))
    return out


def detect_bare(s2: Sensor, v: np.ndarray, radar: Radar, params: TillageParams | None = None) -> list[Event]:
    """Bare-soil periods of every parcel (``start``..``end`` inclusive, ``day`` = start)."""
    p = params or TillageParams()
    mask = bare_mask(s2, v, p)
    thr = bare_threshold(v, p)[:, 0]
    end = bare_threshold(v, p, p.end_soil_rank)[:, 0]  # the end from a steadier soil level
    out = []
    for row in np.flatnonzero(np.nansum(mask, axis=1) > 0):
        cols = np.flatnonzero(np.isfinite(mask[row]))
        flags = _hysteresis(mask[row, cols] == 1, v[row, cols], p)
        edges = np.diff(np.concatenate([[0], flags.astype(int), [0]]))
        for a, b in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1, strict=True):
            pr = replace(p, bare_ndvi=float(thr[row]), end_margin=p.end_margin + float(end[row] - thr[row]))
            out.append(_period(int(row), s2.days, v[row], cols, (int(a), int(b)), radar, pr))
    return out


def detect_ploughing(s2: Sensor, v: np.ndarray, radar: Radar,
                     params: TillageParams | None = None) -> list[Event]:
    """Ploughing: a VV rise (rough soil) with bare soil on the next clear S2 observation."""
    p = params or TillageParams()
    with np.errstate(invalid="ignore"):
        cand = radar.vv_rise >= p.plough_weak_vv_db
    cand[:, 1:] &= ~cand[:, :-1].copy()
    out = []
    for row, c in zip(*np.nonzero(cand), strict=True):
        if c == 0:
            continue
        d0, d = int(radar.days[c - 1]), int(radar.days[c])
        nxt = np.flatnonzero(np.isfinite(v[row]) & (s2.days >= d0) & (s2.days <= d + 15))
        if nxt.size == 0 or v[row, nxt[-1]] >= p.plough_ndvi_after:
            continue
        dip = coherence_dip(radar, int(row), d0, d)
        if dip is not None and dip >= p.plough_coh_max:
            continue  # the 6-day coherence shows no disturbance: wetter soil, not a ploughing
        weak = radar.vv_rise[row, c] < p.plough_vv_rise_db
        if weak and not (dip is not None and dip < p.plough_weak_coh_max):
            continue  # a small rise (ploughing bare soil after lifting, discing) needs the coherence drop
        ev = {"s1_days": [d0, d], "vv_rise_db": r3(radar.vv_rise[row, c]),
              "s2_day": int(s2.days[nxt[-1]]), "ndvi_after": r3(v[row, nxt[-1]]),
              "coh_ratio": None if dip is None else r3(dip)}
        conf = r3(min(1.0, 0.5 + radar.vv_rise[row, c] / 8))
        out.append(Event(int(row), "ploughing", (d0 + 1 + d) // 2, d0 + 1, d, conf, "s1+s2", ev))
    return out
