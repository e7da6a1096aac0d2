"""Per-band kernel of the statistics engine (private: use :func:`engine.zonal_stats`).

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
    pct = [_percentile(buf, layout.rowbase, c, q, work) for q in PERCENTILES]
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


def _percentile(
    buf: np.ndarray, rowbase: np.ndarray, c: np.ndarray, q: float, work: np.dtype
) -> np.ndarray:
    """``np.percentile(values, 100 q)`` per row, replicating numpy's linear ``_lerp``."""
    virt = (c - 1) * q
    lo = np.floor(virt).astype(np.int64)
    hi = np.minimum(lo + 1, c - 1)
    t = (virt - lo).astype(work)
    a = buf[rowbase + lo].astype(work)
    b = buf[rowbase + hi].astype(work)
    diff = b - a
    res = a + diff * t
    np.subtract(b, diff * (1 - t), out=res, where=t >= 0.5)
    return res
