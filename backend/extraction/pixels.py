"""Labelled pixels and the valid-pixel selection of one image, per grid.

A label raster is checked and counted once per grid (:func:`labelled_pixels`, cached by the
caller); each image then selects its valid labelled pixels once per grid
(:func:`select_pixels`, or :func:`select_by_classes` straight from a coarser SCL raster) in
raster order. :mod:`backend.extraction.engine` computes the statistics of every band over a
:class:`Selection`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
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

    @cached_property
    def runs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(flat start, length, label)`` of the runs of one label along the rows.

        The compiled path's view of the labels (computed on first use, once per grid): an
        image's selection walks these runs, not the label raster.
        """
        return _jit_grid.label_runs(np.ascontiguousarray(self.labels))

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
        lengths: None: ``index`` and ``dest`` are per pixel. Otherwise they are per run (the
            compiled kernel's layout): run ``k`` is the pixels ``index[k]:index[k] +
            lengths[k]``, going to ``dest[k]:dest[k] + lengths[k]``.
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
    lengths: np.ndarray | None = None
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
        index, dest = self.index, self.dest
        assert dest is not None
        if self.lengths is not None:  # runs -> pixels
            within = np.arange(int(self.lengths.sum())) - np.repeat(
                np.cumsum(self.lengths) - self.lengths, self.lengths)
            index = np.repeat(index, self.lengths) + within
            dest = np.repeat(dest, self.lengths) + within
        slots = np.full(int(self.offsets[-1]), -1, np.int64)
        slots[dest] = index
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


_SCRATCHES: dict[int, _Scratch] = {0: _Scratch()}


def _scratch(slot: int) -> _Scratch:
    """The per-thread buffers of ``slot``: selections in different slots coexist."""
    found = _SCRATCHES.get(slot)
    return found if found is not None else _SCRATCHES.setdefault(slot, _Scratch())


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


def select_pixels(pixels: LabelledPixels, valid: np.ndarray | None, *, kernel: Kernel = "auto",
                  slot: int = 0) -> Selection:
    """The labelled pixels where ``valid`` is True (all of them if ``valid`` is None).

    Compute it once per image and grid, then pass it to :func:`band_stats` for every band.
    A selection stays valid until the next one of the same ``slot`` in the thread: use one
    slot per layer of overlapping parcels to keep the selections of all layers.

    Raises:
        InvalidInput: If ``valid`` does not have the shape of the label raster.
    """
    if valid is not None and valid.shape != pixels.shape:
        raise InvalidInput(f"valid mask has shape {valid.shape}, labels {pixels.shape}")
    if _use_jit(kernel):
        h, w = pixels.shape
        if valid is None:
            return _select_jit(pixels, np.ones((1, 1), np.uint8), _LUT_TRUE, max(h, w, 1), slot)
        mask = np.ascontiguousarray(valid, dtype=bool).view(np.uint8)
        return _select_jit(pixels, mask, _LUT_BOOL, 1, slot)
    sel = pixels.grouped
    if valid is None:
        return sel
    ok = np.ascontiguousarray(valid).ravel()[sel.index]
    counts = _kernels._segment_sums(ok, np.diff(sel.offsets))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return Selection(sel.index[ok], offsets, sel.order, sel.shape)


def select_by_classes(pixels: LabelledPixels, classes: np.ndarray, masked_classes: Iterable[int],
                      *, factor: int = 1, kernel: Kernel = "auto", slot: int = 0) -> Selection:
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
        slot: Scratch slot (see :func:`select_pixels`).

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
    return _select_jit(pixels, mask, lut, factor, slot)


_LUT_BOOL = np.arange(256) == 1
_LUT_TRUE = np.ones(256, dtype=np.bool_)


def _select_jit(pixels: LabelledPixels, mask: np.ndarray, lut: np.ndarray, factor: int,
                slot: int = 0) -> Selection:
    """The valid labelled pixels as runs (``lut[mask[r // factor, c // factor]]`` is True)."""
    run_start, run_len, run_lab = pixels.runs
    starts = pixels.starts
    n = int(starts[-1])
    scratch = _scratch(slot)
    scratch.generation += 1
    size = min(n, run_start.size * 2 + n // max(factor, 1))  # runs split at most per mask cell
    src = scratch.get("index", size, np.int64)
    dst = scratch.get("dest", size, np.int64)
    length = scratch.get("lengths", size, np.int32)
    m, ends = _jit_grid.select_runs(run_start, run_len, run_lab, pixels.shape[1], mask, lut,
                                    factor, starts, src, dst, length)
    return Selection(src[:m], starts, None, pixels.shape, dst[:m], ends, length[:m], scratch,
                     scratch.generation)


def _use_jit(kernel: Kernel) -> bool:
    if kernel == "jit" and _jit is None:
        raise InvalidInput("kernel='jit' needs numba")
    return kernel == "jit" or (kernel == "auto" and _jit is not None)


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
