"""Static rasters of the demo area: field labels, land cover, field borders, soil patterns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rasterio import features
from shapely.geometry.base import BaseGeometry

from backend.demo.noise import smooth_noise
from backend.demo.params import Grid

FIELD, VERGE, ROAD, WATER = 0, 1, 2, 3


@dataclass(frozen=True)
class Layer:
    """Static rasters on one grid.

    Attributes:
        grid: The grid.
        labels: Field index + 1 of each pixel (0 = no field), by the pixel-centre rule.
        cover: ``FIELD``, ``VERGE`` (grass verges, ditches, yards), ``ROAD`` or ``WATER``.
        border: Field pixels next to a pixel of another field or of no field.
        het: Smooth within-field heterogeneity (zero mean, unit std).
        soil: Smooth soil brightness pattern (zero mean, unit std).
    """

    grid: Grid
    labels: np.ndarray
    cover: np.ndarray
    border: np.ndarray
    het: np.ndarray
    soil: np.ndarray


def _border(labels: np.ndarray) -> np.ndarray:
    """Pixels whose 4-neighbourhood holds another label."""
    out = np.zeros(labels.shape, bool)
    diff_v = labels[1:, :] != labels[:-1, :]
    diff_h = labels[:, 1:] != labels[:, :-1]
    out[1:, :] |= diff_v
    out[:-1, :] |= diff_v
    out[:, 1:] |= diff_h
    out[:, :-1] |= diff_h
    return out & (labels > 0)


def make_layer(
    grid: Grid,
    fields: np.ndarray,
    water: BaseGeometry,
    roads: BaseGeometry,
    rng: np.random.Generator,
) -> Layer:
    """Rasterise fields, roads and water on ``grid`` and draw the static patterns.

    Args:
        grid: Target grid.
        fields: Field polygons; field ``i`` gets label ``i + 1``.
        water: Canal geometry.
        roads: Road geometry.
        rng: Random generator of the scene stream.
    """
    shapes = ((g, i + 1) for i, g in enumerate(fields) if not g.is_empty)
    labels = features.rasterize(
        shapes, out_shape=grid.shape, transform=grid.transform, fill=0, dtype="int32"
    )
    cover = np.full(grid.shape, VERGE, np.uint8)
    cover[labels > 0] = FIELD
    for geom, value in ((roads, ROAD), (water, WATER)):
        if not geom.is_empty:
            mask = features.geometry_mask(
                [geom], out_shape=grid.shape, transform=grid.transform, invert=True,
                all_touched=value == ROAD,
            )
            cover[mask] = value
    labels[cover != FIELD] = 0
    cells = 300.0 / grid.res
    return Layer(
        grid, labels, cover, _border(labels),
        smooth_noise(rng, grid.shape, cells), smooth_noise(rng, grid.shape, 2 * cells),
    )
