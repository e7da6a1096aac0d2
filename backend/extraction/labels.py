"""Rasterise parcel ids onto an image grid, once per (parcel set, grid).

A parcel owns the pixels whose *centre* lies inside it (GDAL's default rasterisation rule,
``all_touched=False``), after an optional negative buffer. Each resolution gets its own label
raster computed from the geometries on that grid: labels are never resampled.

A single label raster (:func:`label_raster`) gives a pixel shared by overlapping parcels to
the one that comes *later* in ``geoms``. :func:`parcel_grid` does not: parcels that share a
pixel centre go to different layers (:mod:`backend.extraction.layers`), each layer its own
label raster, so that every parcel owns all the pixels whose centre it contains.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import shapely
from affine import Affine
from rasterio.features import rasterize
from rasterio.windows import Window
from rasterio.windows import transform as window_transform

from backend.errors import InvalidInput
from backend.extraction.layers import overlap_layers
from backend.extraction.pixels import LabelledPixels, labelled_pixels

log = logging.getLogger(__name__)

Bounds = tuple[float, float, float, float]


@dataclass(frozen=True)
class GridSpec:
    """An image grid: where pixel (0, 0) is, its size, CRS and internal block size.

    Attributes:
        transform: Affine transform of the full image (north-up).
        shape: ``(height, width)`` of the full image in pixels.
        crs: CRS of the grid, anything rasterio/pyproj accepts (kept for the caller).
        block_shape: ``(rows, cols)`` of the COG's internal tiles.
    """

    transform: Affine
    shape: tuple[int, int]
    crs: Any = None
    block_shape: tuple[int, int] = (512, 512)

    def __post_init__(self) -> None:
        if self.transform.b != 0 or self.transform.d != 0 or self.transform.e >= 0:
            raise InvalidInput("only north-up grids without rotation are supported")
        if min(self.shape) <= 0 or min(self.block_shape) <= 0:
            raise InvalidInput(f"invalid grid shape {self.shape} or block {self.block_shape}")

    @classmethod
    def from_dataset(cls, ds: Any) -> GridSpec:
        """Build the grid of an open rasterio dataset (block shape of its first band)."""
        return cls(ds.transform, (ds.height, ds.width), ds.crs, tuple(ds.block_shapes[0]))


@dataclass(frozen=True, eq=False)
class ParcelGrid:
    """Parcel labels on one window of one image grid; compute once, reuse for every image.

    Label ``i`` (1-based) is the ``i``-th geometry given to :func:`parcel_grid`; 0 is no parcel.
    Where parcels share pixels, ``labels`` holds the first layer and :attr:`layers` the
    others, each on the block-aligned sub-window covering its parcels.

    Attributes:
        labels: ``int32`` label raster of the window.
        transform: Affine transform of the window.
        crs: CRS of the grid.
        window: Block-aligned window of the full image the labels cover (read this window).
        n_labels: Number of parcels (rows of the statistics).
        layers: Further layers of overlapping parcels (empty: no parcel shares a pixel).
        members: 0-based parcels burnt in this layer; None: every parcel (no other layer).
    """

    labels: np.ndarray
    transform: Affine
    crs: Any
    window: Window
    n_labels: int
    layers: tuple[ParcelGrid, ...] = ()
    members: np.ndarray | None = None

    @property
    def all_layers(self) -> tuple[ParcelGrid, ...]:
        """This grid and its further layers, first layer first."""
        return (self, *self.layers)

    @cached_property
    def n_total(self) -> np.ndarray:
        """``int64`` pixels per parcel over all layers, shape ``(n_labels,)``."""
        total = self.pixels.n_total
        for layer in self.layers:
            total = total + layer.pixels.n_total
        return total

    def slices_in(self, outer: ParcelGrid) -> tuple[slice, slice]:
        """Slices of ``outer``'s window (same grid) that are this grid's window."""
        r0 = int(self.window.row_off - outer.window.row_off)
        c0 = int(self.window.col_off - outer.window.col_off)
        h, w = self.labels.shape
        if r0 < 0 or c0 < 0 or r0 + h > outer.labels.shape[0] or c0 + w > outer.labels.shape[1]:
            raise InvalidInput("layer window is not inside the outer window")
        return slice(r0, r0 + h), slice(c0, c0 + w)

    @property
    def offset(self) -> tuple[int, int]:
        """``(row_off, col_off)`` of the window in the full image."""
        return int(self.window.row_off), int(self.window.col_off)

    @cached_property
    def pixels(self) -> LabelledPixels:
        """Labelled pixels grouped by label (computed on first use, then cached)."""
        return labelled_pixels(self.labels, self.n_labels)


def label_raster(
    geoms: Sequence[shapely.Geometry] | np.ndarray,
    ids: Sequence[int] | np.ndarray,
    transform: Affine,
    shape: tuple[int, int],
    *,
    negative_buffer_m: float = 0.0,
) -> np.ndarray:
    """Burn parcel ids into an ``int32`` raster with the pixel-centre rule.

    Args:
        geoms: Polygons/MultiPolygons (holes allowed) in the grid CRS.
        ids: Positive ids to burn, one per geometry.
        transform: Affine transform of the output raster.
        shape: ``(height, width)`` of the output raster.
        negative_buffer_m: Shrink every geometry by this distance first (grid units); a
            parcel that vanishes gets no pixels.

    Returns:
        ``int32`` array of ``shape``; 0 where no parcel centre-covers the pixel. Where
        parcels overlap, the later one in ``geoms`` wins.

    Raises:
        InvalidInput: If lengths differ or an id is not positive.
    """
    geoms_arr = np.asarray(geoms, dtype=object)
    ids_arr = np.asarray(ids, dtype=np.int64)
    if geoms_arr.shape != ids_arr.shape:
        raise InvalidInput(f"{geoms_arr.size} geometries but {ids_arr.size} ids")
    if ids_arr.size and (ids_arr.min() <= 0 or ids_arr.max() > np.iinfo(np.int32).max):
        raise InvalidInput("parcel ids must be in 1..2**31-1 (0 means no parcel)")
    if negative_buffer_m > 0:
        geoms_arr = shapely.buffer(geoms_arr, -negative_buffer_m)
    keep = ~(shapely.is_missing(geoms_arr) | shapely.is_empty(geoms_arr))
    out = np.zeros(shape, dtype=np.int32)
    if not keep.any():
        return out
    shapes = zip(geoms_arr[keep], ids_arr[keep].tolist(), strict=True)
    return rasterize(
        shapes, out_shape=shape, transform=transform, out=out, all_touched=False, dtype="int32"
    )


def window_for_bounds(
    bounds: Iterable[Bounds] | np.ndarray, grid: GridSpec, *, pad_m: float = 0.0
) -> Window | None:
    """The block-aligned window of ``grid`` covering all ``bounds``, clipped to the image.

    Args:
        bounds: ``(minx, miny, maxx, maxy)`` per parcel, in the grid CRS.
        grid: The image grid.
        pad_m: Grow the union of the bounds by this distance before aligning.

    Returns:
        The window (offsets and sizes multiples of the block size except at the image's
        right/bottom edge), or ``None`` if no bounds intersect the image.
    """
    arr = np.asarray(list(bounds) if not isinstance(bounds, np.ndarray) else bounds, float)
    if arr.size == 0:
        return None
    arr = arr.reshape(-1, 4)
    union = (arr[:, 0].min() - pad_m, arr[:, 1].min() - pad_m,
             arr[:, 2].max() + pad_m, arr[:, 3].max() + pad_m)
    return _aligned_window(union, grid)


def block_windows_for_bounds(
    bounds: Iterable[Bounds] | np.ndarray, grid: GridSpec
) -> list[Window]:
    """The COG blocks touched by any of ``bounds``, one window per block, in raster order.

    Use it to read sparse parcel sets block by block instead of one large window.
    """
    arr = np.asarray(list(bounds) if not isinstance(bounds, np.ndarray) else bounds, float)
    touched: set[tuple[int, int]] = set()
    br, bc = grid.block_shape
    for b in arr.reshape(-1, 4):
        w = _aligned_window(tuple(b), grid)
        if w is None:
            continue
        r0, c0 = int(w.row_off) // br, int(w.col_off) // bc
        r1, c1 = -(-int(w.row_off + w.height) // br), -(-int(w.col_off + w.width) // bc)
        touched.update((r, c) for r in range(r0, r1) for c in range(c0, c1))
    h, w_ = grid.shape
    return [
        Window(c * bc, r * br, min(bc, w_ - c * bc), min(br, h - r * br))
        for r, c in sorted(touched)
    ]


def _aligned_window(b: tuple[float, ...], grid: GridSpec) -> Window | None:
    """Pixel window covering bounds ``b``, snapped outward to blocks and clipped."""
    inv = ~grid.transform
    c0, r0 = inv @ (b[0], b[3])
    c1, r1 = inv @ (b[2], b[1])
    h, w = grid.shape
    br, bc = grid.block_shape
    row0 = max(0, math.floor(r0) // br * br)
    col0 = max(0, math.floor(c0) // bc * bc)
    row1 = min(h, -(-math.ceil(r1) // br) * br)
    col1 = min(w, -(-math.ceil(c1) // bc) * bc)
    if row1 <= row0 or col1 <= col0:
        return None
    return Window(col0, row0, col1 - col0, row1 - row0)


def parcel_grid(
    geoms: Sequence[shapely.Geometry] | np.ndarray,
    grid: GridSpec,
    *,
    negative_buffer_m: float = 0.0,
) -> ParcelGrid | None:
    """Label raster of ``geoms`` on the block-aligned window of ``grid`` that covers them.

    Label ``i + 1`` is ``geoms[i]``. Call it once per grid (10 m, 20 m, ...): each
    resolution gets its own label raster from the geometries, never a resampled one.
    Parcels that share pixel centres are split into layers (:attr:`ParcelGrid.layers`).

    Returns:
        The :class:`ParcelGrid`, or ``None`` if no geometry intersects the image.
    """
    geoms_arr = np.asarray(geoms, dtype=object)
    window = window_for_bounds(shapely.bounds(geoms_arr), grid)
    if window is None:
        return None
    if negative_buffer_m > 0:
        geoms_arr = shapely.buffer(geoms_arr, -negative_buffer_m)
    n = int(geoms_arr.size)
    tr = window_transform(window, grid.transform)
    layer = overlap_layers(geoms_arr, tr, (int(window.height), int(window.width)))
    if not layer.any():
        labels = label_raster(geoms_arr, np.arange(1, n + 1), tr, (int(window.height), int(window.width)))
        log.debug("labelled %d parcels on window %s", n, window)
        return ParcelGrid(labels, tr, grid.crs, window, n)
    grids = []
    for k in range(int(layer.max()) + 1):
        members = np.flatnonzero(layer == k)
        w = window if k == 0 else window_for_bounds(shapely.bounds(geoms_arr[members]), grid)
        assert w is not None, "parcels sharing pixels lie in the window"
        t = window_transform(w, grid.transform)
        lab = label_raster(geoms_arr[members], members + 1, t, (int(w.height), int(w.width)))
        grids.append(ParcelGrid(lab, t, grid.crs, w, n, members=members))
    log.debug("labelled %d parcels in %d layers on window %s", n, len(grids), window)
    first = grids[0]
    return ParcelGrid(first.labels, tr, grid.crs, window, n, tuple(grids[1:]), first.members)


def parcel_grids(
    geoms: Sequence[shapely.Geometry] | np.ndarray,
    grids: Mapping[str, GridSpec],
    *,
    negative_buffer_m: float = 0.0,
) -> dict[str, ParcelGrid | None]:
    """One :class:`ParcelGrid` per named grid (e.g. ``{"10m": ..., "20m": ...}``)."""
    return {
        name: parcel_grid(geoms, g, negative_buffer_m=negative_buffer_m)
        for name, g in grids.items()
    }


def coarse_slices(fine: ParcelGrid, coarse: ParcelGrid) -> tuple[slice, slice]:
    """Slices of ``coarse``'s window that cover ``fine``'s window (same origin, integer ratio).

    Use it to cut the 20 m SCL read for the 20 m window down to the part under the 10 m
    window before :func:`backend.extraction.pixels.mask_to_finer`.

    Raises:
        InvalidInput: If the grids are not nested with an integer factor.
    """
    factor = coarse.transform.a / fine.transform.a
    k = round(factor)
    ro, co = fine.offset
    if abs(factor - k) > 1e-9 or ro % k or co % k:
        raise InvalidInput("fine window must start on a coarse pixel boundary")
    r0 = ro // k - coarse.offset[0]
    c0 = co // k - coarse.offset[1]
    h, w = fine.labels.shape
    r1, c1 = r0 + -(-h // k), c0 + -(-w // k)
    if r0 < 0 or c0 < 0 or r1 > coarse.labels.shape[0] or c1 > coarse.labels.shape[1]:
        raise InvalidInput("coarse window does not cover the fine window")
    return slice(r0, r1), slice(c0, c1)
