"""Slope and aspect on a DEM grid in ground metres, and their statistics per parcel (pure).

Slope and aspect use Horn's 3 x 3 finite differences (as ``gdaldem``), with the pixel size in
ground metres: for a geographic DEM from the ellipsoid's radii at each row's latitude, for a
projected DEM from the CRS's linear unit and its scale factors at the tile's centre (so a
Mercator grid's metres are not taken for ground metres). Elevations are taken to be metres.
Aspect is the bearing of steepest descent, degrees clockwise from north; a parcel's aspect is
the circular mean of its sloped pixels' bearings (mean of unit vectors), ``None`` when the
parcel is flat or its bearings cancel out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from affine import Affine
from pyproj import CRS, Proj

_FLAT = 1e-9  # gradient magnitude (m/m) below which a pixel has no aspect
_CANCEL = 1e-6  # resultant length of the mean unit vector below which the aspect is undefined


@dataclass(frozen=True)
class ParcelTerrain:
    """Terrain of one parcel (degrees; aspect None where flat)."""

    elevation: float
    slope_mean: float
    slope_max: float
    aspect: float | None
    n_pixels: int


def pixel_metres(crs: CRS, transform: Affine, rows: np.ndarray,
                 centre_lonlat: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Ground size (dx, dy) in metres of the pixels of each row (arrays of ``len(rows)``).

    ``rows`` are row indices of the grid of ``transform`` (north-up, no rotation).
    """
    if crs.is_geographic:
        ell = crs.ellipsoid
        if ell is None:
            raise ValueError(f"geographic CRS without an ellipsoid: {crs.name}")
        a, inv_f = ell.semi_major_metre, ell.inverse_flattening
        e2 = 0.0 if inv_f == 0 else (2 - 1 / inv_f) / inv_f
        lat = np.radians(transform.f + (rows + 0.5) * transform.e)
        w = 1 - e2 * np.sin(lat) ** 2
        prime, meridian = a / np.sqrt(w), a * (1 - e2) / w ** 1.5
        return (np.radians(abs(transform.a)) * prime * np.cos(lat),
                np.radians(abs(transform.e)) * meridian)
    unit = crs.axis_info[0].unit_conversion_factor
    factors = Proj(crs).get_factors(*centre_lonlat)
    dx = abs(transform.a) * unit / factors.parallel_scale
    dy = abs(transform.e) * unit / factors.meridional_scale
    return np.full(len(rows), dx), np.full(len(rows), dy)


def _pad(z: np.ndarray) -> np.ndarray:
    """One pixel around ``z``, extrapolated linearly (exact for a plane)."""
    p = np.pad(z, 1, mode="edge")
    if z.shape[0] > 1:
        p[0, :], p[-1, :] = 2 * p[1, :] - p[2, :], 2 * p[-2, :] - p[-3, :]
    if z.shape[1] > 1:
        p[:, 0], p[:, -1] = 2 * p[:, 1] - p[:, 2], 2 * p[:, -2] - p[:, -3]
    return p


def slope_aspect(z: np.ndarray, dx: np.ndarray, dy: np.ndarray,
                 north_up: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slope (degrees) and the downslope unit vector (east, north) of every pixel of ``z``.

    ``dx``/``dy`` are each row's ground pixel size in metres; NaN elevations give NaN slopes
    around them. Pixels at the array's border use a linearly extrapolated neighbour.
    """
    p = _pad(z.astype(np.float64))
    a, b, c = p[:-2, :-2], p[:-2, 1:-1], p[:-2, 2:]
    d, f = p[1:-1, :-2], p[1:-1, 2:]
    g, h, i = p[2:, :-2], p[2:, 1:-1], p[2:, 2:]
    dzdx = ((c + 2 * f + i) - (a + 2 * d + g)) / (8 * dx[:, None])
    dzdrow = ((g + 2 * h + i) - (a + 2 * b + c)) / (8 * dy[:, None])
    dzdy = -dzdrow if north_up else dzdrow
    grad = np.hypot(dzdx, dzdy)
    slope = np.degrees(np.arctan(grad))
    with np.errstate(invalid="ignore", divide="ignore"):
        east = np.where(grad > _FLAT, -dzdx / grad, 0.0)
        north = np.where(grad > _FLAT, -dzdy / grad, 0.0)
    return slope, east, north


def parcel_terrain(z: np.ndarray, slope: np.ndarray, east: np.ndarray, north: np.ndarray,
                   inside: np.ndarray) -> ParcelTerrain:
    """Statistics over the pixels ``inside`` a parcel (a boolean mask of the arrays' shape).

    The caller has checked that every inside pixel has an elevation; a slope next to a
    missing elevation is left out of the slope statistics.
    """
    elev = z[inside].astype(np.float64)
    s = slope[inside]
    ok = ~np.isnan(s)
    sloped = ok & ((east[inside] != 0) | (north[inside] != 0))
    aspect: float | None = None
    if sloped.any():
        e, n = east[inside][sloped].mean(), north[inside][sloped].mean()
        if np.hypot(e, n) > _CANCEL:
            aspect = float(np.degrees(np.arctan2(e, n)) % 360.0) % 360.0  # never 360.0
    s_ok = s[ok] if ok.any() else np.zeros(1)
    top = float(s_ok.max())
    return ParcelTerrain(float(elev.mean()), min(float(s_ok.mean()), top), top, aspect, int(elev.size))
