"""Compiled (numba) kernels for the per-grid bookkeeping of the engine (private).

The label raster is read in raster order, never gathered through an index grouped by
label: a gather by label jumps between image rows on every pixel run and waits on memory
(several times slower on a full tile), while a raster-order scan streams. Once per grid the
labels become runs of one label along the rows (:func:`label_runs`); each image's selection
walks those runs against its mask and keeps the valid parts as ``(src, dst, length)`` runs
(:func:`select_runs`): ``src`` in the band, ``dst`` the slot in the label-grouped buffer.
Each band is then copied into that buffer run by run (:func:`scatter_runs`): sequential
reads, one write stream per parcel of the current rows.
"""

from __future__ import annotations

import numba as nb
import numpy as np

_jit = nb.njit(cache=True, nogil=True)


@_jit
def count_labels(labels: np.ndarray, n_labels: int) -> tuple[np.ndarray, bool]:
    """``(pixels per label 1..n_labels, ok)``; ``ok`` is False if a label is out of range."""
    counts = np.zeros(n_labels + 1, np.int64)
    flat = labels.ravel()
    p, size = 0, flat.size
    while p < size:  # runs of one label: no store-to-load chain on counts[lab]
        lab = flat[p]
        if lab < 0 or lab > n_labels:
            return counts[1:], False
        q = p + 1
        while q < size and flat[q] == lab:
            q += 1
        counts[lab] += q - p
        p = q
    return counts[1:], True


@_jit
def gather(band: np.ndarray, index: np.ndarray, out: np.ndarray) -> None:
    """``out[:] = band[index]`` (flat band)."""
    for k in range(index.size):
        out[k] = band[index[k]]


@_jit
def class_histogram(classes: np.ndarray, labels: np.ndarray, n_labels: int, n_classes: int
                    ) -> np.ndarray:
    """``int32 (n_labels, n_classes)``: pixels of each class < n_classes per label (same grid)."""
    hist = np.zeros((n_labels + 1, n_classes), np.int32)
    c_flat, l_flat = classes.ravel(), labels.ravel()
    for p in range(l_flat.size):
        c = c_flat[p]
        if c < n_classes:
            hist[l_flat[p], c] += 1
    return hist[1:]


