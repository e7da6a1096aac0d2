"""Build PostgreSQL binary ``COPY`` buffers for signature rows with numpy (no per-row Python).

Every signature row of one image has the same size (the image's band count is fixed), so the
whole buffer is one numpy structured array in network byte order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

HEADER = b"PGCOPY\n\xff\r\n\x00" + np.array([0, 0], ">i4").tobytes()
TRAILER = np.array([-1], ">i2").tobytes()
INT2_OID = 21
FLOAT4_OID = 700
N_SCL_CLASSES = 12
COLUMNS = ("set_id", "parcel_id", "image_id", "n_total", "valid_frac", "hist", "stats")


def _array_header(dims: tuple[int, ...], oid: int) -> list[tuple[str, str]]:
    fields = [("ndim", ">i4"), ("hasnull", ">i4"), ("oid", ">i4")]
    for k in range(len(dims)):
        fields += [(f"dim{k}", ">i4"), (f"lb{k}", ">i4")]
    return fields


def _row_dtype(nbands: int, with_hist: bool) -> np.dtype:
    fields: list[Any] = [("nfields", ">i2")]
    for name in ("set_id", "parcel_id", "image_id", "n_total"):
        fields += [(f"{name}_len", ">i4"), (name, ">i4")]
    fields += [("valid_frac_len", ">i4"), ("valid_frac", ">f4")]
    fields += [("hist_len", ">i4")]
    if with_hist:
        fields += _array_header((N_SCL_CLASSES,), INT2_OID)
        fields += [("hist", [("len", ">i4"), ("v", ">i2")], (N_SCL_CLASSES,))]
    fields += [("stats_len", ">i4")]
    fields += [(f"s_{k}", ">i4") for k in ("ndim", "hasnull", "oid", "dim0", "lb0", "dim1", "lb1")]
    fields += [("stats", [("len", ">i4"), ("v", ">f4")], (nbands * 8,))]
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
    dtype = _row_dtype(nbands, hist is not None)
    rows = np.zeros(n, dtype)
    rows["nfields"] = len(COLUMNS)
    for name, values in (("set_id", set_id), ("parcel_id", parcel_ids), ("image_id", image_id),
                         ("n_total", n_total)):
        rows[f"{name}_len"], rows[name] = 4, values
    rows["valid_frac_len"], rows["valid_frac"] = 4, valid_frac
    if hist is not None:
        rows["hist_len"] = 5 * 4 + N_SCL_CLASSES * 6
        rows["ndim"], rows["oid"], rows["dim0"], rows["lb0"] = 1, INT2_OID, N_SCL_CLASSES, 1
        rows["hist"]["len"], rows["hist"]["v"] = 2, np.minimum(hist, np.iinfo(np.int16).max)
    else:
        rows["hist_len"] = -1
    rows["stats_len"] = 7 * 4 + nbands * 8 * 8
    rows["s_ndim"], rows["s_oid"] = 2, FLOAT4_OID
    rows["s_dim0"], rows["s_lb0"], rows["s_dim1"], rows["s_lb1"] = nbands, 1, 8, 1
    rows["stats"]["len"] = 4
    rows["stats"]["v"] = stats.reshape(n, nbands * 8)
    return HEADER + rows.tobytes() + TRAILER
