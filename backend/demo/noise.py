"""Smooth random fields (clouds, haze, soil patterns) with numpy only."""

from __future__ import annotations

import numpy as np


def _interp_matrix(n_out: int, n_in: int) -> np.ndarray:
    """Linear interpolation weights mapping ``n_in`` control points to ``n_out`` samples."""
    pos = (np.arange(n_out) + 0.5) / n_out * (n_in - 1)
    lo = np.clip(np.floor(pos).astype(int), 0, n_in - 2)
    frac = pos - lo
    w = np.zeros((n_out, n_in))
    w[np.arange(n_out), lo] = 1.0 - frac
    w[np.arange(n_out), lo + 1] = frac
    return w


def smooth_noise(
    rng: np.random.Generator,
    shape: tuple[int, int],
    cell_px: float,
    octaves: int = 3,
) -> np.ndarray:
    """Return a zero-mean, unit-std smooth random field (float32).

    Args:
        rng: Random generator.
        shape: (rows, cols) of the output.
        cell_px: Feature size of the coarsest octave in pixels.
        octaves: Number of octaves, each half the size and half the weight.
    """
    rows, cols = shape
    out = np.zeros(shape)
    for k in range(octaves):
        size = max(cell_px / 2**k, 2.0)
        ny, nx = int(np.ceil(rows / size)) + 2, int(np.ceil(cols / size)) + 2
        coarse = rng.standard_normal((ny, nx))
        out += 0.5**k * (_interp_matrix(rows, ny) @ coarse @ _interp_matrix(cols, nx).T)
    out -= out.mean()
    std = out.std()
    return (out / (std if std > 0 else 1.0)).astype(np.float32)


def shift(a: np.ndarray, dy: int, dx: int, fill: float = 0.0) -> np.ndarray:
    """Shift an array by (dy, dx) pixels without wrapping around."""
    out = np.full_like(a, fill)
    rows, cols = a.shape
    if abs(dy) >= rows or abs(dx) >= cols:
        return out
    src = a[max(0, -dy) : rows - max(0, dy), max(0, -dx) : cols - max(0, dx)]
    out[max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
    return out


def block_mean(a: np.ndarray, k: int = 2) -> np.ndarray:
    """Average ``k`` x ``k`` blocks (for 10 m -> 20 m)."""
    rows, cols = a.shape[-2] // k, a.shape[-1] // k
    a = a[..., : rows * k, : cols * k]
    return a.reshape(*a.shape[:-2], rows, k, cols, k).mean(axis=(-3, -1))
