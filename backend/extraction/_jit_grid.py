"""Compiled (numba) kernels for the per-grid bookkeeping of the engine (private).

Grouping a label raster's pixels by label, filtering them by a validity mask, counting SCL
classes per label and repeating a 20 m mask onto the 10 m grid: single passes over the
arrays, no sort and no large temporaries (the full-tile label raster has ~10^8 pixels).
"""

from __future__ import annotations

import numba as nb
import numpy as np

_jit = nb.njit(cache=True, nogil=True)


@_jit
def select_valid(index: np.ndarray, offsets: np.ndarray, valid: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Keep the pixels of each segment where ``valid`` (flat) is True.

    Returns:
        The kept indices (same dtype, same grouping) and their segment offsets.
    """
    kept = np.empty_like(index)
    new_off = np.empty_like(offsets)
    new_off[0] = 0
    m = 0
    for i in range(offsets.size - 1):
        for k in range(offsets[i], offsets[i + 1]):
            p = index[k]
            kept[m] = p  # branch-free: clouds make the test unpredictable
            m += int(valid[p])
        new_off[i + 1] = m
    return kept[:m], new_off


@_jit
def class_histogram(classes: np.ndarray, index: np.ndarray, offsets: np.ndarray,
                    n_classes: int) -> np.ndarray:
    """``int32 (n_labels, n_classes)``: pixels of each class < n_classes per segment."""
    n_labels = offsets.size - 1
    hist = np.zeros((n_labels, n_classes), np.int32)
    for i in range(n_labels):
        for k in range(offsets[i], offsets[i + 1]):
            c = classes[index[k]]
            if c < n_classes:
                hist[i, c] += 1
    return hist


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
