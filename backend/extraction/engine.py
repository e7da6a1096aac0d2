"""Zonal statistics per parcel: a pure function ``(band arrays, label raster) -> Stats``.

No Python loop over parcels. The labelled pixels are grouped by label once per grid
(:func:`labelled_pixels`, cached by the caller) and filtered by the image's validity mask once
per image and grid (:func:`select_pixels`); each band then gets, per label, count, mean, std
(population), min, max and the 25th, 50th and 75th percentiles, the latter exactly as
``np.percentile(values, q)`` (linear) does (:func:`band_stats`, one band at a time so that a
caller can read the next band meanwhile). The compiled kernel is in
:mod:`backend.extraction._jit` (numba); without numba, the numpy kernel of
:mod:`backend.extraction._kernels` gives the same bits, slower.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from backend.errors import InvalidInput
from backend.extraction import _kernels

try:
    from backend.extraction import _jit, _jit_grid
except ImportError:  # pragma: no cover - numba is a dependency; the numpy kernel is the fallback
    _jit = _jit_grid = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

STAT_NAMES: tuple[str, ...] = ("count", "mean", "std", "min", "max", "p25", "p50", "p75")
"""Order of the last axis of :attr:`Stats.values`."""

SCL_CLASSES = 12
Nodata = float | int | Mapping[str, float | int | None] | None
Kernel = Literal["auto", "jit", "numpy"]


@dataclass(frozen=True, eq=False)
class LabelledPixels:
    """Pixels that carry a label, grouped by label into segments (raster order within one).

    The segments are in *spatial* order (by each label's first pixel), not label order, so
    that the kernels sweep the rasters roughly top to bottom: consecutive segments touch the
    same rows, which stay in the CPU cache (label order jumps across the image and is several
    times slower on a large window).

    Attributes:
        index: Flat (C-order) indices into the label raster (``int32`` when they fit).
        offsets: ``int64`` ``(n_labels + 1,)``: segment ``s`` is
            ``index[offsets[s]:offsets[s + 1]]``.
        order: ``int64`` ``(n_labels,)``: segment ``s`` holds label ``order[s] + 1``.
        shape: Shape of the label raster.
    """

    index: np.ndarray
    offsets: np.ndarray
    order: np.ndarray
    shape: tuple[int, int]

    @property
    def n_labels(self) -> int:
        """Number of labels (1..n_labels)."""
        return int(self.offsets.size - 1)

    @property
    def n_total(self) -> np.ndarray:
        """``int64`` pixels per label (label order), shape ``(n_labels,)``."""
        return self.by_label(np.diff(self.offsets))

    def by_label(self, per_segment: np.ndarray) -> np.ndarray:
        """Rows in segment order -> rows in label order (row ``i`` is label ``i + 1``)."""
        out = np.empty_like(per_segment)
        out[self.order] = per_segment
        return out


@dataclass(frozen=True, eq=False)
class Stats:
    """Statistics for every label 1..n_labels and every band.

    Attributes:
        values: ``float32`` array ``(n_labels, n_bands, 8)``; row ``i`` is label ``i + 1``;
            the last axis follows :data:`STAT_NAMES`. A label without valid pixels has
            count 0 and NaN for the other seven.
        n_total: ``int64`` pixels per label on the grid, valid or not.
        bands: Band names, in the order of the second axis.
    """

    values: np.ndarray
    n_total: np.ndarray
    bands: tuple[str, ...]

    def get(self, band: str, stat: str) -> np.ndarray:
        """One statistic of one band for all labels, shape ``(n_labels,)``."""
        return self.values[:, self.bands.index(band), STAT_NAMES.index(stat)]


def labelled_pixels(labels: np.ndarray, n_labels: int) -> LabelledPixels:
    """Group the labelled pixels of a label raster by label; do it once per grid.

    Raises:
        InvalidInput: If a label is negative or greater than ``n_labels``.
    """
    flat = labels.ravel()
    if _jit is not None and flat.dtype.kind in "iu":
        index = np.empty(np.count_nonzero(flat), np.int32 if flat.size < 2**31 else np.int64)
        offsets, order, ok = _jit_grid.group_by_label(flat, n_labels, index)
        if not ok:
            raise InvalidInput(f"labels must be in 0..{n_labels}")
        return LabelledPixels(index, offsets, order, labels.shape)
    index = np.flatnonzero(flat)
    if flat.size < 2**31:
        index = index.astype(np.int32)
    labs = flat[index]
    if labs.size and (labs.min() < 0 or labs.max() > n_labels):
        raise InvalidInput(f"labels must be in 0..{n_labels}")
    if labs.size and np.any(labs[1:] < labs[:-1]):
        key = labs.astype(np.uint16) if n_labels < 2**16 else labs
        order = np.argsort(key, kind="stable")  # radix sort for 16-bit keys
        index, labs = index[order], labs[order]
    counts = np.bincount(labs, minlength=n_labels + 1)[1:].astype(np.int64)
    return _spatial_order(index, counts, labels.shape)


def _spatial_order(index: np.ndarray, counts: np.ndarray, shape: tuple[int, int]) -> LabelledPixels:
    """Reorder label-ordered segments by their first pixel (empty labels last)."""
    starts = np.cumsum(counts) - counts
    first = np.full(counts.size, np.iinfo(np.int64).max)
    has = counts > 0
    first[has] = index[starts[has]]
    order = np.argsort(first, kind="stable")
    c = counts[order]
    offsets = np.zeros(counts.size + 1, np.int64)
    np.cumsum(c, out=offsets[1:])
    src = np.repeat(starts[order] - offsets[:-1], c)
    src += np.arange(src.size, dtype=np.int64)
    return LabelledPixels(index[src], offsets, order, shape)


def select_pixels(pixels: LabelledPixels, valid: np.ndarray | None, *, kernel: Kernel = "auto"
                  ) -> LabelledPixels:
    """The labelled pixels where ``valid`` is True (all of them if ``valid`` is None).

    Compute it once per image and grid, then pass it to :func:`band_stats` for every band.

    Raises:
        InvalidInput: If ``valid`` does not have the shape of the label raster.
    """
    if valid is None:
        return pixels
    if valid.shape != pixels.shape:
        raise InvalidInput(f"valid mask has shape {valid.shape}, labels {pixels.shape}")
    flat = np.ascontiguousarray(valid).ravel()
    if _use_jit(kernel):
        index, offsets = _jit_grid.select_valid(pixels.index, pixels.offsets, flat)
        return LabelledPixels(index, offsets, pixels.order, pixels.shape)
    ok = flat[pixels.index]
    counts = _kernels._segment_sums(ok, np.diff(pixels.offsets))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return LabelledPixels(pixels.index[ok], offsets, pixels.order, pixels.shape)


def band_stats(pixels: LabelledPixels, band: np.ndarray, nodata: float | int | None = None, *,
               kernel: Kernel = "auto") -> np.ndarray:
    """``float32 (n_labels, 8)`` statistics (:data:`STAT_NAMES`) of one band.

    Args:
        pixels: :func:`select_pixels` (or :func:`labelled_pixels`) on the band's grid.
        band: ``(H, W)`` integer or float array on that grid.
        nodata: A value to exclude; NaN is always excluded.
        kernel: "jit" (numba), "numpy" or "auto" (numba when installed).

    Raises:
        InvalidInput: If the band's shape or dtype is wrong.
    """
    if band.shape != pixels.shape:
        raise InvalidInput(f"band has shape {band.shape}, labels {pixels.shape}")
    if band.dtype.kind not in "uif":
        raise InvalidInput(f"band has dtype {band.dtype}; need integers or floats")
    if not _use_jit(kernel):
        return pixels.by_label(_kernels.gathered_stats(band, pixels.index, pixels.offsets, nodata))
    key = _nodata_key(band.dtype, nodata)
    raw = _jit.band_segments(np.ascontiguousarray(band).ravel(), pixels.index, pixels.offsets,
                             0.0 if key is None else key, key is not None, band.dtype.kind != "f")
    return pixels.by_label(_kernels.finish_order_stats(raw, band.dtype))


def zonal_stats(
    bands: Mapping[str, np.ndarray] | np.ndarray,
    labels: np.ndarray,
    n_labels: int,
    *,
    valid: np.ndarray | None = None,
    nodata: Nodata = None,
    pixels: LabelledPixels | None = None,
    kernel: Kernel = "auto",
) -> Stats:
    """Count, mean, std, min, max, p25, p50, p75 per label and band.

    Args:
        bands: ``{name: (H, W) array}`` or an ``(n_bands, H, W)`` array (bands named "1",
            "2", ...), all on the grid of ``labels``; integer or float dtypes.
        labels: ``int32`` label raster, 0 = no parcel, 1..n_labels = parcels.
        n_labels: Number of labels; every one gets a row, pixels or not.
        valid: Optional ``bool`` mask, False excludes the pixel from every band.
        nodata: A value excluded from every band, or ``{band: value}``. NaN is always
            excluded.
        pixels: :func:`labelled_pixels` of ``labels`` (reuse it across images).
        kernel: "jit" (numba), "numpy" or "auto" (numba when installed); same results.

    Returns:
        The :class:`Stats`.

    Raises:
        InvalidInput: If shapes or dtypes are wrong or labels are out of range.
    """
    named = _named_bands(bands)
    pix = pixels if pixels is not None else labelled_pixels(labels, n_labels)
    if pix.n_labels != n_labels or pix.shape != labels.shape:
        raise InvalidInput("pixels were computed for another label raster")
    sel = select_pixels(pix, valid, kernel=kernel)
    out = np.empty((n_labels, len(named), len(STAT_NAMES)), dtype=np.float32)
    for j, (name, arr) in enumerate(named.items()):
        try:
            out[:, j, :] = band_stats(sel, arr, _nodata_for(nodata, name), kernel=kernel)
        except InvalidInput as exc:
            raise InvalidInput(f"band {name}: {exc}") from None
    return Stats(out, pix.n_total, tuple(named))


def warm_up() -> None:
    """Compile (or load from numba's cache) the kernels for the common dtypes; idempotent."""
    if _jit is None:
        return
    labels = np.array([[1, 1, 0, 2]], np.int32)
    pix = select_pixels(labelled_pixels(labels, 2), labels > 0)
    for dtype in (np.uint8, np.uint16, np.int16, np.float32):
        band_stats(pix, np.ones(labels.shape, dtype), 0, kernel="jit")
    scl_histogram(np.ones(labels.shape, np.uint8), labels, 2)
    mask_to_finer(labels > 0, (2, 8), 2)


def _use_jit(kernel: Kernel) -> bool:
    if kernel == "jit" and _jit is None:
        raise InvalidInput("kernel='jit' needs numba")
    return kernel == "jit" or (kernel == "auto" and _jit is not None)


def _nodata_key(dtype: np.dtype, nodata: float | int | None) -> float | None:
    """``nodata`` as the float64 that equals exactly the band values ``band != nodata`` drops.

    numpy compares in ``result_type(dtype, nodata)`` (a Python float against float32 data
    compares in float32); None when no value can match (NaN, or an out-of-range integer).
    """
    if nodata is None or (isinstance(nodata, float | np.floating) and np.isnan(nodata)):
        return None
    try:
        common = np.result_type(dtype, nodata)
    except (OverflowError, TypeError):
        return None
    return float(np.asarray(nodata).astype(common))


def _named_bands(bands: Mapping[str, np.ndarray] | np.ndarray) -> dict[str, np.ndarray]:
    if isinstance(bands, np.ndarray):
        if bands.ndim != 3:
            raise InvalidInput("a band array must be 3-D (n_bands, H, W)")
        return {str(i + 1): bands[i] for i in range(bands.shape[0])}
    return dict(bands)


def _nodata_for(nodata: Nodata, name: str) -> float | int | None:
    if isinstance(nodata, Mapping):
        return nodata.get(name)
    return nodata


def scl_histogram(
    scl: np.ndarray, labels: np.ndarray, n_labels: int, *, pixels: LabelledPixels | None = None
) -> np.ndarray:
    """Pixels of each S2 SCL class 0..11 per label, ``int32`` ``(n_labels, 12)``.

    Values above 11 are ignored.
    """
    pix = pixels if pixels is not None else labelled_pixels(labels, n_labels)
    flat = np.ascontiguousarray(scl).ravel()
    if _jit is not None and flat.dtype.kind == "u":
        return pix.by_label(_jit_grid.class_histogram(flat, pix.index, pix.offsets, SCL_CLASSES))
    cls = flat[pix.index].astype(np.int64)
    keep = cls < SCL_CLASSES
    labs = np.repeat(pix.order, np.diff(pix.offsets))
    key = labs[keep] * SCL_CLASSES + cls[keep]
    hist = np.bincount(key, minlength=n_labels * SCL_CLASSES)
    return hist.reshape(n_labels, SCL_CLASSES).astype(np.int32)


def valid_mask_from_scl(scl: np.ndarray, masked_classes: Iterable[int]) -> np.ndarray:
    """``True`` where the SCL class is not in ``masked_classes`` (e.g. {0, 1, 3, 8, 9, 10, 11})."""
    lut = np.ones(256, dtype=bool)
    lut[list(masked_classes)] = False
    return lut[scl.astype(np.uint8, copy=False)]


def mask_to_finer(mask20: np.ndarray, shape10: tuple[int, int], factor: int = 2) -> np.ndarray:
    """Nearest-neighbour repeat of a coarse mask onto the finer grid, cropped to ``shape10``.

    Both grids must share their origin (see :func:`backend.extraction.labels.coarse_slices`).

    Raises:
        InvalidInput: If the coarse mask does not cover ``shape10``.
    """
    h, w = shape10
    if mask20.shape[0] * factor < h or mask20.shape[1] * factor < w:
        raise InvalidInput(f"mask {mask20.shape} x{factor} does not cover {shape10}")
    m = mask20[: -(-h // factor), : -(-w // factor)]
    if _jit is not None:
        return _jit_grid.repeat_2d(m, factor, h, w)
    big = np.broadcast_to(m[:, None, :, None], (m.shape[0], factor, m.shape[1], factor))
    return big.reshape(m.shape[0] * factor, m.shape[1] * factor)[:h, :w]
