"""Per-date sky of a Sentinel-2 image: clouds, their shadows, cirrus, unmarked haze, swath edge."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.demo.noise import shift, smooth_noise
from backend.demo.params import N_DAYS

LAT = 52.5


@dataclass(frozen=True)
class Sky:
    """Opacity maps (0..1) on the 10 m grid and the valid-data mask.

    Attributes:
        cloud: Cloud opacity.
        shadow: Cloud-shadow strength (0 under clouds).
        cirrus: Thin cirrus opacity.
        haze: Haze opacity that the scene classification does NOT flag.
        valid: False beyond the swath edge (no data).
    """

    cloud: np.ndarray
    shadow: np.ndarray
    cirrus: np.ndarray
    haze: np.ndarray
    valid: np.ndarray


def _cloud_fraction(rng: np.random.Generator, day: int) -> float:
    """Draw the cloud fraction of one date; summer is clearer than winter."""
    summer = 0.5 - 0.5 * np.cos(2 * np.pi * (day - 15) / N_DAYS)
    u = rng.random()
    if u < 0.3 + 0.15 * summer:
        return 0.0
    if u < 0.68 + 0.1 * summer:
        return float(rng.uniform(0.02, 0.4))
    if u < 0.9:
        return float(rng.uniform(0.4, 0.9))
    return float(rng.uniform(0.9, 1.0))


def _opacity(field: np.ndarray, fraction: float, softness: float = 0.6) -> np.ndarray:
    """Threshold a unit-std field so that ``fraction`` of it is opaque, with soft edges."""
    if fraction <= 0:
        return np.zeros_like(field)
    if fraction >= 1:
        return np.ones_like(field)
    thr = np.quantile(field, 1.0 - fraction)
    return np.clip((field - thr) / softness, 0.0, 1.0).astype(np.float32)


def _shadow_offset(rng: np.random.Generator, day: int, res: float) -> tuple[int, int]:
    """(rows, cols) from a cloud to its shadow: towards north-north-west, longer in winter."""
    decl = 23.44 * np.sin(2 * np.pi * (284 + day + 1) / 365.0)
    zenith = np.deg2rad(min(LAT - decl + 3.0, 80.0))
    length = float(rng.uniform(800.0, 2500.0)) * np.tan(zenith) / res
    az = np.deg2rad(float(rng.uniform(335.0, 355.0)))
    return round(float(-np.cos(az) * length)), round(float(np.sin(az) * length))


def _swath(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Valid mask cut by a slanted swath edge (about one date in eight)."""
    rows, cols = np.indices(shape)
    if rng.random() >= 0.12:
        return np.ones(shape, bool)
    c = float(rng.uniform(0.3, 0.8)) * shape[1]
    return (cols + rows * np.tan(np.deg2rad(12.0))) < c + 0.1 * shape[0]


def make_sky(rng: np.random.Generator, shape: tuple[int, int], day: int, res: float) -> Sky:
    """Draw the sky of one Sentinel-2 date.

    Args:
        rng: Random generator of this date.
        shape: (rows, cols) of the 10 m grid.
        day: Day index in the year.
        res: Pixel size in metres.
    """
    px = 1000.0 / res
    cloud = _opacity(smooth_noise(rng, shape, 3 * px, 4), _cloud_fraction(rng, day))
    dy, dx = _shadow_offset(rng, day, res)
    shadow = shift(cloud, dy, dx) * (1.0 - cloud)
    cirrus: np.ndarray = np.zeros(shape, np.float32)
    if rng.random() < 0.2:
        cirrus = 0.15 * _opacity(smooth_noise(rng, shape, 4 * px), float(rng.uniform(0.2, 0.8)))
    haze: np.ndarray = np.zeros(shape, np.float32)
    if rng.random() < 0.15:
        h = smooth_noise(rng, shape, 5 * px, 2)
        haze = float(rng.uniform(0.08, 0.3)) * np.clip(0.5 + 0.35 * h, 0.0, 1.0)
    return Sky(cloud, shadow.astype(np.float32), cirrus.astype(np.float32),
               haze.astype(np.float32), _swath(rng, shape))
