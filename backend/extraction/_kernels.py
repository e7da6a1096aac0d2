"""numpy kernel of the statistics engine (private: use :func:`engine.zonal_stats`).

The reference implementation, used when numba is not installed and by the tests to check
the compiled kernel of :mod:`backend.extraction._jit` bit for bit.

Input: the valid values of one band grouped by label, and the count per label. The values
of each label are scattered into one row of a padded matrix (rows of width 2**k >= count,
padded with the largest value of the dtype, one matrix per width) and every matrix is
sorted along its rows. numpy sorts short rows with SIMD sorting networks, which is several
times faster than one global ``argsort``, and needs no label in the sort key, so integer and
float data take the same path. Percentiles then index each row at the ranks
``np.percentile`` uses, and interpolate exactly as its ``linear`` method does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PERCENTILES = (0.25, 0.50, 0.75)
_MIN_WIDTH = 16


@dataclass(frozen=True, eq=False)
class RowLayout:
    """Where each value goes in the padded row buffer, for one set of counts.

    Attributes:
        counts: Valid values per label (all labels of the chunk).
        nonempty: Indices of labels with a count > 0.
        dst: Buffer position of each value (values grouped by label).
        rowbase: Buffer position of the first value of each nonempty label.
        blocks: ``(offset, width, rows)`` of each matrix in the buffer.
        size: Buffer length.
    """

    counts: np.ndarray
    nonempty: np.ndarray
    dst: np.ndarray
    rowbase: np.ndarray
    blocks: tuple[tuple[int, int, int], ...]
    size: int


def row_layout(counts: np.ndarray) -> RowLayout:
    """Plan the padded rows for ``counts``; reuse it for bands with the same counts."""
    ne = np.flatnonzero(counts)
    c = counts[ne].astype(np.int64)
    width = np.maximum(_MIN_WIDTH, 1 << np.ceil(np.log2(np.maximum(c, 1))).astype(np.int64))
    order = np.argsort(width, kind="stable")
    rowlen = width[order]
    base_sorted = np.cumsum(rowlen) - rowlen
    rowbase = np.empty_like(base_sorted)
    rowbase[order] = base_sorted
    starts = np.cumsum(c) - c
    dst = np.repeat(rowbase - starts, c)
    dst += np.arange(dst.size, dtype=np.int64)
    widths, first, nrows = np.unique(rowlen, return_index=True, return_counts=True)
    blocks = tuple(
        (int(base_sorted[f]), int(w), int(n)) for f, w, n in zip(first, widths, nrows, strict=True)
    )
    return RowLayout(counts, ne, dst, rowbase, blocks, int(rowlen.sum()))


def band_stats(vals: np.ndarray, layout: RowLayout) -> np.ndarray:
    """``float32 (n, 8)``: count, mean, std, min, max, p25, p50, p75 per label.

    Args:
        vals: Valid values of one band, grouped by label in label order.
        layout: :func:`row_layout` of the per-label counts of ``vals``.
    """
    counts = layout.counts
    out = np.full((counts.size, 8), np.nan, dtype=np.float32)
    out[:, 0] = counts
    if vals.size == 0:
        return out
    c = counts[layout.nonempty].astype(np.int64)
    mean, std = _moments(vals, c)
    buf = _sorted_rows(vals, layout)
    work = vals.dtype if vals.dtype.kind == "f" else np.dtype(np.float64)
    vmin, vmax = buf[layout.rowbase], buf[layout.rowbase + c - 1]
    pct = []
    for q in PERCENTILES:
        lo, hi = percentile_ranks(c, q)
        pct.append(lerp(buf[layout.rowbase + lo], buf[layout.rowbase + hi], c, q, work))
    out[layout.nonempty, 1:] = np.column_stack([mean, std, vmin, vmax, *pct])
    return out


def _moments(vals: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population std, two-pass in float64 (sums, then squared deviations)."""
    starts = np.cumsum(c) - c
    mean = np.add.reduceat(vals, starts, dtype=np.float64) / c
    dev = vals - np.repeat(mean, c)
    dev *= dev
    return mean, np.sqrt(np.add.reduceat(dev, starts) / c)


