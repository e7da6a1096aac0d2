"""The signatures row layout: binary ``COPY`` buffers built with numpy, and the decoders.

A signature row is one parcel × image (migration 0006): ``stats`` holds the float32 values of
``stats[band][8]`` (count, mean, std, min, max, p25, p50, p75; bands in ``images.bands``
order) packed big-endian in a bytea, ``hist`` the 12 SCL class counts as big-endian int16
(NULL for S1). Every row of one image has the same size, so a whole COPY buffer is one numpy
structured array in network byte order; decoding is one ``np.frombuffer``. In SQL use
``cbm_stat(stats, band, stat)``, ``cbm_stats(stats)`` and ``cbm_hist(hist)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

HEADER = b"PGCOPY\n\xff\r\n\x00" + np.array([0, 0], ">i4").tobytes()
TRAILER = np.array([-1], ">i2").tobytes()
N_SCL_CLASSES = 12
N_STATS = 8
STATS_DTYPE = np.dtype(">f4")
HIST_DTYPE = np.dtype(">i2")
COLUMNS = ("set_id", "parcel_id", "image_id", "n_total", "valid_frac", "hist", "stats")


def _row_dtype(nbands: int, with_hist: bool) -> np.dtype:
    fields: list[Any] = [("nfields", ">i2")]
    for name in ("set_id", "parcel_id", "image_id", "n_total"):
        fields += [(f"{name}_len", ">i4"), (name, ">i4")]
    fields += [("valid_frac_len", ">i4"), ("valid_frac", ">f4"), ("hist_len", ">i4")]
    if with_hist:
        fields += [("hist", HIST_DTYPE, (N_SCL_CLASSES,))]
    fields += [("stats_len", ">i4"), ("stats", STATS_DTYPE, (nbands * N_STATS,))]
    return np.dtype(fields)


def encode_signatures(
    set_id: int,
    image_id: int,
    parcel_ids: np.ndarray,
    n_total: np.ndarray,
    valid_frac: np.ndarray,
    stats: np.ndarray,
    hist: np.ndarray | None = None,
) -> bytes:
    """Encode signature rows as one binary COPY payload (header, rows, trailer).

    Args:
        set_id: parcel set id.
        image_id: image id.
        parcel_ids: (n,) parcel ids (``parcels.id``).
        n_total: (n,) parcel pixels on the image grid.
        valid_frac: (n,) fraction of valid pixels, 0..1.
        stats: (n, nbands, 8) float32: count, mean, std, min, max, p25, p50, p75.
        hist: (n, 12) SCL class histogram (saturates at 32767 per class), or None (S1).

    Returns:
        Bytes to write with ``cursor.copy("COPY signatures (...) FROM STDIN (FORMAT BINARY)")``.
    """
    n, nbands = stats.shape[0], stats.shape[1]
    rows = np.zeros(n, _row_dtype(nbands, hist is not None))
    rows["nfields"] = len(COLUMNS)
    for name, values in (("set_id", set_id), ("parcel_id", parcel_ids), ("image_id", image_id),
                         ("n_total", n_total)):
        rows[f"{name}_len"], rows[name] = 4, values
    rows["valid_frac_len"], rows["valid_frac"] = 4, valid_frac
    if hist is not None:
        rows["hist_len"] = N_SCL_CLASSES * HIST_DTYPE.itemsize
        rows["hist"] = np.minimum(hist, np.iinfo(np.int16).max)
    else:
        rows["hist_len"] = -1
    rows["stats_len"] = nbands * N_STATS * STATS_DTYPE.itemsize
    rows["stats"] = stats.reshape(n, nbands * N_STATS)
    return HEADER + rows.tobytes() + TRAILER


def unpack_stats(packed: bytes | Sequence[bytes]) -> np.ndarray:
    """Decode ``signatures.stats``: one value -> float32 (nbands, 8); a sequence -> (n, nbands, 8).

    Every value of a sequence must have the same band count (rows of one image kind).
    """
    if isinstance(packed, bytes | bytearray | memoryview):
        return np.frombuffer(packed, STATS_DTYPE).astype(np.float32).reshape(-1, N_STATS)
    if not packed:
        return np.empty((0, 0, N_STATS), np.float32)
    flat = np.frombuffer(b"".join(packed), STATS_DTYPE).astype(np.float32)
    return flat.reshape(len(packed), -1, N_STATS)


def unpack_hist(packed: bytes | None) -> list[int] | None:
    """Decode ``signatures.hist`` into 12 counts (SCL class 0..11), or None (S1 rows)."""
    return None if packed is None else np.frombuffer(packed, HIST_DTYPE).tolist()
