"""Threshold calibration against a ground truth (backend.markers.calibrate)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from backend.markers.calibrate import calibrate
from backend.markers.conditions_yaml import load_catalogue
from backend.markers.pipeline import compute_markers

sys.path.insert(0, str(Path(__file__).parent / "markers"))
from series_factory import regrow, s1_sensors, s2_sensor, series

DEMO = Path(__file__).resolve().parents[1] / "backend" / "markers" / "catalogues" / "demo_2025.yaml"
PARCELS = [{"id": 1, "pid": "A", "cropcode": "265"}]


def _grass(cut: int | None):
    ndvi = regrow(cut, 0.3, 8.0, 0.8) if cut else (lambda d: np.full(d.size, 0.8))
    vh = regrow(cut, 4.0, 8.0, -15.0) if cut else (lambda d: np.full(d.size, -15.0))
    return compute_markers(series(s2_sensor(ndvi), s1_sensors(vh)), np.array(["265"], object))


def _one(cat, m, compliant: bool):
    cond = cat.condition("grassland_mown")
    cat1 = type(cat)(cat.name, cat.scheme, cat.year, cat.version, (cond,), cat.sha256, cat.source)
    (choice,) = calibrate(cat1, m, PARCELS, lambda c, row: compliant)
    return choice


def test_clear_cut_green_at_every_threshold() -> None:
    choice = _one(load_catalogue(DEMO), _grass(180), True)
    assert choice.feasible and (choice.wrong_green, choice.wrong_red, choice.yellow) == (0, 0, 0)


def test_no_cut_is_red_and_a_wrong_red_is_reported_infeasible() -> None:
    cat, m = load_catalogue(DEMO), _grass(None)
    assert _one(cat, m, False).feasible and _one(cat, m, False).yellow == 0
    wrong = _one(cat, m, True)  # a true mowing nothing saw: red at every threshold
    assert not wrong.feasible and wrong.wrong_red == 1.0


def test_weak_radar_drop_turns_red_into_yellow_with_a_lower_hint_threshold() -> None:
    # a partial cut: S1 drops 1 dB, S2 sees nothing; truly mown -> red is wrong, yellow is right
    cat = load_catalogue(DEMO)
    m = compute_markers(series(s2_sensor(lambda d: np.full(d.size, 0.8)),
                               s1_sensors(regrow(180, 1.0, 8.0, -15.0))), np.array(["265"], object))
    choice = _one(cat, m, True)
    assert choice.feasible and choice.wrong_red == 0 and choice.thresholds["hint_drop_db"] <= 1.0
