"""Signature rows -> JRC time-series columns: the vectorised unpack against a row-by-row reference."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from backend.extraction.timeseries import STORED_TO_JRC, TS_COLUMNS, plain, unpack

# stored order: count mean std min max p25 p50 p75; JRC order: count mean std min p25 p50 p75 max
_JRC_FROM_STORED = (0, 1, 2, 3, 5, 6, 7, 4)


def _row(date: float, bands: list[str], hist: list[int] | None, seed: int) -> tuple:
    stats = np.random.default_rng(seed).random((len(bands), 8), dtype=np.float32) * 3000
    stats[:, 0] = np.arange(len(bands)) + 10
    if seed % 3 == 0:  # a band without valid pixels: count 0, statistics NaN
        stats[0, 1:] = np.nan
        stats[0, 0] = 0
    packed_hist = None if hist is None else np.asarray(hist, ">i2").tobytes()
    return date, bands, np.asarray(stats, ">f4").tobytes(), packed_hist


def _reference(rows: list[tuple], tstype: str, band: str | None) -> dict[str, list[Any]]:
    """One band row at a time, as the JRC server builds it."""
    names = STORED_TO_JRC[tstype]
    out: dict[str, list[Any]] = {k: [] for k in TS_COLUMNS}
    if tstype == "s2":
        out["hist"] = []
    for date, bands, packed, hist in rows:
        stats = np.frombuffer(packed, ">f4").reshape(len(bands), 8)
        for k, stored in enumerate(bands):
            if stored not in names or band not in (None, stored):
                continue
            values = [float(v) for v in stats[k, list(_JRC_FROM_STORED)].astype(np.float32)]
            out["date_part"].append(date)
            out["band"].append(names[stored])
            out["count"].append(int(values[0]))
            for col, v in zip(TS_COLUMNS[3:], values[1:], strict=True):
                out[col].append(None if math.isnan(v) else v)
            if tstype == "s2":
                counts = np.frombuffer(hist, ">i2") if hist is not None else np.zeros(12, int)
                out["hist"].append({str(c): int(n) for c, n in enumerate(counts) if n})
    return out


S2 = ["B02", "B03", "B04", "B05", "B08", "B11"]
HIST = [0, 0, 0, 0, 20, 3, 0, 0, 1, 0, 0, 0]


@pytest.mark.parametrize("band", [None, "B04", "B11", "B12"])
def test_same_bands_every_image(band: str | None) -> None:
    rows = [_row(1.7e9 + i * 86400, S2, HIST if i % 2 else [0] * 12, i) for i in range(7)]
    assert plain(unpack(rows, "s2", band)) == _reference(rows, "s2", band)


@pytest.mark.parametrize("band", [None, "B04", "B08"])
def test_band_lists_differ_between_images(band: str | None) -> None:
    rows = [_row(1.7e9, ["B02", "B04"], HIST, 1), _row(1.8e9, ["B04", "B08", "SCL_X", "B11"], None, 3),
            _row(1.9e9, ["B08"], HIST, 6), _row(2.0e9, ["XX"], HIST, 2)]
    got = plain(unpack(rows, "s2", band))
    assert got == _reference(rows, "s2", band)
    if band is None:
        assert got["band"] == ["B02", "B04", "B04", "B08", "B11", "B08"]
        assert got["date_part"] == [1.7e9, 1.7e9, 1.8e9, 1.8e9, 1.8e9, 1.9e9] and got["hist"][2] == {}


def test_s1_rows_have_no_hist_and_jrc_names() -> None:
    rows = [_row(1.7e9 + i, ["VV", "VH"], None, i) for i in range(4)]
    got = plain(unpack(rows, "bs", None))
    assert got == _reference(rows, "bs", None) and "hist" not in got and got["band"][:2] == ["VVb", "VHb"]


def test_no_rows_give_empty_columns() -> None:
    assert plain(unpack([], "s2", None)) == {k: [] for k in (*TS_COLUMNS, "hist")}