@_jit
def repeat_2d(coarse: np.ndarray, factor: int, h: int, w: int) -> np.ndarray:
    """``coarse`` repeated ``factor`` times along both axes, cropped to ``(h, w)``."""
    out = np.empty((h, w), coarse.dtype)
    for r in range(0, h, factor):
        src = coarse[r // factor]
        row = out[r]
        for c in range(w):
            row[c] = src[c // factor] if factor != 2 else src[c >> 1]
        for k in range(r + 1, min(r + factor, h)):
            out[k] = row
    return out


@_jit
def group_by_label(flat: np.ndarray, n_labels: int, index: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, bool]:
    """Counting sort of the labelled pixels into ``index``, labels in spatial order.

    The numpy kernel's layout (:attr:`pixels.LabelledPixels.index`); the compiled path
    does not need it.

    Args:
        flat: Flat label raster (0 = no label).
        n_labels: Labels are 1..n_labels.
        index: Output, size = number of nonzero labels; receives the flat pixel indices,
            grouped by label (raster order within one), labels ordered by first pixel.

    Returns:
        ``(offsets, order, ok)``: segment ``s`` is ``index[offsets[s]:offsets[s + 1]]`` and
        holds label ``order[s] + 1``; ``ok`` is False if a label is out of range.
    """
    counts = np.zeros(n_labels + 1, np.int64)
    first = np.full(n_labels + 1, flat.size, np.int64)
    for p in range(flat.size):
        lab = flat[p]
        if lab < 0 or lab > n_labels:
            return counts, counts, False
        if lab and counts[lab] == 0:
            first[lab] = p
        counts[lab] += 1
    order = np.argsort(first[1:], kind="mergesort")
    offsets = np.zeros(n_labels + 1, np.int64)
    pos = np.empty(n_labels + 1, np.int64)
    for s in range(n_labels):
        pos[order[s] + 1] = offsets[s]
        offsets[s + 1] = offsets[s] + counts[order[s] + 1]
    for p in range(flat.size):
        lab = flat[p]
        if lab:
            index[pos[lab]] = p
            pos[lab] += 1
    return offsets, order, True


@_jit
def label_runs(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of one label along the rows: ``(flat start, length, label)``, in raster order.

    Computed once per grid: each image then walks the runs (:func:`select_runs`) instead of
    the whole label raster, and copies the band values run by run (:func:`scatter_runs`).
    """
    h, w = labels.shape
    n = 0
    for r in range(h):  # count first: no growing arrays
        row = labels[r]
        for x in range(w):
            if row[x] != 0 and (x == 0 or row[x - 1] != row[x]):
                n += 1
    start, length, lab = np.empty(n, np.int64), np.empty(n, np.int32), np.empty(n, np.int32)
    k = 0
    for r in range(h):
        row = labels[r]
        x = 0
        while x < w:
            v = row[x]
            if v == 0:
                x += 1
                continue
            x0 = x
            while x < w and row[x] == v:
                x += 1
            start[k], length[k], lab[k] = r * w + x0, x - x0, v
            k += 1
    return start, length, lab


@_jit
def select_runs(run_start: np.ndarray, run_len: np.ndarray, run_lab: np.ndarray, w: int,
                mask: np.ndarray, lut: np.ndarray, factor: int, starts: np.ndarray,
                src: np.ndarray, dst: np.ndarray, length: np.ndarray) -> tuple[int, np.ndarray]:
    """The valid parts of the label runs (:func:`label_runs`) as ``(src, dst, length)`` runs.

    Pixel ``(r, c)`` is valid if ``lut[mask[r // factor, c // factor]]`` (the mask may be a
    coarser class raster, e.g. the 20 m SCL under a 10 m label raster). Label ``l`` owns the
    slots ``starts[l - 1]:starts[l]``; its valid pixels fill the first ones in raster order.

    Returns:
        ``(m, ends)``: runs ``0..m-1`` copy ``band[src:src + length]`` to
        ``values[dst:dst + length]``; label ``l``'s values end at ``ends[l - 1]``.
    """
    ends = starts[:-1].copy()
    m = 0
    r, rw = 0, 0  # the current row and its first flat index (runs come in raster order)
    mr = mask[0]
    for k in range(run_start.size):
        p0, n, lab = run_start[k], run_len[k], run_lab[k]
        if p0 >= rw + w:  # a new row: no division per run
            while p0 >= rw + w:
                r += 1
                rw += w
            mr = mask[_cell(r, factor)]
        p1 = p0 + n
        c = _cell(p0 - rw, factor)
        last = _cell(p1 - 1 - rw, factor)
        d = ends[lab - 1]
        bad = 0
        for cc in range(np.uint64(c), np.uint64(last + 1)):  # branch-free count first
            bad += not lut[mr[cc]]
        if bad == 0:  # the common cases: the whole run valid, or all of it masked
            src[m], dst[m], length[m] = p0, d, n
            m += 1
            ends[lab - 1] = d + n
            continue
        if bad == last + 1 - c:
            continue
        stop = rw + (c + 1) * factor  # end of the mask cell holding the run's first pixel
        p, open_run = p0, False  # open_run: run m - 1 ends at (p, d) and may grow
        while p < p1:
            e = min(stop, p1)
            if lut[mr[np.uint64(c)]]:  # unsigned: no negative-index wraparound
                if open_run:
                    length[m - 1] += e - p
                else:
                    src[m], dst[m], length[m] = p, d, e - p
                    m += 1
                    open_run = True
                d += e - p
            else:
                open_run = False
            p = e
            c += 1
            stop += factor
        ends[lab - 1] = d
    return m, ends


@_jit
def _cell(x: int, factor: int) -> int:
    """``x // factor`` for ``x >= 0``: a shift for the common factor 2 (10 m under 20 m)."""
    if factor == 1:
        return x
    if factor == 2:
        return x >> 1
    return x // factor


@_jit
def scatter_runs(band: np.ndarray, src: np.ndarray, dst: np.ndarray, length: np.ndarray,
                 out: np.ndarray) -> None:
    """``out[dst[k]:dst[k] + length[k]] = band[src[k]:...]`` for every run (flat band)."""
    for k in range(src.size):  # unsigned indices: no negative-index wraparound, the copy vectorises
        s, d = np.uint64(src[k]), np.uint64(dst[k])
        for i in range(np.uint64(length[k])):
            out[d + i] = band[s + i]


@_jit
def class_histogram_runs(classes: np.ndarray, run_start: np.ndarray, run_len: np.ndarray,
                         run_lab: np.ndarray, n_labels: int, n_classes: int) -> np.ndarray:
    """:func:`class_histogram` over the label runs (:func:`label_runs`) of the same grid."""
    hist = np.zeros((n_labels, n_classes), np.int32)
    flat = classes.ravel()
    for k in range(run_start.size):
        row = hist[run_lab[k] - 1]
        p = np.uint64(run_start[k])  # unsigned: no negative-index wraparound
        for i in range(np.uint64(run_len[k])):
            c = flat[p + i]
            if c < n_classes:
                row[c] += 1
    return hist
