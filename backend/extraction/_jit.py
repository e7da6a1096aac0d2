"""Compiled (numba) kernels of the statistics engine (private: use :mod:`engine`).

One pass per label segment gathers the valid values of a band into a small scratch buffer,
then computes, with the same floating-point operations as the numpy kernel in
:mod:`backend.extraction._kernels` (so the results are bit-identical):

- the mean as ``x[0] + pairwise_sum(x[1:])`` divided by the count, and the population std
  from the squared deviations summed the same way: numpy's ``add.reduceat`` order;
- min, max and the order statistics that ``np.percentile`` (linear) interpolates between,
  found with an O(n) selection (Hoare's ``FIND``) instead of a sort, or with a counting pass
  when an integer band's values span a narrow range. The interpolation itself is done by the
  caller in numpy, in the same dtype as before.

Compiled on first use and cached on disk (``cache=True``); :func:`warm_up` compiles for the
common dtypes ahead of the first image. The kernels release the GIL, so a reader thread can
decode the next band meanwhile; they are single-threaded (one core computes, one decodes).
"""

from __future__ import annotations

import numba as nb
import numpy as np

PERCENTILES = (0.25, 0.50, 0.75)
N_OUT = 11  # count, mean, std, min, max, (lo, hi) x 3 order statistics
_PW_BLOCK = 128
_jit = nb.njit(cache=True, nogil=True)


