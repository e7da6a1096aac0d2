"""Hand-made series for marker unit tests: one parcel, S2 every 5 days, S1 every 6 days."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from backend.markers.series import Sensor, SeriesSet

Fn = Callable[[np.ndarray], np.ndarray]
S2_DAYS = np.arange(3, 365, 5)
S1_DAYS = np.arange(2, 365, 6)


def s2_sensor(ndvi: Fn, cloudy: Fn | None = None, days: np.ndarray = S2_DAYS) -> Sensor:
    """S2 of one parcel with the given NDVI per day (reflectance x 10000); cloudy days have no data."""
    v = np.asarray(ndvi(days), float)
    red = np.full(days.size, 1000.0)
    bands = {"B02": np.full(days.size, 500.0), "B03": np.full(days.size, 800.0), "B04": red,
             "B05": red * 1.2, "B08": red * (1 + v) / (1 - v), "B11": np.full(days.size, 3000.0)}
    vf = np.ones(days.size)
    if cloudy is not None:
        hidden = np.asarray(cloudy(days), bool)
        vf[hidden] = 0.0
        for b in bands.values():
            b[hidden] = np.nan
    return Sensor("s2", days, np.arange(days.size), np.full(days.size, "", object),
                  {k: b[None, :] for k, b in bands.items()}, vf[None, :])


def s1_sensors(vh_db: Fn, vv_db: Fn | None = None, coh: Fn | None = None) -> tuple[Sensor, Sensor]:
    """Backscatter and coherence sensors of one parcel (all one orbit direction)."""
    d = S1_DAYS
    vh = 10 ** (np.asarray(vh_db(d), float) / 10)
    vv = 10 ** (np.asarray(vv_db(d) if vv_db else vh_db(d) + 5.0, float) / 10)
    c = np.asarray(coh(d) if coh else np.full(d.size, 0.2), float)
    orbit = np.full(d.size, "descending", object)
    bs = Sensor("bs", d, np.arange(d.size), orbit, {"VH": vh[None, :], "VV": vv[None, :]},
                np.ones((1, d.size)))
    c6 = Sensor("c6", d, np.arange(d.size), orbit, {"COH_VV": c[None, :], "COH_VH": c[None, :]},
                np.ones((1, d.size)))
    return bs, c6


def series(s2: Sensor, s1: tuple[Sensor, Sensor]) -> SeriesSet:
    """A one-parcel series set of 2025."""
    return SeriesSet(2025, np.array([1]), {"s2": s2, "bs": s1[0], "c6": s1[1]}, "test")


def regrow(day: int, depth: float, tau: float, base: float) -> Fn:
    """A value ``base`` that drops by ``depth`` on ``day`` and recovers with time constant ``tau``."""
    def f(d: np.ndarray) -> np.ndarray:
        since = d - day
        return np.where(since >= 0, base - depth * np.exp(-np.clip(since, 0, None) / tau), base)
    return f
