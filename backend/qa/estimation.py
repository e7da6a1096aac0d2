"""Estimates of the system's quality from the inspected sample, with confidence intervals.

Per condition, over the inspected units (the latest inspection of each):

* ``agreement``: among green and red decisions whose truth is known, the share where green is
  compliant or red is not compliant;
* ``wrong_green``: among green decisions with a known truth, the share not compliant;
* ``wrong_red``: among red decisions with a known truth, the share compliant;
* ``yellow_share``: the share of yellow decisions; ``cannot_tell_share``: the share of units
  whose truth could not be established.

Each is a ratio ``R = Y / X`` of weighted totals over a domain (``x``) with an outcome (``y``).
The weight of an inspected unit of stratum ``h`` is ``N_h / m_h`` (``m_h`` units of the stratum
inspected): the inverse inclusion probability ``N_h / n_h`` when every sampled unit is
inspected, otherwise adjusted within the stratum (units not yet inspected are taken as missing
at random in their stratum). Intervals:

* when the domain's units all lie in one stratum (SRS, or a colour stratum for the colour
  rates), the **Wilson** score interval of ``k`` of ``m`` domain units;
* otherwise the stratified ratio estimator's **linearised variance**
  ``V(R) = sum_h N_h^2 (1 - m_h / N_h) s_zh^2 / m_h`` with ``z_i = (y_i - R x_i) / X`` and
  ``s_zh^2`` the sample variance (``ddof=1``) of ``z`` in stratum ``h``, and the normal interval
  ``R +- z_{1-a/2} sqrt(V)`` clipped to [0, 1]. A stratum with a single inspected unit adds no
  variance (it cannot be estimated) and is counted in ``strata_without_variance``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

COLOURS = ("green", "yellow", "red")
TRUTHS = ("compliant", "not_compliant", "cannot_tell")
METRICS = ("agreement", "wrong_green", "wrong_red", "yellow_share", "cannot_tell_share")


@dataclass(frozen=True)
class Unit:
    """One inspected sampled decision."""

    stratum: str
    colour: str
    truth: str


Indicator = Callable[[Unit], bool]
_KNOWN: Indicator = lambda u: u.truth != "cannot_tell"  # noqa: E731
DOMAINS: dict[str, tuple[Indicator, Indicator]] = {
    "agreement": (lambda u: _KNOWN(u) and u.colour != "yellow",
                  lambda u: (u.colour, u.truth) in (("green", "compliant"), ("red", "not_compliant"))),
    "wrong_green": (lambda u: _KNOWN(u) and u.colour == "green", lambda u: u.truth == "not_compliant"),
    "wrong_red": (lambda u: _KNOWN(u) and u.colour == "red", lambda u: u.truth == "compliant"),
    "yellow_share": (lambda u: True, lambda u: u.colour == "yellow"),
    "cannot_tell_share": (lambda u: True, lambda u: u.truth == "cannot_tell"),
}


def wilson(k: int, m: int, confidence: float) -> tuple[float, float]:
    """Wilson score interval of ``k`` successes in ``m`` trials."""
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = k / m
    centre = (p + z * z / (2 * m)) / (1 + z * z / m)
    half = z / (1 + z * z / m) * math.sqrt(p * (1 - p) / m + z * z / (4 * m * m))
    return max(0.0, centre - half), min(1.0, centre + half)


def ratio(units: list[Unit], sizes: dict[str, int], x: Indicator, y: Indicator,
          confidence: float) -> dict[str, Any]:
    """Stratified ratio estimate of ``y`` over the domain ``x`` with its interval (see module doc)."""
    by: dict[str, list[Unit]] = {}
    for u in units:
        by.setdefault(u.stratum, []).append(u)
    xs = {h: [1.0 if x(u) else 0.0 for u in us] for h, us in by.items()}
    ys = {h: [1.0 if x(u) and y(u) else 0.0 for u in us] for h, us in by.items()}
    w = {h: sizes[h] / len(us) for h, us in by.items()}
    big_x = sum(w[h] * sum(xs[h]) for h in by)
    m = int(sum(sum(v) for v in xs.values()))
    k = int(sum(sum(v) for v in ys.values()))
    if m == 0:
        return {"estimate": None, "low": None, "high": None, "k": 0, "m": 0, "method": None}
    r = sum(w[h] * sum(ys[h]) for h in by) / big_x
    if sum(1 for h in by if sum(xs[h]) > 0) == 1:
        low, high = wilson(k, m, confidence)
        return {"estimate": r, "low": low, "high": high, "k": k, "m": m, "method": "wilson"}
    var, lonely = 0.0, 0
    for h, us in by.items():
        mh = len(us)
        if mh < 2:
            lonely += 1
            continue
        z = [(yv - r * xv) / big_x for xv, yv in zip(xs[h], ys[h], strict=True)]
        mean = sum(z) / mh
        s2 = sum((v - mean) ** 2 for v in z) / (mh - 1)
        var += sizes[h] ** 2 * (1 - mh / sizes[h]) * s2 / mh
    half = NormalDist().inv_cdf(0.5 + confidence / 2) * math.sqrt(var)
    return {"estimate": r, "low": max(0.0, r - half), "high": min(1.0, r + half), "k": k, "m": m,
            "method": "stratified linearised variance, normal", "se": math.sqrt(var),
            "strata_without_variance": lonely}


def confusion(units: Iterable[Unit], sizes: dict[str, int]) -> dict[str, Any]:
    """Counts of inspected units by system colour x truth, and the weighted (population) estimates."""
    units = list(units)
    per_stratum: dict[str, int] = {}
    for u in units:
        per_stratum[u.stratum] = per_stratum.get(u.stratum, 0) + 1
    counts = {c: dict.fromkeys(TRUTHS, 0) for c in COLOURS}
    weighted = {c: dict.fromkeys(TRUTHS, 0.0) for c in COLOURS}
    for u in units:
        counts[u.colour][u.truth] += 1
        weighted[u.colour][u.truth] += sizes[u.stratum] / per_stratum[u.stratum]
    return {"counts": counts, "weighted": weighted}


def estimate_condition(units: list[Unit], sizes: dict[str, int], confidence: float) -> dict[str, Any]:
    """Every metric and the confusion table of one condition."""
    return {"inspected": len(units),
            "metrics": {name: ratio(units, sizes, x, y, confidence) for name, (x, y) in DOMAINS.items()},
            "confusion": confusion(units, sizes)}
