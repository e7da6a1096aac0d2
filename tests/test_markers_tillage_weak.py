"""Ploughing of soil that is already bare (after lifting) or discing: a small VV rise + coherence drop."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from backend.markers.pipeline import compute_markers

sys.path.insert(0, str(Path(__file__).parent / "markers"))
from series_factory import S1_DAYS, s1_sensors, s2_sensor, series

DAY = 250  # the soil is disturbed between S1 dates 248 and 254


def _run(rise_db: float, coh_after: float | None):
    vv = lambda d: np.where(d >= DAY, -12.0 + rise_db, -12.0)  # noqa: E731
    low = 0.6 if coh_after is None else coh_after
    coh = lambda d: np.where((d > DAY) & (d <= DAY + 6), low, 0.6)  # noqa: E731
    s2 = s2_sensor(lambda d: np.full(d.size, 0.15))  # bare soil all along (lifted crop)
    return compute_markers(series(s2, s1_sensors(lambda d: np.full(d.size, -20.0), vv, coh)),
                           np.array(["2014"], object))


def test_small_rise_with_coherence_drop_is_a_ploughing() -> None:
    (e,) = _run(1.3, 0.15).of("ploughing", 0)
    d1 = int(S1_DAYS[S1_DAYS >= DAY][0])
    assert (e.start, e.end) == (d1 - 6 + 1, d1) and e.evidence["coh_ratio"] < 0.5


def test_small_rise_needs_the_coherence_halved() -> None:
    assert _run(1.3, None).of("ploughing", 0) == []
    assert _run(1.3, 0.36).of("ploughing", 0) == []  # ratio 0.6: not enough for a small rise


def test_large_rise_with_some_coherence_drop_is_a_ploughing() -> None:
    assert len(_run(3.0, 0.36).of("ploughing", 0)) == 1
    assert _run(3.0, None).of("ploughing", 0) == []  # intact coherence: wetter soil
