"""QA estimators (issue 25) against hand computations on small cases."""

from __future__ import annotations

import math

import pytest

from backend.qa.estimation import Unit, estimate_condition, wilson

Z95 = 1.959963984540054

# Two crop-group strata: A with N = 100 (4 inspected), B with N = 50 (2 inspected): weight 25 each.
SIZES = {"A": 100, "B": 50}
UNITS = [Unit("A", "green", "compliant"), Unit("A", "green", "not_compliant"),
         Unit("A", "red", "not_compliant"), Unit("A", "green", "compliant"),
         Unit("B", "green", "compliant"), Unit("B", "red", "compliant")]


def test_wilson_matches_the_published_value() -> None:
    # 5 of 50 at 95 %: 4.35 % to 21.36 % (Newcombe 1998, method 3)
    low, high = wilson(5, 50, 0.95)
    assert (round(low, 4), round(high, 4)) == (0.0435, 0.2136)


def test_stratified_wrong_green_rate_by_hand() -> None:
    m = estimate_condition(UNITS, SIZES, 0.95)["metrics"]["wrong_green"]
    # green with a known truth: A 3 units (1 not compliant), B 1 unit (compliant)
    # X = 25 * 3 + 25 * 1 = 100, Y = 25 * 1 = 25, R = 0.25
    # z = (y - R x) / X: A = -0.0025, 0.0075, 0, -0.0025 (mean 0.000625), s2_A = 6.71875e-5 / 3
    #   V_A = 100^2 * (1 - 4/100) * s2_A / 4 = 0.05375
    # B = -0.0025, 0 (mean -0.00125), s2_B = 3.125e-6 / 1;  V_B = 50^2 * (1 - 2/50) * s2_B / 2 = 0.00375
    se = math.sqrt(0.05375 + 0.00375)
    assert m["estimate"] == pytest.approx(0.25)
    assert m["se"] == pytest.approx(se)
    assert m["low"] == 0.0  # 0.25 - 1.96 * 0.2398 < 0: clipped
    assert m["high"] == pytest.approx(0.25 + Z95 * se)
    assert (m["k"], m["m"], m["method"]) == (1, 4, "stratified linearised variance, normal")


def test_stratified_agreement_and_confusion_by_hand() -> None:
    est = estimate_condition(UNITS, SIZES, 0.95)
    a = est["metrics"]["agreement"]
    # every unit is green/red with a known truth; agreeing: A 3 of 4, B 1 of 2 -> (25*3 + 25*1) / (25*6)
    assert a["estimate"] == pytest.approx(100 / 150)
    # z = (y - 2/3) / 150. A: 1/450, -1/225, 1/450, 1/450 -> s2_A = 1/90000,
    #   V_A = 100^2 * 0.96 * s2_A / 4 = 2/75.
    # B: 1/450, -1/225 -> s2_B = 2/90000, V_B = 50^2 * 0.96 * s2_B / 2 = 2/75
    assert a["se"] == pytest.approx(math.sqrt(4 / 75))
    c = est["confusion"]
    assert c["counts"]["green"] == {"compliant": 3, "not_compliant": 1, "cannot_tell": 0}
    assert c["weighted"]["green"]["compliant"] == pytest.approx(75)  # 2 * 25 (A) + 1 * 25 (B)
    assert c["weighted"]["red"] == {"compliant": 25.0, "not_compliant": 25.0, "cannot_tell": 0.0}


def test_one_stratum_domain_uses_wilson_and_excludes_cannot_tell() -> None:
    units = [Unit("green", "green", "compliant")] * 18 + [Unit("green", "green", "not_compliant")] * 2 + [
        Unit("green", "green", "cannot_tell"), Unit("red", "red", "not_compliant"),
        Unit("red", "red", "compliant")]
    m = estimate_condition(units, {"green": 900, "red": 100}, 0.95)["metrics"]
    wg = m["wrong_green"]
    assert (wg["k"], wg["m"], wg["method"]) == (2, 20, "wilson")
    assert wg["estimate"] == pytest.approx(0.1)
    assert (wg["low"], wg["high"]) == pytest.approx(wilson(2, 20, 0.95))
    # cannot_tell: 1 of 21 green units, weight 900/21; 0 of 2 red units -> (900/21) / 1000
    assert m["cannot_tell_share"]["estimate"] == pytest.approx(900 / 21 / 1000)
    assert m["yellow_share"]["estimate"] == 0.0


def test_empty_domain_has_no_estimate() -> None:
    m = estimate_condition([Unit("all", "green", "compliant")], {"all": 10}, 0.95)["metrics"]
    assert m["wrong_red"] == {"estimate": None, "low": None, "high": None, "k": 0, "m": 0, "method": None}
