"""Harvest dated at the radar drop that matches the crop's ripening seen by S2 (issue 27 item 3)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from backend.markers.pipeline import compute_markers

sys.path.insert(0, str(Path(__file__).parent / "markers"))
from series_factory import s1_sensors, s2_sensor, series


def _cereal(d: np.ndarray) -> np.ndarray:
    """Green from spring, ripening (NDVI falling below 0.45) from about day 180, stubble after."""
    return np.where(d < 90, 0.4, np.where(d < 170, 0.85, np.maximum(0.25, 0.85 - 0.05 * (d - 170))))


def _vh(harvest: int, later: int | None):
    """VH falls 3 dB at the harvest and, when ``later``, 6 dB more at a later date (an artefact)."""
    def f(d: np.ndarray) -> np.ndarray:
        out = np.where(d >= harvest, -17.0, -14.0)
        return out if later is None else np.where(d >= later, -23.0, out)
    return f


def _harvest(ndvi, vh, cloudy=None):
    m = compute_markers(series(s2_sensor(ndvi, cloudy), s1_sensors(vh)), np.array(["233"], object))
    return m.of("harvest", 0)


def test_the_drop_after_ripening_is_the_harvest_not_the_largest_later_one() -> None:
    (h,) = _harvest(_cereal, _vh(205, 262))
    # S1 dates 200 and 206 bracket the harvest; the 6 dB drop at 266 (S1 date after 262) is ignored
    assert (h.day, h.start, h.end, h.source) == (203, 201, 206, "s1")
    # ripening: NDVI first <= 0.45 on S2 day 178, the clear day before it 173
    assert h.evidence["ripening_s2_days"] == [173, 178]
    assert h.evidence["vh_drop_db"] == 3.0 and h.confidence == 0.875


def test_a_drop_long_after_ripening_is_not_a_harvest_but_the_harvest_is() -> None:
    (h,) = _harvest(_cereal, _vh(250, None))  # 72 days after the ripening: not this crop's harvest
    assert h.source == "s2"  # the S2 fall is kept instead
    assert h.day < 180


def test_without_a_clear_ripening_the_strongest_drop_has_a_lower_confidence() -> None:
    (h,) = _harvest(_cereal, _vh(205, None), cloudy=lambda d: d >= 172)
    assert (h.day, h.source, h.evidence["ripening_s2_days"]) == (203, "s1", None)
    assert h.confidence == 0.7
