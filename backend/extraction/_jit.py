"""Compiled (numba) kernels of the statistics engine (private: use :mod:`engine`).

A band arrives grouped by label (scattered there in raster order, :mod:`._jit_grid`). Each
label segment gets, with the same floating-point operations as the numpy kernel in
:mod:`backend.extraction._kernels` (so the results are bit-identical):

- one branch-free (vectorised) scan: NaN/nodata count, min, max and, for integers, the
  exact sum; a segment with NaN or nodata is first compacted into a scratch buffer;
- the mean as ``x[0] + pairwise_sum(x[1:])`` divided by the count (for integers the exact
  sum gives the same bits), and the population std from the squared deviations summed the
  same way: numpy's ``add.reduceat`` order;
- the order statistics that ``np.percentile`` (linear) interpolates between: a counting
  pass when integer values span a narrow range, otherwise (floats) bucketing by value and an
  O(n) selection inside the 3-6 buckets that hold the wanted ranks. The interpolation itself
  is done by the caller in numpy, in the same dtype as before.

Compiled on first use and cached on disk (``cache=True``); :func:`engine.warm_up` compiles
for the common dtypes ahead of the first image. The kernels release the GIL, so a reader
thread can decode the next band meanwhile; they are single-threaded (one core computes, one
decodes).
"""

from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np

PERCENTILES = (0.25, 0.50, 0.75)
N_OUT = 11  # count, mean, std, min, max, (lo, hi) x 3 order statistics
_PW_BLOCK = 128
_jit = nb.njit(cache=True, nogil=True)
# numba cannot load type-inferred recursive functions from its cache (they crash): the two
# recursive sums get explicit signatures, one per band dtype, compiled (or loaded) at import.
_DTYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32", "uint64", "int64", "float32",
           "float64")


def _typed(*args: str) -> Any:
    """``njit`` with one explicit signature ``float64(T[::1], *args)`` per band dtype ``T``."""
    return nb.njit([f"float64({t}[::1], {', '.join(args)})" for t in _DTYPES], cache=True,
                   nogil=True)


@_typed("int64", "int64")
def _pairwise(a: np.ndarray, lo: int, n: int) -> float:
    """The ``pairwise_sum`` of numpy on ``a[lo:lo + n]`` converted to float64."""
    if n < 8:
        res = -0.0
        for i in range(lo, lo + n):
            res += np.float64(a[i])
        return res
    if n <= _PW_BLOCK:
        f = np.float64
        r0, r1, r2, r3 = f(a[lo]), f(a[lo + 1]), f(a[lo + 2]), f(a[lo + 3])
        r4, r5, r6, r7 = f(a[lo + 4]), f(a[lo + 5]), f(a[lo + 6]), f(a[lo + 7])
        i = 8
        while i < n - n % 8:
            j = lo + i
            r0 += f(a[j])
            r1 += f(a[j + 1])
            r2 += f(a[j + 2])
            r3 += f(a[j + 3])
            r4 += f(a[j + 4])
            r5 += f(a[j + 5])
            r6 += f(a[j + 6])
            r7 += f(a[j + 7])
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        for k in range(lo + i, lo + n):
            res += f(a[k])
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise(a, lo, n2) + _pairwise(a, lo + n2, n - n2)


@_jit
def _sq(a: np.ndarray, i: int, mean: float) -> float:
    d = a[i] - mean
    return d * d


@_typed("int64", "int64", "float64")
def _pairwise_sq(a: np.ndarray, lo: int, n: int, mean: float) -> float:
    """:func:`_pairwise` of ``(a - mean) ** 2`` without storing the deviations."""
    if n < 8:
        res = -0.0
        for i in range(lo, lo + n):
            res += _sq(a, i, mean)
        return res
    if n <= _PW_BLOCK:
        r0, r1, r2, r3 = (_sq(a, lo, mean), _sq(a, lo + 1, mean), _sq(a, lo + 2, mean),
                          _sq(a, lo + 3, mean))
        r4, r5, r6, r7 = (_sq(a, lo + 4, mean), _sq(a, lo + 5, mean), _sq(a, lo + 6, mean),
                          _sq(a, lo + 7, mean))
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
            res += _sq(a, k, mean)
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
def _order_stats_select(a: np.ndarray, n: int, out: np.ndarray) -> None:
    """Order statistics of ``a[:n]`` at :func:`_ranks` by successive selections (in place)."""
    ranks = _ranks(n)
    start = 0
    for j in range(6):
        k = ranks[j]
        if k >= start:  # else a[k] was placed by an earlier selection (n < 5)
            if k == start:
                _min_to_front(a, start, n)
            else:
                _select(a, start, n, k)
            start = k + 1
        out[5 + j] = a[k]


