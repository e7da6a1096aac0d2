"""Zonal statistics per parcel: a pure function ``(band arrays, label raster) -> Stats``.

Vectorised numpy, no Python loop over parcels. The labelled pixels are grouped by label once
per grid (:func:`labelled_pixels`, cached by the caller); each band then gathers its values in
that order and computes, per label, count, mean, std (population), min, max and the 25th,
50th and 75th percentiles, the latter exactly as ``np.percentile(values, q)`` (linear) does.
The kernel is in :mod:`backend.extraction._kernels`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from backend.errors import InvalidInput
from backend.extraction._kernels import RowLayout, band_stats, row_layout

log = logging.getLogger(__name__)

STAT_NAMES: tuple[str, ...] = ("count", "mean", "std", "min", "max", "p25", "p50", "p75")
"""Order of the last axis of :attr:`Stats.values`."""

SCL_CLASSES = 12
Nodata = float | int | Mapping[str, float | int | None] | None


@dataclass(frozen=True, eq=False)
class LabelledPixels:
    """Pixels that carry a label, grouped by label (raster order within a label).

    Attributes:
        index: Flat (C-order) indices into the label raster.
        labels: Label of each pixel, non-decreasing, ``int32``.
        n_total: Pixels per label on the grid, shape ``(n_labels,)``, ``int64``.
        shape: Shape of the label raster.
    """

    index: np.ndarray
    labels: np.ndarray
    n_total: np.ndarray
    shape: tuple[int, int]

    @property
    def n_labels(self) -> int:
        """Number of labels (1..n_labels)."""
        return int(self.n_total.size)


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
    index = np.flatnonzero(flat)
    labs = flat[index]
    if labs.size and (labs.min() < 0 or labs.max() > n_labels):
        raise InvalidInput(f"labels must be in 0..{n_labels}")
    if labs.size and np.any(labs[1:] < labs[:-1]):
        key = labs.astype(np.uint16) if n_labels < 2**16 else labs
        order = np.argsort(key, kind="stable")  # radix sort for 16-bit keys
        index, labs = index[order], labs[order]
    n_total = np.bincount(labs, minlength=n_labels + 1)[1:].astype(np.int64)
    return LabelledPixels(index, labs.astype(np.int32, copy=False), n_total, labels.shape)


def zonal_stats(
    bands: Mapping[str, np.ndarray] | np.ndarray,
    labels: np.ndarray,
    n_labels: int,
    *,
    valid: np.ndarray | None = None,
    nodata: Nodata = None,
    pixels: LabelledPixels | None = None,
    chunk_pixels: int = 4_000_000,
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
        chunk_pixels: Process about this many labelled pixels at once (bounds memory).

    Returns:
        The :class:`Stats`.

    Raises:
        InvalidInput: If shapes or dtypes are wrong or labels are out of range.
    """
    named = _named_bands(bands)
    pix = pixels if pixels is not None else labelled_pixels(labels, n_labels)
    _check_inputs(named, labels, n_labels, valid, pix)
    out = np.full((n_labels, len(named), len(STAT_NAMES)), np.nan, dtype=np.float32)
    out[:, :, 0] = 0
    ok_all = None if valid is None else valid.ravel()[pix.index]
    for p0, p1, first, stop in _chunks(pix, chunk_pixels):
        idx = pix.index[p0:p1]
        total = pix.n_total[first - 1 : stop - 1]
        ok_chunk = None if ok_all is None else ok_all[p0:p1]
        layout: RowLayout | None = None
        for j, (name, arr) in enumerate(named.items()):
            vals = arr.ravel()[idx]
            ok = _band_ok(vals, ok_chunk, _nodata_for(nodata, name))
            counts = total if ok is None else _counts(ok, total)
            if layout is None or not np.array_equal(layout.counts, counts):
                layout = row_layout(counts)
            v = vals if ok is None else vals[ok]
            out[first - 1 : stop - 1, j, :] = band_stats(v, layout)
    return Stats(out, pix.n_total.copy(), tuple(named))


def _check_inputs(
    named: Mapping[str, np.ndarray],
    labels: np.ndarray,
    n_labels: int,
    valid: np.ndarray | None,
    pix: LabelledPixels,
) -> None:
    if pix.n_labels != n_labels or pix.shape != labels.shape:
        raise InvalidInput("pixels were computed for another label raster")
    for name, arr in named.items():
        if arr.shape != labels.shape:
            raise InvalidInput(f"band {name} has shape {arr.shape}, labels {labels.shape}")
        if arr.dtype.kind not in "uif":
            raise InvalidInput(f"band {name} has dtype {arr.dtype}; need integers or floats")
    if valid is not None and valid.shape != labels.shape:
        raise InvalidInput(f"valid mask has shape {valid.shape}, labels {labels.shape}")


def _counts(ok: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Valid pixels per label from the validity of label-grouped pixels."""
    counts = np.zeros_like(total)
    has = np.flatnonzero(total)
    if has.size:
        starts = (np.cumsum(total) - total)[has]
        counts[has] = np.add.reduceat(ok, starts, dtype=np.int64)
    return counts


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


def _band_ok(
    vals: np.ndarray, ok: np.ndarray | None, nodata: float | int | None
) -> np.ndarray | None:
    """Validity of gathered values: mask, nodata and NaN; None means all valid."""
    masks = [] if ok is None else [ok]
    if nodata is not None and not (isinstance(nodata, float) and np.isnan(nodata)):
        masks.append(vals != nodata)
    if vals.dtype.kind == "f":
        masks.append(~np.isnan(vals))
    if not masks:
        return None
    return np.logical_and.reduce(masks) if len(masks) > 1 else masks[0]


def _chunks(pix: LabelledPixels, max_pixels: int) -> Iterator[tuple[int, int, int, int]]:
    """Split labels into runs of about ``max_pixels`` pixels (at least one label each).

    Yields ``(p0, p1, first, stop)``: the pixel slice of labels ``first..stop-1``.
    """
    ends = np.cumsum(pix.n_total)
    first, p0 = 1, 0
    while first <= pix.n_labels:
        by_pixels = int(np.searchsorted(ends, p0 + max_pixels, side="right")) + 1
        stop = min(pix.n_labels + 1, max(by_pixels, first + 1))
        p1 = int(ends[stop - 2])
        yield p0, p1, first, stop
        first, p0 = stop, p1


def scl_histogram(
    scl: np.ndarray, labels: np.ndarray, n_labels: int, *, pixels: LabelledPixels | None = None
) -> np.ndarray:
    """Pixels of each S2 SCL class 0..11 per label, ``int32`` ``(n_labels, 12)``.

    Values above 11 are ignored.
    """
    pix = pixels if pixels is not None else labelled_pixels(labels, n_labels)
    cls = scl.ravel()[pix.index].astype(np.int64)
    keep = cls < SCL_CLASSES
    key = (pix.labels[keep].astype(np.int64) - 1) * SCL_CLASSES + cls[keep]
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
    big = np.broadcast_to(m[:, None, :, None], (m.shape[0], factor, m.shape[1], factor))
    return big.reshape(m.shape[0] * factor, m.shape[1] * factor)[:h, :w]
