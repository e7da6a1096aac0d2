"""Crop consistency: is a parcel's season like that of its peers with the same declared crop?

Each parcel becomes a profile (NDVI interpolated every 10 days from the clear observations,
plus monthly Sentinel-1 VH medians). Parcels are split into K folds by a hash of their id;
a parcel is compared with references (per-crop median profiles) built only from the other
folds (cross-fitting), so no parcel is judged by a reference built with itself. The score is
the distance to the declared crop's reference against the distance to the nearest reference
of a crop with a different profile (crops whose references are alike, e.g. wheat and barley,
are not competitors), mapped to 0..1 (1 = clearly like its declared crop).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from backend.markers.radar import Radar

CONSISTENCY_VERSION = "consistency-1"
GRID = np.arange(30, 335, 10)
MONTHS = np.arange(0, 360, 30)


@dataclass(frozen=True)
class ConsistencyParams:
    """Parameters of the crop-consistency score."""

    folds: int = 5
    min_peers: int = 5
    min_clear: int = 6
    scale: float = 0.15
    alike: float = 0.05


@dataclass(frozen=True)
class Consistency:
    """Per-parcel result: score 0..1 (NaN = not computable), distances and the nearest crop."""

    score: np.ndarray
    d_own: np.ndarray
    d_other: np.ndarray
    nearest: np.ndarray
    n_peers: np.ndarray


def profiles(days: np.ndarray, v: np.ndarray, radar: Radar, min_clear: int) -> np.ndarray:
    """(P, F) profile of every parcel, NaN rows where there are too few clear observations."""
    n, out = v.shape[0], np.full((v.shape[0], GRID.size + MONTHS.size), np.nan)
    for row in range(n):
        ok = np.isfinite(v[row])
        if ok.sum() >= min_clear:
            out[row, :GRID.size] = np.interp(GRID, days[ok], v[row, ok])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for k, m in enumerate(MONTHS):
            cols = (radar.days >= m) & (radar.days < m + 30)
            if cols.any():
                out[:, GRID.size + k] = np.nanmedian(radar.vh[:, cols], axis=1) / 10.0
    return out


def fold_of(parcel_ids: np.ndarray, folds: int) -> np.ndarray:
    """Deterministic fold of each parcel id (multiplicative hash, independent of row order)."""
    return ((parcel_ids.astype(np.uint64) * np.uint64(2654435761)) % np.uint64(2**32)
            % np.uint64(folds)).astype(np.int64)


def _distance(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.abs(x - ref[None, :]), axis=1)


def crop_consistency(parcel_ids: np.ndarray, crops: np.ndarray, prof: np.ndarray,
                     params: ConsistencyParams | None = None) -> Consistency:
    """Cross-fitted consistency of each parcel's profile with its declared crop's peers."""
    p = params or ConsistencyParams()
    n = parcel_ids.size
    fold = fold_of(parcel_ids, p.folds)
    names = sorted(set(crops.tolist()))
    d = np.full((n, len(names)), np.nan)
    peers = np.zeros((n, len(names)), np.int64)
    usable = np.isfinite(prof[:, 0])
    alike = np.zeros((n, len(names)), bool)
    for k in range(p.folds):
        test = fold == k
        refs = np.full((len(names), prof.shape[1]), np.nan)
        for j, crop in enumerate(names):
            train = (fold != k) & (crops == crop) & usable
            peers[test, j] = int(train.sum())
            if train.sum() >= p.min_peers:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    refs[j] = np.nanmedian(prof[train], axis=0)
                d[test, j] = _distance(prof[test], refs[j])
        for j in range(len(names)):
            alike[np.ix_(test & (crops == names[j]), np.arange(len(names)))] = (
                _distance(refs, refs[j]) < p.alike)
    own = np.array([names.index(c) for c in crops], np.int64)
    rows = np.arange(n)
    d_own = d[rows, own]
    others = np.where(alike, np.inf, d)
    nearest = np.argmin(np.where(np.isfinite(others), others, np.inf), axis=1)
    d_other = others[rows, nearest]
    with np.errstate(invalid="ignore", over="ignore"):
        score = 1.0 / (1.0 + np.exp((d_own - d_other) / p.scale * 10))
    score = np.where(usable & np.isfinite(d_own) & np.isfinite(d_other), score, np.nan)
    return Consistency(score, d_own, d_other, np.array(names, object)[nearest], peers[rows, own])
