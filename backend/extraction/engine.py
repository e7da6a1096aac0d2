"""Zonal statistics per parcel: a pure function ``(band arrays, label raster) -> Stats``.

No Python loop over parcels. A label raster is checked and counted once per grid
(:func:`labelled_pixels`, cached by the caller); each image selects its valid labelled
pixels once per grid (:func:`select_pixels`, or :func:`select_by_classes` straight from a
coarser SCL raster) in raster order; each band is then scattered into a buffer grouped by
label and gets, per label, count, mean, std (population), min, max and the 25th, 50th and
75th percentiles, the latter exactly as ``np.percentile(values, q)`` (linear) does
(:func:`band_stats`, one band at a time so that a caller can read the next band meanwhile).
The compiled kernels are in :mod:`backend.extraction._jit` and ``_jit_grid`` (numba);
without numba, the numpy kernel of :mod:`backend.extraction._kernels` gives the same bits,
slower.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np
from numpy.typing import DTypeLike

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
    """The labelled pixels of one label raster: compute once per grid, reuse for every image.

    Attributes:
        labels: The label raster (0 = no parcel, 1..n_labels), validated.
        n_total: ``int64`` pixels per label (label order), shape ``(n_labels,)``.
    """

    labels: np.ndarray
    n_total: np.ndarray

    @cached_property
    def starts(self) -> np.ndarray:
        """``int64 (n_labels + 1,)``: label ``l`` owns slots ``starts[l - 1]:starts[l]``."""
        return np.concatenate([[0], np.cumsum(self.n_total)]).astype(np.int64)

    @property
    def shape(self) -> tuple[int, int]:
        """Shape of the label raster."""
        h, w = self.labels.shape
        return h, w

    @property
    def n_labels(self) -> int:
        """Number of labels (1..n_labels)."""
        return int(self.n_total.size)

    @cached_property
    def grouped(self) -> Selection:
        """All labelled pixels grouped by label, segments in *spatial* order (numpy kernel).

        Segments are ordered by each label's first pixel rather than by label so that the
        numpy kernel's gathers sweep the raster roughly top to bottom. Computed on first use.
        """
        flat = self.labels.ravel()
        itype = np.int32 if flat.size < 2**31 else np.int64
        if _jit is not None:
            index = np.empty(int(self.n_total.sum()), itype)
            offsets, order, _ = _jit_grid.group_by_label(flat, self.n_labels, index)
            return Selection(index, offsets, order, self.shape)
        index = np.flatnonzero(flat).astype(itype)
        labs = flat[index]
        if labs.size and np.any(labs[1:] < labs[:-1]):
            key = labs.astype(np.uint16) if self.n_labels < 2**16 else labs
            order = np.argsort(key, kind="stable")  # radix sort for 16-bit keys
            index = index[order]
        return _spatial_order(index, self.n_total, self.shape)

    @property
    def index(self) -> np.ndarray:
        """Flat indices of the labelled pixels, grouped (see :attr:`grouped`)."""
        return self.grouped.index

    @property
    def offsets(self) -> np.ndarray:
        """Segment offsets into :attr:`index` (see :attr:`grouped`)."""
        return self.grouped.offsets

    @property
    def order(self) -> np.ndarray:
        """Segment ``s`` of :attr:`grouped` holds label ``order[s] + 1``."""
        order = self.grouped.order
        assert order is not None
        return order


@dataclass(frozen=True, eq=False)
class Selection:
    """The valid labelled pixels of one image on one grid (:func:`select_pixels`).

    The band values of these pixels, grouped by label, form segments:
    segment ``s`` is ``values[offsets[s]:offsets[s + 1]]``.

    Attributes:
        index: Flat (C-order) pixel indices (``int32`` when they fit).
        offsets: ``int64`` ``(n_labels + 1,)`` segment offsets.
        order: Segment ``s`` holds label ``order[s] + 1``; None: label ``s + 1``.
        shape: Shape of the label raster.
        dest: None if ``index`` is grouped by segment; otherwise ``index`` is in raster
            order and ``dest`` gives each pixel's position in the grouped values (the
            compiled kernel's layout: a band is read in raster order and scattered).
        ends: None if the segments are contiguous; otherwise segment ``s`` is
            ``values[offsets[s]:ends[s]]`` (slots up to ``offsets[s + 1]`` unused).
        scratch: The thread's :class:`_Scratch` holding ``index`` and ``dest``, if any.
        generation: Its selection count when this one was made.
    """

    index: np.ndarray
    offsets: np.ndarray
    order: np.ndarray | None
    shape: tuple[int, int]
    dest: np.ndarray | None = None
    ends: np.ndarray | None = None
    scratch: _Scratch | None = field(default=None, repr=False)
    generation: int = 0

    def values_buffer(self, dtype: DTypeLike) -> np.ndarray:
        """Scratch for the band values grouped by segment.

        Raises:
            InvalidInput: If a later selection on the same pixels reused this one's memory.
        """
        if self.scratch is None:
            return np.empty(int(self.offsets[-1]), dtype)
        if self.scratch.generation != self.generation:
            raise InvalidInput("this selection was overwritten by a later select_pixels in the "
                               "same thread: use each selection before making the next")
        return self.scratch.get("values", int(self.offsets[-1]), dtype)


    @property
    def n_labels(self) -> int:
        """Number of labels (1..n_labels)."""
        return int(self.offsets.size - 1)

    def by_label(self, per_segment: np.ndarray) -> np.ndarray:
        """Rows in segment order -> rows in label order (row ``i`` is label ``i + 1``)."""
        if self.order is None:
            return per_segment
        out = np.empty_like(per_segment)
        out[self.order] = per_segment
        return out

    @property
    def segment_ends(self) -> np.ndarray:
        """End of each segment in the grouped values."""
        return self.offsets[1:] if self.ends is None else self.ends

    def contiguous(self) -> Selection:
        """The same pixels with ``index`` grouped by segment, segments contiguous."""
        if self.dest is None and self.ends is None:
            return self
        slots = np.full(int(self.offsets[-1]), -1, np.int64)
        slots[self.dest] = self.index
        counts = self.segment_ends - self.offsets[:-1]
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return Selection(slots[slots >= 0].astype(self.index.dtype), offsets, self.order, self.shape)


class _Scratch(threading.local):
    """Memory of the compiled path, per thread, reused from grid to grid and image to image.

    First-touching hundreds of MB of fresh pages for every image costs as much as the
    statistics on a virtual machine. So a :class:`Selection` made by the compiled kernel is
    valid until the next selection in the same thread (checked), and one thread holds one
    set of buffers, sized for the largest grid it has seen.
    """

    def __init__(self) -> None:
        self.buffers: dict[str, np.ndarray] = {}
        self.generation = 0

    def get(self, name: str, n: int, dtype: DTypeLike) -> np.ndarray:
        """A buffer of ``n`` items (contents undefined), grown as needed."""
        dt = np.dtype(dtype)
        buf = self.buffers.get(name)
        if buf is None or buf.nbytes < n * dt.itemsize:
            self.buffers.pop(name, None)  # free the old one first
            self.buffers[name] = buf = np.empty(n * dt.itemsize, np.uint8)
        return buf[: n * dt.itemsize].view(dt)


_SCRATCH = _Scratch()


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
    """Check a label raster and count its pixels per label; do it once per grid.

    Raises:
        InvalidInput: If a label is negative or greater than ``n_labels``, or the raster
            is not 2-D integers.
    """
    if labels.ndim != 2 or labels.dtype.kind not in "iu":
        raise InvalidInput(f"labels must be a 2-D integer raster, got {labels.dtype} {labels.shape}")
    if _jit is not None:
        n_total, ok = _jit_grid.count_labels(labels, n_labels)
    else:
        ok = not labels.size or (int(labels.min()) >= 0 and int(labels.max()) <= n_labels)
        n_total = np.bincount(labels.ravel(), minlength=n_labels + 1)[1:].astype(np.int64) if ok else None
    if not ok:
        raise InvalidInput(f"labels must be in 0..{n_labels}")
    return LabelledPixels(labels, n_total)


def _spatial_order(index: np.ndarray, counts: np.ndarray, shape: tuple[int, int]) -> Selection:
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
    return Selection(index[src], offsets, order, shape)


def select_pixels(pixels: LabelledPixels, valid: np.ndarray | None, *, kernel: Kernel = "auto"
                  ) -> Selection:
    """The labelled pixels where ``valid`` is True (all of them if ``valid`` is None).

    Compute it once per image and grid, then pass it to :func:`band_stats` for every band.

    Raises:
        InvalidInput: If ``valid`` does not have the shape of the label raster.
    """
    if valid is not None and valid.shape != pixels.shape:
        raise InvalidInput(f"valid mask has shape {valid.shape}, labels {pixels.shape}")
    if _use_jit(kernel):
        h, w = pixels.shape
        if valid is None:
            return _select_jit(pixels, np.ones((1, 1), np.uint8), _LUT_TRUE, max(h, 1),
                               np.zeros(w, np.int32))
        mask = np.ascontiguousarray(valid, dtype=bool).view(np.uint8)
        return _select_jit(pixels, mask, _LUT_BOOL, 1, np.arange(w, dtype=np.int32))
    sel = pixels.grouped
    if valid is None:
        return sel
    ok = np.ascontiguousarray(valid).ravel()[sel.index]
    counts = _kernels._segment_sums(ok, np.diff(sel.offsets))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return Selection(sel.index[ok], offsets, sel.order, sel.shape)


def select_by_classes(pixels: LabelledPixels, classes: np.ndarray, masked_classes: Iterable[int],
                      *, factor: int = 1, kernel: Kernel = "auto") -> Selection:
    """The labelled pixels whose class (e.g. S2 SCL) is not in ``masked_classes``.

    Same as ``select_pixels(pixels, mask_to_finer(valid_mask_from_scl(classes, masked),
    pixels.shape, factor))`` without building the fine mask.

    Args:
        pixels: :func:`labelled_pixels` of the (fine) label raster.
        classes: Class raster on a grid ``factor`` times coarser with the same origin,
            covering the label raster (see :func:`backend.extraction.labels.coarse_slices`).
        masked_classes: Classes to exclude.
        factor: Integer resolution ratio (1: same grid).
        kernel: "jit", "numpy" or "auto".

    Raises:
        InvalidInput: If ``classes`` does not cover the label raster.
    """
    h, w = pixels.shape
    if classes.ndim != 2 or classes.shape[0] * factor < h or classes.shape[1] * factor < w:
        raise InvalidInput(f"classes {classes.shape} x{factor} do not cover {pixels.shape}")
    if not _use_jit(kernel):
        valid = valid_mask_from_scl(classes, masked_classes)
        return select_pixels(pixels, mask_to_finer(valid, (h, w), factor), kernel=kernel)
    lut = np.ones(256, dtype=np.bool_)
    lut[list(masked_classes)] = False
    mask = np.ascontiguousarray(classes).astype(np.uint8, copy=False)
    return _select_jit(pixels, mask, lut, factor, np.arange(w, dtype=np.int32) // factor)


_LUT_BOOL = np.arange(256) == 1
_LUT_TRUE = np.ones(256, dtype=np.bool_)


def _select_jit(pixels: LabelledPixels, mask: np.ndarray, lut: np.ndarray, row_div: int,
                col_map: np.ndarray) -> Selection:
    labels = np.ascontiguousarray(pixels.labels)
    starts = pixels.starts
    n = int(starts[-1])
    _SCRATCH.generation += 1
    index = _SCRATCH.get("index", n, np.int32 if labels.size < 2**31 else np.int64)
    dest = _SCRATCH.get("dest", n, np.int32 if n < 2**31 else np.int64)
    m, ends = _jit_grid.select_valid(labels, mask, lut, row_div, col_map, starts, index, dest)
    return Selection(index[:m], starts, None, pixels.shape, dest[:m], ends, _SCRATCH,
                     _SCRATCH.generation)


def band_stats(pixels: Selection | LabelledPixels, band: np.ndarray,
               nodata: float | int | None = None, *, kernel: Kernel = "auto") -> np.ndarray:
    """``float32 (n_labels, 8)`` statistics (:data:`STAT_NAMES`) of one band.

    Args:
        pixels: :func:`select_pixels` (or :func:`labelled_pixels`: all pixels) on the band's
            grid.
        band: ``(H, W)`` integer or float array on that grid.
        nodata: A value to exclude; NaN is always excluded.
        kernel: "jit" (numba), "numpy" or "auto" (numba when installed).

    Raises:
        InvalidInput: If the band's shape or dtype is wrong.
    """
    sel = select_pixels(pixels, None, kernel=kernel) if isinstance(pixels, LabelledPixels) else pixels
    return _band_stats(sel, band, nodata, kernel)


def _band_stats(pixels: Selection, band: np.ndarray, nodata: float | int | None,
                kernel: Kernel) -> np.ndarray:
    if band.shape != pixels.shape:
        raise InvalidInput(f"band has shape {band.shape}, labels {pixels.shape}")
    if band.dtype.kind not in "uif":
        raise InvalidInput(f"band has dtype {band.dtype}; need integers or floats")
    if not _use_jit(kernel):
        sel = pixels.contiguous()
        return sel.by_label(_kernels.gathered_stats(band, sel.index, sel.offsets, nodata))
    flat = np.ascontiguousarray(band).ravel()
    grouped = pixels.values_buffer(band.dtype)
    if pixels.dest is None:
        _jit_grid.gather(flat, pixels.index, grouped)
    else:
        _jit_grid.scatter(flat, pixels.index, pixels.dest, grouped)
    key = _nodata_key(band.dtype, nodata)
    raw = _jit.band_segments(grouped, pixels.offsets, pixels.segment_ends,
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
    """Compile (or load from numba's cache) the kernels for the common dtypes; idempotent.

    Call it once per worker process before the first image (``cbm extract`` does).
    """
    if _jit is None:
        return
    labels = np.array([[1, 1, 0, 2]], np.int32)
    pix = labelled_pixels(labels, 2)
    selections = (lambda: select_pixels(pix, labels > 0), lambda: select_pixels(pix, None),
                  lambda: select_by_classes(pix, np.ones((1, 2), np.uint8), [3], factor=2))
    for select in selections:
        sel = select()
        for dtype in (np.uint8, np.uint16, np.int16, np.float32):
            band_stats(sel, np.ones(labels.shape, dtype), 0, kernel="jit")
    scl_histogram(np.ones(labels.shape, np.uint8), labels, 2, pixels=pix)
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

    Values above 11 are ignored. ``pixels``: :func:`labelled_pixels` of ``labels``, if known.

    Raises:
        InvalidInput: If shapes differ or labels are out of range.
    """
    if scl.shape != labels.shape:
        raise InvalidInput(f"SCL has shape {scl.shape}, labels {labels.shape}")
    pix = pixels if pixels is not None and pixels.labels is labels else labelled_pixels(labels, n_labels)
    if pix.n_labels != n_labels:
        raise InvalidInput("pixels were computed for another label raster")
    if _jit is not None and scl.dtype.kind == "u":
        return _jit_grid.class_histogram(np.ascontiguousarray(scl), np.ascontiguousarray(labels),
                                         n_labels, SCL_CLASSES)
    sel = pix.grouped
    cls = np.ascontiguousarray(scl).ravel()[sel.index].astype(np.int64)
    keep = cls < SCL_CLASSES
    assert sel.order is not None
    labs = np.repeat(sel.order, np.diff(sel.offsets))
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
