"""Observation cleaning of the Sentinel-2 series.

1. Observations whose valid-pixel fraction (after the SCL mask) is below a threshold are
   dropped: the few pixels left are usually cloud edges.
2. Haze and thin cloud the SCL misses raise the blue band relative to red: the haze-optimised
   transform ``HOT = B02 - 0.5 B04`` above the parcel's own median flags them.
3. A sudden NDVI dip that recovers at the next clear observation (within one revisit) while
   Sentinel-1 backscatter shows no change is a shadow or haze the first two steps missed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from backend.markers.events import next_valid_index, prev_valid_index, take
from backend.markers.indices import ndvi
from backend.markers.series import Sensor

log = logging.getLogger(__name__)

CLEAN_VERSION = "clean-1"
REFLECTANCE_SCALE = 1e-4
# reasons an observation was dropped (codes kept in the evidence)
OK, MISSING, LOW_VALID, HAZE, DIP = 0, 1, 2, 3, 4
REASONS = {OK: "clear", MISSING: "no data", LOW_VALID: "too few clear pixels",
           HAZE: "haze (blue excess)", DIP: "dip recovering within one revisit"}


@dataclass(frozen=True)
class CleanParams:
    """Thresholds of the S2 cleaning (part of every evidence record)."""

    min_valid_frac: float = 0.6
    hot_tolerance: float = 0.005
    dip_depth: float = 0.08
    dip_recover: float = 0.03
    dip_max_gap: int = 12
    s1_quiet_db: float = 1.0


@dataclass(frozen=True)
class CleanS2:
    """Cleaned S2 series: NDVI with NaN where dropped, and the reason code per observation."""

    ndvi: np.ndarray
    reason: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        """True where the observation is kept."""
        return self.reason == OK


def _hot_flags(s2: Sensor, base_ok: np.ndarray, tol: float) -> np.ndarray:
    hot = (s2.bands["B02"] - 0.5 * s2.bands["B04"]) * REFLECTANCE_SCALE
    h = np.where(base_ok, hot, np.nan)
    med = np.zeros((h.shape[0], 1))
    has = base_ok.any(axis=1)
    med[has, 0] = np.nanmedian(h[has], axis=1)
    return base_ok & (hot - med > tol)


def _dip_flags(days: np.ndarray, v: np.ndarray, ok: np.ndarray, s1_change: np.ndarray,
               p: CleanParams) -> np.ndarray:
    prev_i, next_i = prev_valid_index(ok), next_valid_index(ok)
    prev_v, next_v = take(v, prev_i), take(v, next_i)
    d = days.astype(float)[None, :]
    prev_d = np.where(prev_i >= 0, days[np.clip(prev_i, 0, None)], -999)
    next_d = np.where(next_i < v.shape[1], days[np.clip(next_i, None, v.shape[1] - 1)], 999)
    close = (d - prev_d <= p.dip_max_gap) & (next_d - d <= p.dip_max_gap)
    with np.errstate(invalid="ignore"):
        dip = (prev_v - v > p.dip_depth) & (next_v >= prev_v - p.dip_recover)
    return ok & close & dip & ~s1_change


def clean_s2(s2: Sensor, s1_change: np.ndarray, params: CleanParams | None = None) -> CleanS2:
    """Clean the S2 observations of every parcel.

    Args:
        s2: The Sentinel-2 sensor.
        s1_change: (P, T) True where Sentinel-1 shows a change near that S2 date (a real event).
        params: Thresholds.

    Returns:
        Cleaned NDVI and the reason code of every observation.
    """
    p = params or CleanParams()
    v = ndvi(s2.bands)
    reason = np.full(v.shape, OK, np.int8)
    reason[~np.isfinite(v)] = MISSING
    reason[(reason == OK) & (s2.valid_frac < p.min_valid_frac)] = LOW_VALID
    reason[_hot_flags(s2, reason == OK, p.hot_tolerance)] = HAZE
    reason[_dip_flags(s2.days, v, reason == OK, s1_change, p)] = DIP
    counts = {REASONS[k]: int((reason == k).sum()) for k in REASONS}
    log.info("S2 cleaning: %s", counts)
    return CleanS2(np.where(reason == OK, v, np.nan), reason)
