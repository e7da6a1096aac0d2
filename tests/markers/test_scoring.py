"""Scoring functions on hand-made cases."""

from __future__ import annotations

import math

from backend.markers.scoring import auc, match_days, score_events


def test_match_is_one_to_one_within_tolerance() -> None:
    assert match_days([10, 12], [11], 6) == [(10, 11)]  # one truth matches one detection only
    assert match_days([10, 30], [14, 29, 50], 6) == [(10, 14), (30, 29)]
    assert match_days([10], [17], 6) == []
    assert match_days([10], [16], 6) == [(10, 16)]  # the tolerance is inclusive
    assert match_days([], [1], 6) == [] and match_days([1], [], 6) == []
    # the sweep finds the maximum matching where a greedy nearest choice would not
    assert len(match_days([5, 11], [10, 16], 6)) == 2


def test_precision_recall_f1_and_date_error() -> None:
    s = score_events({"a": [100, 200, 300], "b": [50]}, {"a": [103, 198], "b": [], "c": [10]}, tol=6)
    assert (s.tp, s.fp, s.fn) == (2, 2, 1)
    assert s.precision == 0.5 and math.isclose(s.recall, 2 / 3)
    assert math.isclose(s.f1, 2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert s.errors == (-3, 2) and s.median_error == 2.5


def test_empty_cases() -> None:
    s = score_events({}, {})
    assert (s.precision, s.recall, s.f1) == (1.0, 1.0, 1.0) and math.isnan(s.median_error)
    assert score_events({"a": [1]}, {}).f1 == 0.0


def test_auc() -> None:
    assert auc([0.9, 0.8, 0.1, 0.2], [True, True, False, False]) == 1.0
    assert auc([0.1, 0.2, 0.9, 0.8], [True, True, False, False]) == 0.0
    assert auc([0.5, 0.5], [True, False]) == 0.5  # ties count half
    assert auc([0.9, 0.1, 0.5], [True, False, False]) == 1.0
    assert math.isnan(auc([1.0], [True]))
