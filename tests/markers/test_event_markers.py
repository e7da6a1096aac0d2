"""Event markers on hand-made series with exact expected events."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from series_factory import regrow, s1_sensors, s2_sensor, series

from backend.markers.pipeline import MarkerParams, compute_markers
from backend.markers.tillage import TillageParams


def _run(s2, s1):
    return compute_markers(series(s2, s1), np.array(["265"], object))


def _grass_vh(cut: int | None):
    return regrow(cut, 4.0, 8.0, -15.0) if cut else (lambda d: np.full(d.size, -15.0))


def test_clear_mowing_is_found_and_dated_by_s1() -> None:
    m = _run(s2_sensor(regrow(160, 0.3, 8.0, 0.8)), s1_sensors(_grass_vh(160)))
    (e,) = m.of("mowing", 0)
    # S1 dates 158 and 164 bracket the cut: estimate mid-way, start/end = the S1 interval
    assert (e.day, e.start, e.end, e.source) == (161, 159, 164, "s2+s1")
    assert e.confidence >= 0.9
    assert e.evidence["s1_days"] == [158, 164] and e.evidence["s2_after_day"] == 163


def test_no_mowing_gives_no_event() -> None:
    m = _run(s2_sensor(lambda d: np.full(d.size, 0.8)), s1_sensors(_grass_vh(None)))
    assert m.of("mowing", 0) == [] and m.of("harvest", 0) == [] and m.of("bare_soil", 0) == []


def test_cloudy_season_gives_no_event_and_nothing_kept() -> None:
    m = _run(s2_sensor(lambda d: np.full(d.size, 0.8), cloudy=lambda d: (d > 120) & (d < 260)),
             s1_sensors(_grass_vh(None)))
    assert m.of("mowing", 0) == []
    assert not any(120 < d < 260 for d in m.clear_days(0))


def test_mowing_visible_only_in_s1() -> None:
    m = _run(s2_sensor(regrow(160, 0.3, 8.0, 0.8), cloudy=lambda d: (d > 150) & (d < 185)),
             s1_sensors(_grass_vh(160)))
    (e,) = m.of("mowing", 0)
    assert (e.day, e.start, e.end, e.source) == (161, 159, 164, "s1")
    assert e.confidence == 0.643 and e.evidence["vh_drop_db"] == 2.426


def test_haze_dip_recovering_within_one_revisit_is_dropped() -> None:
    def ndvi(d: np.ndarray) -> np.ndarray:
        return np.where(d == 163, 0.55, 0.8)

    m = _run(s2_sensor(ndvi), s1_sensors(_grass_vh(None)))
    assert 163 not in m.clear_days(0)
    assert m.of("mowing", 0) == []


def _ploughed(d: np.ndarray) -> np.ndarray:
    grow = 0.25 + 0.55 / (1 + np.exp(-(d - 170) / 6.0))
    return np.where(d < 100, 0.5, grow)


def _disturbed(day: int):
    """Coherence of bare soil (0.7) with the 6-day pair ending on S1 date ``day`` disturbed."""
    return lambda d: np.where(d == day, 0.2, 0.7)


def test_ploughing_and_bare_soil_period() -> None:
    def vv(d: np.ndarray) -> np.ndarray:
        return np.where((d >= 100) & (d < 130), -9.0, -12.0)

    m = _run(s2_sensor(_ploughed), s1_sensors(lambda d: np.full(d.size, -20.0), vv, _disturbed(104)))
    (p,) = m.of("ploughing", 0)
    assert p.evidence["coh_ratio"] == 0.286
    assert (p.day, p.start, p.end) == (101, 99, 104)
    (b,) = m.of("bare_soil", 0)
    # start: the S1 change between 98 and 104; end: NDVI crosses soil level + 0.12 at about day 164
    assert (b.start, b.end) == (101, 161)


def test_late_harvest() -> None:
    def ndvi(d: np.ndarray) -> np.ndarray:
        return np.where(d < 120, 0.3, np.where(d < 300, 0.85, 0.3))

    def vh(d: np.ndarray) -> np.ndarray:
        return np.where(d < 300, -15.0, -20.0)

    m = _run(s2_sensor(ndvi), s1_sensors(vh))
    (h,) = m.of("harvest", 0)
    assert (h.day, h.start, h.end, h.source) == (299, 297, 302, "s1")  # S1 dates 296 and 302
    assert m.of("mowing", 0) == []


def _vv_rise(day: int):
    return lambda d: np.where(d >= day, -9.0, -12.0)


def test_vv_rise_without_coherence_loss_is_not_a_ploughing() -> None:
    # wetter soil raises VV too, but leaves the surface (and the 6-day coherence) intact
    m = _run(s2_sensor(_ploughed), s1_sensors(lambda d: np.full(d.size, -20.0), _vv_rise(100),
                                              lambda d: np.full(d.size, 0.7)))
    assert m.of("ploughing", 0) == []


def test_stubble_until_ploughing_is_not_bare_soil() -> None:
    def ndvi(d: np.ndarray) -> np.ndarray:  # crop; stubble near soil level from 190; ploughed ~215
        grow = 0.22 + 0.6 / (1 + np.exp(-(d - 240) / 3.0))
        return np.where(d < 190, 0.8, np.where(d < 219, 0.30, grow))

    s2 = s2_sensor(ndvi, cloudy=lambda d: (d > 210) & (d < 220))
    s1 = s1_sensors(lambda d: np.full(d.size, -20.0), _vv_rise(218), _disturbed(218))
    (b,) = _run(s2, s1).of("bare_soil", 0)
    # S1 dates 212 and 218 bracket the ploughing; the stubble observations before it are not bare:
    # their NDVI (0.30) is above the parcel's lowest (0.22) + soil_margin (0.05), and so is day 233's
    assert b.start == 215 and b.evidence["s2_days"] == [223, 228]
    # with the soil level of the 3rd-lowest observation the stubble is taken for soil, but the
    # ploughing inside the run still moves the start
    tillage = replace(TillageParams(), soil_rank=2)
    (b,) = compute_markers(series(s2, s1), np.array(["265"], object), MarkerParams(tillage=tillage)).of(
        "bare_soil", 0)
    assert b.start == 215 and b.evidence["stubble_or_cover_until"] == 215
    assert b.evidence["s2_days"] == [223, 228, 233]


def test_unconfirmed_s1_cut_is_a_hint_and_keeps_the_light_yellow() -> None:
    from backend.markers.conditions_yaml import load_catalogue
    from backend.markers.decisions import replay
    from backend.markers.mowing import s1_hint_days
    from backend.markers.rules import event_features, judge

    # VH drops on S1 date 164 but the clear S2 after shows no NDVI drop: refuted as a mowing
    m = _run(s2_sensor(lambda d: np.full(d.size, 0.8)), s1_sensors(_grass_vh(160)))
    assert m.of("mowing", 0) == [] and s1_hint_days(m.radar, 0) == [164]
    cat = load_catalogue(Path(__file__).resolve().parents[2] / "backend/markers/catalogues/demo_2025.yaml")
    cond = cat.condition("grassland_mown")
    f = event_features(cond, [], m.clear_days(0), 2025, s1_hint_days(m.radar, 0))
    assert f["s1_hints"] == [164]
    colour, reason = judge(cond, f)
    assert colour == "yellow" and "day 164" in reason
    assert judge(cond, f | {"s1_hints": []})[0] == "red"
    old = {k: v for k, v in f.items() if k != "s1_hints"}  # a rules-1 record replays as before
    assert replay({"condition": cond.to_json(), "features": old})[0] == "red"
