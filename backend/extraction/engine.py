"""Zonal statistics per parcel: a pure function ``(band arrays, label raster) -> Stats``.

No Python loop over parcels. A label raster is checked and counted once per grid
(:func:`~backend.extraction.pixels.labelled_pixels`, cached by the caller); each image selects
its valid labelled pixels once per grid (:mod:`backend.extraction.pixels`) in raster order;
each band is then scattered into a buffer grouped by label and gets, per label, count,
mean, std (population), min, max and the 25th, 50th and 75th percentiles, the latter
exactly as ``np.percentile(values, q)`` (linear) does (:func:`band_stats`, one band at a
time so that a caller can read the next band meanwhile).
The compiled kernels are in :mod:`backend.extraction._jit` and ``_jit_grid`` (numba);
without numba, the numpy kernel of :mod:`backend.extraction._kernels` gives the same bits,
slower.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from backend.errors import InvalidInput
from backend.extraction import _kernels
from backend.extraction.pixels import (
    Kernel,
    LabelledPixels,
    Selection,
    _use_jit,
    labelled_pixels,
    mask_to_finer,
    select_by_classes,
    select_pixels,
)

try:
    from backend.extraction import _jit, _jit_grid
except ImportError:  # pragma: no cover - numba is a dependency; the numpy kernel is the fallback
    _jit = _jit_grid = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

STAT_NAMES: tuple[str, ...] = ("count", "mean", "std", "min", "max", "p25", "p50", "p75")
"""Order of the last axis of :attr:`Stats.values`."""

SCL_CLASSES = 12
Nodata = float | int | Mapping[str, float | int | None] | None


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
    if pixels.lengths is not None:
        assert pixels.dest is not None
        _jit_grid.scatter_runs(flat, pixels.index, pixels.dest, pixels.lengths, grouped)
    elif pixels.dest is None:
        _jit_grid.gather(flat, pixels.index, grouped)
    else:  # per-pixel destinations (a selection made by hand): one-pixel runs
        lengths = np.ones(pixels.index.size, np.int32)
        _jit_grid.scatter_runs(flat, pixels.index, pixels.dest, lengths, grouped)
    key = _nodata_key(band.dtype, nodata)
    raw = _jit.band_segments(grouped, pixels.offsets, pixels.segment_ends,
                             0.0 if key is None else key, key is not None, band.dtype.kind != "f")
    if band.dtype.kind in "iu" and band.dtype.itemsize <= 4:  # float64 holds them exactly
        return pixels.by_label(_jit.finish_integers(raw))
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
    scl_histogram(np.ones(labels.shape, np.uint8), labels, 2)
    mask_to_finer(labels > 0, (2, 8), 2)


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
        if pix is pixels:  # the caller's (cached) runs: only the labelled pixels are visited
            return _jit_grid.class_histogram_runs(np.ascontiguousarray(scl), *pix.runs, n_labels,
                                                  SCL_CLASSES)
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


