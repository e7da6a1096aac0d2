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


CATALOGUE = """catalogue: t
scheme: s
year: 2025
version: "1"
conditions:
  - id: soil
    rule: max_period
    window: [2025-08-01, 2025-11-15]
    max_days: 30
    dry_cover: bare
"""


def test_the_catalogue_says_whether_dry_cover_counts() -> None:
    from backend.markers.conditions_yaml import parse_catalogue
    from backend.markers.decisions import replay
    from backend.markers.rules import judge, period_features

    (b,) = _bare(_season(0.32))
    start = b.evidence["dry_cover_from"]
    as_bare = parse_catalogue(CATALOGUE).conditions[0]
    as_cover = parse_catalogue(CATALOGUE.replace("dry_cover: bare", "dry_cover: cover")).conditions[0]
    lo = 212  # 1 August
    f_bare, f_cover = (period_features(c, [b], [], 2025) for c in (as_bare, as_cover))
    assert f_bare["longest_days"] == b.end - max(start, lo) + 1
    assert f_cover["longest_days"] == b.end - 239 + 1
    assert as_bare.to_json()["dry_cover"] == "bare"
    assert replay({"condition": as_bare.to_json(), "features": f_bare}) == judge(as_bare, f_bare)
    assert parse_catalogue(CATALOGUE.replace("    dry_cover: bare\n", "")).conditions[0].dry_cover == "cover"


def test_a_bad_dry_cover_is_refused_with_its_line() -> None:
    import pytest

    from backend.markers.conditions import CatalogueError
    from backend.markers.conditions_yaml import parse_catalogue

    with pytest.raises(CatalogueError, match=r"line 10: dry_cover must be cover or bare, not 'soil'"):
        parse_catalogue(CATALOGUE.replace("dry_cover: bare", "dry_cover: soil"))
    mown = CATALOGUE.replace("rule: max_period", "rule: event_count\n    marker: mowing\n    min_count: 1")
    with pytest.raises(CatalogueError, match="dry_cover applies to rule max_period only"):
        parse_catalogue(mown.replace("    max_days: 30\n", ""))