def _sorted_rows(vals: np.ndarray, layout: RowLayout) -> np.ndarray:
    """The padded buffer with each label's values sorted in its row."""
    pad = np.inf if vals.dtype.kind == "f" else np.iinfo(vals.dtype).max
    buf = np.full(layout.size, pad, dtype=vals.dtype)
    buf[layout.dst] = vals
    for off, width, rows in layout.blocks:
        buf[off : off + width * rows].reshape(rows, width).sort(axis=1)
    return buf


def percentile_ranks(c: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    """The two ranks ``np.percentile`` (linear) interpolates between, for counts ``c``."""
    lo = np.floor((c - 1) * q).astype(np.int64)
    return lo, np.minimum(lo + 1, c - 1)


def lerp(a: np.ndarray, b: np.ndarray, c: np.ndarray, q: float, work: np.dtype) -> np.ndarray:
    """``np.percentile(values, 100 q)`` from its order statistics ``a`` (lower), ``b`` (upper).

    Replicates numpy's linear ``_lerp`` in the dtype ``work`` (the data's float dtype, or
    float64 for integers), so the result is bit-identical.
    """
    virt = (c - 1) * q
    t = (virt - np.floor(virt).astype(np.int64)).astype(work)
    a, b = a.astype(work), b.astype(work)
    diff = b - a
    res = a + diff * t
    np.subtract(b, diff * (1 - t), out=res, where=t >= 0.5)
    return res


def gathered_stats(arr: np.ndarray, index: np.ndarray, offsets: np.ndarray,
                   nodata: float | int | None) -> np.ndarray:
    """``float32 (n, 8)`` stats of ``arr.ravel()[index]`` grouped by ``offsets`` (numpy path)."""
    vals = arr.ravel()[index]
    ok = None
    if nodata is not None and not (isinstance(nodata, float) and np.isnan(nodata)):
        ok = vals != nodata
    if vals.dtype.kind == "f":
        ok = ~np.isnan(vals) if ok is None else ok & ~np.isnan(vals)
    counts = np.diff(offsets)
    if ok is not None:
        counts = _segment_sums(ok, counts)
        vals = vals[ok]
    return band_stats(vals, row_layout(counts))


def _segment_sums(ok: np.ndarray, total: np.ndarray) -> np.ndarray:
    """True values per segment of ``ok`` (segments of lengths ``total``)."""
    counts = np.zeros_like(total)
    has = np.flatnonzero(total)
    if has.size:
        starts = (np.cumsum(total) - total)[has]
        counts[has] = np.add.reduceat(ok, starts, dtype=np.int64)
    return counts


def finish_order_stats(raw: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``float32 (n, 8)`` from the compiled kernel's per-label output.

    ``raw`` is ``float64 (n, 11)``: count, mean, std, min, max and the lower and upper order
    statistic of each percentile (exact: every supported dtype converts to float64 and back
    losslessly). The interpolation is :func:`lerp`, in the same dtype as :func:`band_stats`.
    """
    out = np.full((raw.shape[0], 8), np.nan, dtype=np.float32)
    out[:, 0] = raw[:, 0]
    ne = np.flatnonzero(raw[:, 0])
    if ne.size == 0:
        return out
    r = raw[ne]
    c = r[:, 0].astype(np.int64)
    work = dtype if dtype.kind == "f" else np.dtype(np.float64)
    pct = [lerp(r[:, 5 + 2 * j].astype(dtype), r[:, 6 + 2 * j].astype(dtype), c, q, work)
           for j, q in enumerate(PERCENTILES)]
    out[ne, 1:] = np.column_stack([r[:, 1:5], *pct])
    return out
