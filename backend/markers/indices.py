"""Spectral and radar indices computed from band means (arrays of any shape, NaN-safe).

All S2 indices take reflectances (any common scale); S1 ratios take linear power.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

INDEX_VERSION = "indices-1"


def _nd(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Normalised difference (a - b) / (a + b); NaN where the sum is not positive."""
    s = a + b
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(s > 0, (a - b) / s, np.nan)


def ndvi(bands: Mapping[str, np.ndarray]) -> np.ndarray:
    """Normalised difference vegetation index (B08, B04)."""
    return _nd(bands["B08"], bands["B04"])


def ndwi(bands: Mapping[str, np.ndarray]) -> np.ndarray:
    """Normalised difference water index, McFeeters (B03, B08)."""
    return _nd(bands["B03"], bands["B08"])


def bsi(bands: Mapping[str, np.ndarray]) -> np.ndarray:
    """Bare-soil index ((B11 + B04) - (B08 + B02)) / ((B11 + B04) + (B08 + B02))."""
    return _nd(bands["B11"] + bands["B04"], bands["B08"] + bands["B02"])


def ndre(bands: Mapping[str, np.ndarray]) -> np.ndarray:
    """Red-edge normalised difference (B08, B05)."""
    return _nd(bands["B08"], bands["B05"])


def vh_vv_db(bands: Mapping[str, np.ndarray]) -> np.ndarray:
    """Cross-polarisation ratio VH/VV in dB."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((bands["VV"] > 0) & (bands["VH"] > 0),
                        10.0 * np.log10(bands["VH"] / bands["VV"]), np.nan)


def to_db(power: np.ndarray) -> np.ndarray:
    """Linear power to dB (NaN for non-positive values)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(power > 0, 10.0 * np.log10(power), np.nan)


S2_INDICES = {"ndvi": ndvi, "ndwi": ndwi, "bsi": bsi, "ndre": ndre}


def s2_indices(bands: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every S2 index of :data:`S2_INDICES`."""
    return {name: fn(bands) for name, fn in S2_INDICES.items()}
