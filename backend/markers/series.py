"""Time series of a parcel set as dense matrices (parcels x dates), one per sensor.

Signatures are read once per sensor (band means only) and pivoted to ``(n_parcels, n_dates)``
float arrays with NaN where a parcel has no observation. Every marker works on these
matrices, so a whole parcel set is processed with array operations instead of row loops.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from backend.db import queries_markers as q

S2_BANDS = ("B02", "B03", "B04", "B05", "B08", "B11")
BS_BANDS = ("VV", "VH")
C6_BANDS = ("COH_VV", "COH_VH")
SENSOR_BANDS = {"s2": S2_BANDS, "bs": BS_BANDS, "c6": C6_BANDS}


@dataclass(frozen=True)
class Sensor:
    """The observations of one sensor for every parcel of a set.

    Attributes:
        kind: ``s2``, ``bs`` (S1 backscatter) or ``c6`` (S1 6-day coherence).
        days: Day index in the year of each date (0 = 1 January), sorted, shape (T,).
        image_ids: Image id of each date, shape (T,).
        orbit: Orbit state per date (``ascending``/``descending``/``""``), shape (T,).
        bands: Band name -> band means, shape (P, T), NaN where not observed.
        valid_frac: Valid-pixel fraction, shape (P, T) (0 where not observed).
    """

    kind: str
    days: np.ndarray
    image_ids: np.ndarray
    orbit: np.ndarray
    bands: Mapping[str, np.ndarray]
    valid_frac: np.ndarray

    @property
    def n_dates(self) -> int:
        """Number of dates."""
        return int(self.days.size)


@dataclass(frozen=True)
class SeriesSet:
    """All sensors of a parcel set plus what identifies the inputs.

    Attributes:
        year: The year; day indices count from 1 January of it.
        parcel_ids: Parcel ids (rows of every matrix), sorted.
        sensors: ``kind`` -> :class:`Sensor`.
        input_hash: sha256 over the signature bytes and the image item hashes.
    """

    year: int
    parcel_ids: np.ndarray
    sensors: Mapping[str, Sensor]
    input_hash: str = ""
    image_hashes: Mapping[str, str] = field(default_factory=dict)

    def day_to_date(self, day: float) -> date:
        """The calendar date of a day index."""
        return date.fromordinal(date(self.year, 1, 1).toordinal() + round(day))

    def date_to_day(self, when: date | str) -> int:
        """The day index of a calendar date (``YYYY-MM-DD`` accepted)."""
        d = date.fromisoformat(when) if isinstance(when, str) else when
        return d.toordinal() - date(self.year, 1, 1).toordinal()


def empty_sensor(kind: str, n_parcels: int) -> Sensor:
    """A sensor without dates (when a set has no image of that kind)."""
    bands = {b: np.empty((n_parcels, 0)) for b in SENSOR_BANDS[kind]}
    return Sensor(kind, np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, object),
                  bands, np.empty((n_parcels, 0)))


def means_frame(raw: bytes, bands: Sequence[str]) -> pd.DataFrame:
    """Long rows ``parcel_id, image_id, valid_frac, n, <band means>`` from :func:`q.copy_means` CSV.

    ``n`` is the valid pixel count of the first band (NaN when that band is missing).
    """
    frame = pd.read_csv(io.BytesIO(raw), dtype={"count_mean": str})
    packed = np.frombuffer(bytes.fromhex("".join(frame.pop("count_mean"))), ">f4")
    pairs = packed.astype(np.float64).reshape(len(frame), len(bands), 2)
    frame["n"] = pairs[:, 0, 0]
    for k, b in enumerate(bands):
        frame[b] = pairs[:, k, 1]
    return frame


def pivot(kind: str, frame: pd.DataFrame, parcel_ids: np.ndarray, images: pd.DataFrame,
          year: int) -> Sensor:
    """Pivot long rows (parcel_id, image_id, valid_frac, band means) to a :class:`Sensor`.

    Args:
        kind: Sensor kind.
        frame: Long rows of that sensor.
        parcel_ids: Sorted parcel ids (matrix rows).
        images: Rows ``id, datetime, orbit`` of that sensor's images.
        year: Year of the day index.
    """
    img = images.sort_values(["datetime", "id"])
    if img.empty:
        return empty_sensor(kind, parcel_ids.size)
    jan1 = pd.Timestamp(datetime(year, 1, 1), tz="UTC")
    days = ((img["datetime"] - jan1).dt.days).to_numpy(np.int64)
    col_of = pd.Series(np.arange(len(img)), index=img["id"].to_numpy())
    rows = np.searchsorted(parcel_ids, frame["parcel_id"].to_numpy())
    cols = col_of.reindex(frame["image_id"].to_numpy()).to_numpy()
    ok = ~np.isnan(cols) & (rows < parcel_ids.size)
    rows, cols = rows[ok], cols[ok].astype(np.int64)
    shape = (parcel_ids.size, len(img))
    bands: dict[str, np.ndarray] = {}
    for b in SENSOR_BANDS[kind]:
        m = np.full(shape, np.nan)
        m[rows, cols] = frame[b].to_numpy(np.float64)[ok]
        bands[b] = m
    vf = np.zeros(shape)
    vf[rows, cols] = frame["valid_frac"].to_numpy(np.float64)[ok]
    return Sensor(kind, days, img["id"].to_numpy(np.int64), img["orbit"].to_numpy(object), bands, vf)


def load(conn: q.Conn, set_id: int, year: int) -> SeriesSet:
    """Read every sensor's band means of a parcel set into a :class:`SeriesSet`."""
    parcel_ids = np.array([p["id"] for p in q.parcels(conn, set_id)], np.int64)
    images = pd.DataFrame(q.images(conn, set_id), columns=["id", "item_id", "kind", "datetime",
                                                           "item_hash", "orbit"])
    images["datetime"] = pd.to_datetime(images["datetime"], utc=True)
    h = hashlib.sha256()
    sensors: dict[str, Sensor] = {}
    for kind, bands in SENSOR_BANDS.items():
        raw = q.copy_means(conn, set_id, kind, bands)
        h.update(kind.encode() + b"\0" + raw)
        frame = means_frame(raw, bands)
        sensors[kind] = pivot(kind, frame, parcel_ids, images[images["kind"] == kind], year)
    hashes = {str(r.item_id): str(r.item_hash) for r in images.itertuples()}
    for k in sorted(hashes):
        h.update(f"{k}={hashes[k]}\n".encode())
    return SeriesSet(year, parcel_ids, sensors, h.hexdigest(), hashes)


def describe(series: SeriesSet) -> dict[str, Any]:
    """Counts of dates per sensor (for logs and run parameters)."""
    return {k: s.n_dates for k, s in series.sensors.items()} | {"parcels": int(series.parcel_ids.size)}