@_jit
def _order_stats_count(a: np.ndarray, n: int, vmin: float, span: int, out: np.ndarray,
                       hist: np.ndarray) -> None:
    """Order statistics of ``n >= 5`` integer values in ``vmin..vmin+span``: one counting pass.

    ``hist`` must be zero on entry; it is zero again on exit.
    """
    lo = np.int64(vmin)
    for i in range(n):
        hist[np.int64(a[i]) - lo] += 1
    ranks = _ranks(n)  # ascending for n >= 5
    j, seen = 0, 0
    for v in range(span + 1):
        seen += hist[v]
        hist[v] = 0
        while ranks[j] < seen:
            out[5 + j] = vmin + v
            j += 1
            if j == 6:
                hist[v + 1 : span + 1] = 0
                return


@_jit
def _bucket(x: float, vmin: float, scale: float, last: int) -> int:
    """Bucket of ``x``: non-decreasing in ``x`` (IEEE subtraction and product are monotone)."""
    return min(int((x - vmin) * scale), last)


@_jit
def _order_stats_bucket(a: np.ndarray, n: int, vmin: float, vmax: float, out: np.ndarray,
                        scratch: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> None:
    """Order statistics by bucketing ``a[:n]`` on value, then selecting inside 3-6 buckets.

    Needs ``vmin < vmax``. Two passes over the values (count per bucket, then copy out the
    buckets that hold the wanted ranks) instead of the successive selections of
    :func:`_order_stats_select`, which are several times slower on floats. Exact: the
    buckets are ordered by value and the selection inside a bucket is exact.
    """
    _, cnt, mark, tmp = scratch
    if n < 64 or not vmax - vmin < np.inf:
        _order_stats_select(a, n, out)
        return
    ranks = _ranks(n)  # ascending for n >= 5
    nbk = n >> 1
    scale = nbk / (vmax - vmin)
    last = nbk - 1
    cnt[: nbk + 1] = 0
    for i in range(n):
        cnt[_bucket(np.float64(a[i]), vmin, scale, last) + 1] += 1
    for b in range(nbk):
        cnt[b + 1] += cnt[b]  # cnt[b]: first rank in bucket b
    bk = np.empty(6, np.int64)
    for j in range(6):
        bk[j] = np.searchsorted(cnt[: nbk + 1], ranks[j], side="right") - 1
        mark[bk[j]] = cnt[bk[j]] + 1  # write cursor + 1 in tmp
    for i in range(n):
        x = a[i]
        b = _bucket(np.float64(x), vmin, scale, last)
        c = mark[b]
        if c:
            tmp[c - 1] = x
            mark[b] = c + 1
    start = 0
    for j in range(6):
        k = ranks[j]
        start = max(start, cnt[bk[j]])
        if k == start:
            _min_to_front(tmp, start, cnt[bk[j] + 1])
        elif k > start:
            _select(tmp, start, cnt[bk[j] + 1], k)
        start = max(start, k + 1)
        out[5 + j] = tmp[k]
        mark[bk[j]] = 0


@_jit
def _scan(a: np.ndarray, s: int, e: int, nodata: float, use_nodata: bool
          ) -> tuple[int, float, float, float]:
    """(values to drop (NaN or nodata), min, max, sum) of ``a[s:e]``; branch-free: vectorises.

    min, max and the sum are meaningful only when nothing is dropped; the sum (in float64,
    in order) is exact for integer values while it stays below 2**53.
    """
    bad = 0
    vmin, vmax = a[s], a[s]
    total = 0.0
    for k in range(s, e):
        v = a[k]
        bad += (v != v) | (use_nodata & (v == nodata))
        vmin = min(vmin, v)
        vmax = max(vmax, v)
        total += np.float64(v)
    return bad, np.float64(vmin), np.float64(vmax), total


@_jit
def _compact(a: np.ndarray, s: int, e: int, nodata: float, use_nodata: bool, buf: np.ndarray
             ) -> tuple[int, float, float]:
    """Copy the valid values of ``a[s:e]`` to ``buf``; return (count, min, max)."""
    m = 0
    vmin, vmax = np.inf, -np.inf
    for k in range(s, e):
        v = a[k]
        x = np.float64(v)
        if x != x or (use_nodata and v == nodata):
            continue
        buf[m] = x
        m += 1
        vmin = min(vmin, x)
        vmax = max(vmax, x)
    return m, vmin, vmax


@_jit
def _values_stats(a: np.ndarray, n: int, vmin: float, vmax: float, total: float, is_int: bool,
                  out: np.ndarray, scratch: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
                  ) -> None:
    """All statistics of the valid values ``a[:n]`` (n > 0) into ``out``; may reorder ``a``.

    ``total``: their sum if known exactly (integers), else NaN.
    """
    if is_int and total == total and n * max(abs(vmin), abs(vmax)) < 2.0**53:
        mean = total / n  # every partial sum is exact: the pairwise sum gives the same bits
    else:
        mean = (np.float64(a[0]) + _pairwise(a, 1, n - 1)) / n  # numpy's add.reduceat order
    d = a[0] - mean
    out[0] = n
    out[1] = mean
    out[2] = np.sqrt((d * d + _pairwise_sq(a, 1, n - 1, mean)) / n)
    out[3] = vmin
    out[4] = vmax
    span = vmax - vmin
    hist = scratch[0]
    if is_int and n >= 5 and span < hist.size and span <= 4 * n + 64:
        _order_stats_count(a, n, vmin, int(span), out, hist)
    elif span == 0:
        out[5:11] = vmin
    else:
        _order_stats_bucket(a, n, vmin, vmax, out, scratch)


@_jit
def _scan_small(a: np.ndarray, s: int, e: int, nodata: float, use_nodata: bool
                ) -> tuple[int, int, int]:
    """(nodata values, min, max) of ``a[s:e]``; unsigned indices: the loop vectorises."""
    bad = 0
    vmin, vmax = a[s], a[s]
    if use_nodata:
        for k in range(np.uint64(s), np.uint64(e)):
            v = a[k]
            bad += v == nodata
            vmin = min(vmin, v)
            vmax = max(vmax, v)
    else:
        for k in range(np.uint64(s), np.uint64(e)):
            v = a[k]
            vmin = min(vmin, v)
            vmax = max(vmax, v)
    return bad, int(vmin), int(vmax)


@_jit
def _count_values(a: np.ndarray, s: int, e: int, hist: np.ndarray, shift: int) -> np.int64:
    """Count every value ``v`` of ``a[s:e]`` at ``hist[v + shift]``; return their exact sum."""
    total = np.int64(0)
    for k in range(np.uint64(s), np.uint64(e)):
        v = np.int64(a[k])
        total += v
        hist[np.uint64(v + shift)] += 1  # unsigned: no negative-index wraparound
    return total


@_jit
def _order_stats_counted(hist: np.ndarray, lo: int, span: int, n: int, vmin: float,
                         out: np.ndarray) -> None:
    """:func:`_order_stats_count` from the counts :func:`_count_values` left in ``hist[lo:]``.

    Walks the counts 16 bins at a time (a vectorised sum) and bin by bin only inside the
    chunks that hold a wanted rank. Needs ``n >= 5``; zeroes ``hist[lo:lo + span + 1]``.
    """
    ranks = _ranks(n)  # ascending for n >= 5
    h = hist[lo : lo + span + 1]
    size = np.uint64(span + 1)
    j, seen = 0, 0
    v = np.uint64(0)
    while v < size and j < 6:
        stop = min(v + np.uint64(16), size)
        c = 0
        for u in range(v, stop):  # unsigned: no negative-index wraparound, vectorises
            c += h[u]
        if seen + c > ranks[j]:
            for u in range(v, stop):
                seen += h[u]
                while j < 6 and ranks[j] < seen:
                    out[5 + j] = vmin + np.float64(u)
                    j += 1
        else:
            seen += c
        v = stop
    h[:] = 0


@_jit
def _counted_stats(a: np.ndarray, s: int, e: int, nodata: float, use_nodata: bool,
                   hist: np.ndarray, shift: int, out: np.ndarray) -> bool:
    """All statistics of a segment of 8- or 16-bit integers by counting, if it can.

    A vectorised min/max pass, then one counting pass that also sums (exactly), then a walk
    over the counts for the order statistics: the values of :func:`_values_stats`'
    counting path, bit for bit. ``hist`` (2**17 bins, value ``v`` at ``v + shift`` with
    ``shift`` 2**15) is zero on entry and on exit. Returns False, having changed nothing,
    for a segment with nodata, with fewer than 5 values or with a value range too wide to
    walk: the caller then takes the general path.
    """
    bad, lo, hi = _scan_small(a, s, e, nodata, use_nodata)
    n = e - s
    span = hi - lo
    if bad or n < 5 or span > 4 * n + 64:
        return False
    mean = np.float64(_count_values(a, s, e, hist, shift)) / n  # exact sum: see _values_stats
    d = a[s] - mean
    out[0] = n
    out[1] = mean
    out[2] = np.sqrt((d * d + _pairwise_sq(a, s + 1, n - 1, mean)) / n)
    out[3] = lo
    out[4] = hi
    _order_stats_counted(hist, lo + shift, span, n, np.float64(lo), out)
    return True


@_jit
def band_segments(grouped: np.ndarray, starts: np.ndarray, ends: np.ndarray, nodata: float,
                  use_nodata: bool, is_int: bool) -> np.ndarray:
    """Statistics of one band per segment ``grouped[starts[s]:ends[s]]``.

    ``grouped`` holds the band's values grouped by label (:func:`._jit_grid.scatter_runs`); it is
    a scratch buffer, reordered in place. A segment without NaN or nodata is used where it
    lies (the common case); otherwise its valid values are first copied out.

    Single-threaded on purpose: the caller's reader thread decodes the next band on the
    other core meanwhile, and worker processes may share the machine.

    Returns:
        ``float64 (n_segments, N_OUT)``; segments without valid values hold count 0 and NaN
        elsewhere.
    """
    n_seg = ends.size
    out = np.full((n_seg, N_OUT), np.nan)
    longest = 1
    for i in range(n_seg):
        longest = max(longest, ends[i] - starts[i])
    hist = np.zeros(1 << 14, np.int32)
    cnt, mark = np.empty(longest // 2 + 2, np.int64), np.zeros(longest // 2 + 2, np.int64)
    scratch = (hist, cnt, mark, np.empty(longest, grouped.dtype))
    buf = np.empty(longest)
    fscratch = (hist, cnt, mark, np.empty(longest))
    small = is_int and grouped.itemsize <= 2  # 8-/16-bit integers: one counting pass
    counts = np.zeros(1 << 17 if small else 1, np.int32)  # value v counted at v + 2**15
    for i in range(n_seg):
        row = out[i]
        s, e = starts[i], ends[i]
        row[0] = 0
        if e == s:
            continue
        if small and _counted_stats(grouped, s, e, nodata, use_nodata, counts, 1 << 15, row):
            continue
        bad, vmin, vmax, total = _scan(grouped, s, e, nodata, use_nodata)
        if bad == 0:
            _values_stats(grouped[s:e], e - s, vmin, vmax, total, is_int, row, scratch)
            continue
        m, vmin, vmax = _compact(grouped, s, e, nodata, use_nodata, buf)
        if m:
            _values_stats(buf[:m], m, vmin, vmax, np.nan, is_int, row, fscratch)
    return out


@_jit
def finish_integers(raw: np.ndarray) -> np.ndarray:
    """:func:`backend.extraction._kernels.finish_order_stats` for integer bands up to 32 bits.

    The same float64 operations as its numpy ``lerp`` (no fused multiply-add: numba keeps
    IEEE semantics), one pass instead of some thirty array operations per band.
    """
    n = raw.shape[0]
    out = np.full((n, 8), np.nan, np.float32)
    for i in range(n):
        c = raw[i, 0]
        out[i, 0] = c
        if c == 0:
            continue
        for k in range(1, 5):
            out[i, k] = raw[i, k]
        cm1 = np.int64(c) - 1
        for j in range(3):
            virt = cm1 * PERCENTILES[j]
            t = virt - np.float64(np.int64(np.floor(virt)))
            a, b = raw[i, 5 + 2 * j], raw[i, 6 + 2 * j]
            diff = b - a
            out[i, 5 + j] = b - diff * (1 - t) if t >= 0.5 else a + diff * t
    return out
