"""Sentinel-1 features per parcel and date: backscatter changes and coherence changes."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from backend.markers.indices import to_db
from backend.markers.series import Sensor

S1_VERSION = "s1-3"
"""3: area-wide change of each date (rain, frost, processing) removed from VV and VH."""
PAIR_DAYS = 6
MIN_PARCELS_DATE_NORM = 20
AREA_WINDOW = 3


@dataclass(frozen=True)
class Radar:
    """Sentinel-1 features on the backscatter dates (shape (P, T1) each).

    Attributes:
        days: Day index of each backscatter date.
        vh, vv: Backscatter in dB, the orbit-direction offset of each parcel removed, and the
            date's area-wide change removed (:func:`area_corrected`).
        area_vh, area_vv: The area-wide change removed from each date (dB, shape (T1,)).
        vh_drop: Median of the previous three VH values minus this one (dB; > 0 = drop).
        vv_rise: This VV minus the median of the previous three (dB; > 0 = rougher/wetter).
        coh_days: Day index of each coherence date (end of the 6-day pair).
        coh: VV coherence (0..1).
        coh_rise: This coherence minus the median of the previous three.
        coh_ratio: This coherence over the median of the previous three, divided by the median
            of that ratio over all parcels of the date (area-wide rain and wind cancel out;
            a surface disturbed within the 6-day pair falls well below 1).
    """

    days: np.ndarray
    vh: np.ndarray
    vv: np.ndarray
    vh_drop: np.ndarray
    vv_rise: np.ndarray
    coh_days: np.ndarray
    coh: np.ndarray
    coh_rise: np.ndarray
    coh_ratio: np.ndarray
    area_vh: np.ndarray | None = None
    area_vv: np.ndarray | None = None


def _orbit_flat(db: np.ndarray, orbit: np.ndarray) -> np.ndarray:
    """Remove each orbit direction's median offset (per parcel) from a dB series."""
    out = db.copy()
    if db.shape[1] == 0:
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        overall = np.nanmedian(db, axis=1, keepdims=True)
        for o in sorted(set(orbit.tolist())):
            cols = orbit == o
            if cols.sum() >= 3:
                out[:, cols] -= np.nanmedian(db[:, cols], axis=1, keepdims=True) - overall
    return out


def prior_median(x: np.ndarray, k: int = 3) -> np.ndarray:
    """Median of the ``k`` previous columns (NaN-aware; NaN for the first column)."""
    if x.shape[1] == 0:  # a set without images of this sensor
        return x.astype(float, copy=True)
    pad = np.concatenate([np.full((x.shape[0], k), np.nan), x], axis=1)
    win = sliding_window_view(pad[:, :-1], k, axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(win, axis=2)


def centred_median(x: np.ndarray, k: int = AREA_WINDOW) -> np.ndarray:
    """Median of the ``2k + 1`` columns centred on each column (NaN-aware, shorter at the ends)."""
    if x.shape[1] == 0:
        return x.astype(float, copy=True)
    pad = np.concatenate([np.full((x.shape[0], k), np.nan), x, np.full((x.shape[0], k), np.nan)], axis=1)
    win = sliding_window_view(pad, 2 * k + 1, axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(win, axis=2)


def area_corrected(db: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Remove from each date the change that most parcels show at once.

    Each parcel's deviation from its own centred running median (robust to a wet date or two)
    is taken per date; the median of those deviations over all parcels of the date is an
    area-wide change (rain, frost, a processing artefact), not an event of one parcel, and is
    subtracted. Sets with fewer than ``MIN_PARCELS_DATE_NORM`` parcels are left as they are.

    Returns:
        (corrected dB series, the area-wide change of each date).
    """
    level = np.zeros(db.shape[1])
    if db.shape[0] < MIN_PARCELS_DATE_NORM or db.shape[1] == 0:
        return db, level
    dev = db - centred_median(db)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        enough = np.isfinite(dev).sum(axis=0) >= MIN_PARCELS_DATE_NORM
        level[enough] = np.nanmedian(dev[:, enough], axis=0)
    return db - level[None, :], level


def radar_features(bs: Sensor, c6: Sensor) -> Radar:
    """Compute the Sentinel-1 features of every parcel."""
    vh, area_vh = area_corrected(_orbit_flat(to_db(bs.bands["VH"]), bs.orbit))
    vv, area_vv = area_corrected(_orbit_flat(to_db(bs.bands["VV"]), bs.orbit))
    coh = c6.bands["COH_VV"]
    prior = prior_median(coh)
    return Radar(bs.days, vh, vv, prior_median(vh) - vh, vv - prior_median(vv),
                 c6.days, coh, coh - prior, _date_normalised(coh, prior), area_vh, area_vv)


def _date_normalised(coh: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Coherence over its prior median, over the median of that ratio across parcels per date."""
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ratio = np.where(prior > 0, coh / prior, np.nan)
        if ratio.shape[0] < MIN_PARCELS_DATE_NORM:  # too few parcels for an area-wide level
            return ratio
        med = np.nanmedian(ratio, axis=0, keepdims=True)
        return np.where(med > 0, ratio / med, np.nan)


def coherence_dip(radar: Radar, row: int, d0: int, d: int) -> float | None:
    """Lowest normalised coherence of the 6-day pairs that cover the change in ``(d0, d]``.

    Returns:
        The ratio (about 1 when nothing happened, ~0.3 after a disturbance), or None when the
        pairs do not cover every day of the interval (no evidence either way).
    """
    cols = np.flatnonzero((radar.coh_days > d0) & (radar.coh_days - PAIR_DAYS < d))
    covered = np.zeros(d - d0, bool)
    for c in cols:
        cd = int(radar.coh_days[c])
        covered[max(cd - PAIR_DAYS - d0, 0):max(cd - d0, 0)] = True
    vals = radar.coh_ratio[row, cols]
    if not covered.all() or not np.isfinite(vals).any():
        return None
    return float(np.nanmin(vals))


def window_max(src_days: np.ndarray, values: np.ndarray, at_days: np.ndarray,
               lo: int, hi: int) -> np.ndarray:
    """For each target day ``d``, the max of ``values`` over source days in ``[d+lo, d+hi]``.

    Returns an array (P, len(at_days)) with NaN where no source day falls in the window.
    """
    out = np.full((values.shape[0], at_days.size), np.nan)
    for j, d in enumerate(at_days):
        cols = (src_days >= d + lo) & (src_days <= d + hi)
        if cols.any():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out[:, j] = np.nanmax(values[:, cols], axis=1)
    return out