@nb.njit("float64(float64[::1], int64, int64)", cache=True, nogil=True)  # typed: recursive
def _pairwise(a: np.ndarray, lo: int, n: int) -> float:
    """The ``pairwise_sum`` of numpy, on ``a[lo:lo + n]`` (float64)."""
    if n < 8:
        res = -0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    if n <= _PW_BLOCK:
        r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
        r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
        i = 8
        while i < n - n % 8:
            j = lo + i
            r0 += a[j]
            r1 += a[j + 1]
            r2 += a[j + 2]
            r3 += a[j + 3]
            r4 += a[j + 4]
            r5 += a[j + 5]
            r6 += a[j + 6]
            r7 += a[j + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        for k in range(lo + i, lo + n):
            res += a[k]
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise(a, lo, n2) + _pairwise(a, lo + n2, n - n2)


@_jit
def _sq(a: np.ndarray, i: int, mean: float) -> float:
    d = a[i] - mean
    return d * d


@nb.njit("float64(float64[::1], int64, int64, float64)", cache=True, nogil=True)
def _pairwise_sq(a: np.ndarray, lo: int, n: int, mean: float) -> float:
    """:func:`_pairwise` of ``(a - mean) ** 2`` without storing the deviations."""
    if n < 8:
        res = -0.0
        for i in range(lo, lo + n):
            d = a[i] - mean
            res += d * d
        return res
    if n <= _PW_BLOCK:
        r0, r1, r2, r3 = _sq(a, lo, mean), _sq(a, lo + 1, mean), _sq(a, lo + 2, mean), 0.0
        r3 = _sq(a, lo + 3, mean)
        r4, r5, r6, r7 = _sq(a, lo + 4, mean), _sq(a, lo + 5, mean), _sq(a, lo + 6, mean), 0.0
        r7 = _sq(a, lo + 7, mean)
        i = 8
        while i < n - n % 8:
            j = lo + i
            r0 += _sq(a, j, mean)
            r1 += _sq(a, j + 1, mean)
            r2 += _sq(a, j + 2, mean)
            r3 += _sq(a, j + 3, mean)
            r4 += _sq(a, j + 4, mean)
            r5 += _sq(a, j + 5, mean)
            r6 += _sq(a, j + 6, mean)
            r7 += _sq(a, j + 7, mean)
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        for k in range(lo + i, lo + n):
            d = a[k] - mean
            res += d * d
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise_sq(a, lo, n2, mean) + _pairwise_sq(a, lo + n2, n - n2, mean)


@_jit
def _median_of_3(a: np.ndarray, lo: int, hi: int) -> float:
    """Order ``a[lo], a[mid], a[hi]`` and return the middle one (the pivot, at ``mid``)."""
    mid = (lo + hi) >> 1
    if a[mid] < a[lo]:
        a[mid], a[lo] = a[lo], a[mid]
    if a[hi] < a[lo]:
        a[hi], a[lo] = a[lo], a[hi]
    if a[hi] < a[mid]:
        a[hi], a[mid] = a[mid], a[hi]
    return a[mid]


@_jit
def _select(a: np.ndarray, left: int, right: int, k: int) -> None:
    """Put the k-th smallest of ``a[left:right]`` at ``a[k]`` (smaller left, larger right)."""
    lo, hi = left, right - 1
    while lo < hi:
        pivot = _median_of_3(a, lo, hi)
        i, j = lo, hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while pivot < a[j]:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return


@_jit
def _min_to_front(a: np.ndarray, left: int, right: int) -> None:
    """Move the smallest of ``a[left:right]`` to ``a[left]``."""
    best = left
    for i in range(left + 1, right):
        if a[i] < a[best]:
            best = i
    a[left], a[best] = a[best], a[left]


@_jit
def _ranks(n: int) -> np.ndarray:
    """The six ranks ``np.percentile`` (linear) reads for q = 25, 50, 75 %."""
    r = np.empty(6, np.int64)
    for j in range(3):
        lo = int(np.floor((n - 1) * PERCENTILES[j]))
        r[2 * j] = lo
        r[2 * j + 1] = min(lo + 1, n - 1)
    return r


@_jit
def _order_stats_select(buf: np.ndarray, n: int, out: np.ndarray) -> None:
    """Order statistics at :func:`_ranks` by successive selections on the right part."""
    ranks = _ranks(n)
    start = 0
    for j in range(6):
        k = ranks[j]
        if k >= start:
            if k == start:
                _min_to_front(buf, start, n)
            else:
                _select(buf, start, n, k)
            start = k + 1
        out[5 + j] = buf[k]


@_jit
def _order_stats_count(buf: np.ndarray, n: int, vmin: float, span: int, out: np.ndarray,
                       hist: np.ndarray) -> None:
    """Order statistics of integer values in ``vmin..vmin+span`` with one counting pass."""
    hist[: span + 1] = 0
    for i in range(n):
        hist[int(buf[i] - vmin)] += 1
    ranks = _ranks(n)
    order = np.argsort(ranks)
    j, seen = 0, 0
    for v in range(span + 1):
        seen += hist[v]
        while j < 6 and ranks[order[j]] < seen:
            out[5 + order[j]] = vmin + v
            j += 1
        if j == 6:
            return


@_jit
def _gather(band: np.ndarray, index: np.ndarray, s: int, e: int, nodata: float,
            use_nodata: bool, buf: np.ndarray, out: np.ndarray) -> int:
    """Copy the valid values of ``band[index[s:e]]`` to ``buf`` as float64; return the count.

    Also stores their min and max in ``out[3]`` and ``out[4]``.
    """
    m = 0
    vmin, vmax = np.inf, -np.inf
    for k in range(s, e):
        v = band[index[k]]
        x = np.float64(v)
        if x != x or (use_nodata and v == nodata):
            continue
        buf[m] = x
        m += 1
        vmin = min(vmin, x)
        vmax = max(vmax, x)
    out[3] = vmin
    out[4] = vmax
    return m


@_jit
def _segment_stats(buf: np.ndarray, n: int, is_int: bool, out: np.ndarray, hist: np.ndarray) -> None:
    """All statistics of ``buf[:n]`` (n > 0; min and max already in ``out``) into ``out``."""
    mean = (buf[0] + _pairwise(buf, 1, n - 1)) / n  # numpy's add.reduceat order
    d = buf[0] - mean
    out[0] = n
    out[1] = mean
    out[2] = np.sqrt((d * d + _pairwise_sq(buf, 1, n - 1, mean)) / n)
    span = out[4] - out[3]
    if is_int and span < hist.size and span <= 4 * n + 64:
        _order_stats_count(buf, n, out[3], int(span), out, hist)
    else:
        _order_stats_select(buf, n, out)


@_jit
def band_segments(band: np.ndarray, index: np.ndarray, offsets: np.ndarray, nodata: float,
                  use_nodata: bool, is_int: bool) -> np.ndarray:
    """Statistics of one band per segment ``index[offsets[s]:offsets[s + 1]]``.

    Single-threaded on purpose: the caller's reader thread decodes the next band on the
    other core meanwhile, and worker processes may share the machine.

    Returns:
        ``float64 (n_segments, N_OUT)``; segments without valid values hold count 0 and NaN
        elsewhere.
    """
    n_seg = offsets.size - 1
    out = np.full((n_seg, N_OUT), np.nan)
    longest = 1
    for i in range(n_seg):
        longest = max(longest, offsets[i + 1] - offsets[i])
    buf = np.empty(longest)
    hist = np.empty(1 << 14, np.int32)
    for i in range(n_seg):
        row = out[i]
        n = _gather(band, index, offsets[i], offsets[i + 1], nodata, use_nodata, buf, row)
        row[0] = n
        if n:
            _segment_stats(buf, n, is_int, row, hist)
        else:
            row[3:5] = np.nan
    return out
