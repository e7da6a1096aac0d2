"""Stubble and dead haulm after a ripening are dry cover, not bare soil, until the surface is
disturbed (issue 27 item 5, backend.markers.stubble); maize stubble at soil level stays bare."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from backend.markers.pipeline import compute_markers

sys.path.insert(0, str(Path(__file__).parent / "markers"))
from series_factory import s1_sensors, s2_sensor, series

PLOUGH = 238  # between S1 dates 236 and 242: the period starts mid-way, day 239


def _season(after_harvest: float):
    """Crop to day 185, then ``after_harvest`` (stubble or soil) to the ploughing, soil (0.28), next crop."""
    def f(d: np.ndarray) -> np.ndarray:
        crop = np.where(d < 90, 0.4, 0.85)
        soil = np.where(d < 262, 0.28, 0.6)
        return np.where(d < 185, crop, np.where(d < PLOUGH, after_harvest, soil))
    return f


def _bare(ndvi):
    vv = lambda d: np.where(d >= PLOUGH, -9.0, -12.0)  # noqa: E731
    coh = lambda d: np.where(d == 242, 0.2, 0.7)  # noqa: E731
    vh = lambda d: np.where(d >= 185, -18.0, -14.0)  # noqa: E731
    m = compute_markers(series(s2_sensor(ndvi), s1_sensors(vh, vv, coh)), np.array(["233"], object))
    return m.of("bare_soil", 0)


def test_stubble_until_the_ploughing_is_dry_cover() -> None:
    (b,) = _bare(_season(0.32))  # stubble 0.04 above the ploughed soil: inside the bare threshold
    assert (b.start, b.day) == (239, 239)
    assert b.evidence["dry_cover_until"] == 239 and 185 <= b.evidence["dry_cover_from"] <= 188
    assert b.end < 262


def test_maize_stubble_at_soil_level_stays_bare() -> None:
    (b,) = _bare(_season(0.28))  # after the harvest the field looks like the ploughed soil
    assert 185 <= b.start <= 188 and "dry_cover_until" not in b.evidence
