"""Calibration of the traffic-light thresholds on a validation season with ground truth.

For each condition, every combination of a small grid of green/red thresholds is judged on the
same markers; the combination kept is the one with the fewest yellows among those whose wrong
greens and wrong reds (shares of the condition's decisions) stay within the targets. The season
used must not be the one reported on (the bench calibrates on ``validation`` and reports on the
others), so the thresholds are not tuned to the season they are judged on.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from backend.markers.conditions import Catalogue, Condition
from backend.markers.decisions import decide
from backend.markers.pipeline import Markers

GRIDS: dict[str, dict[str, tuple[Any, ...]]] = {
    "event_count": {"green.min_confidence": (0.6, 0.65, 0.7, 0.75, 0.8, 0.85),
                    "red.max_s2_gap_days": (10, 15, 20, 25),
                    "hint_drop_db": (0.6, 0.8, 1.0, 1.2, 1.4)},
    "max_period": {"red.min_confidence": (0.6, 0.7, 0.8), "red.margin_days": (0, 5, 10, 15),
                   "green.margin_days": (0, 5, 10), "green.max_s2_gap_days": (20, 30, 40)},
    "crop_consistency": {"green.min_score": (0.3, 0.4, 0.5, 0.6, 0.7), "red.max_score": (0.05, 0.1, 0.2)},
}
"""Thresholds tried per rule (``hint_drop_db``: the S1 drop that counts as a mowing hint)."""


@dataclass(frozen=True)
class Choice:
    """The thresholds kept for one condition and their rates on the calibration season."""

    condition: str
    thresholds: dict[str, Any]
    wrong_green: float
    wrong_red: float
    yellow: float
    feasible: bool


def _apply(cond: Condition, m: Markers, combo: Mapping[str, Any]) -> tuple[Condition, Markers]:
    green, red = dict(cond.green), dict(cond.red)
    for key, value in combo.items():
        if key.startswith("green."):
            green[key[6:]] = value
        elif key.startswith("red."):
            red[key[4:]] = value
    mm = m
    if "hint_drop_db" in combo:
        mowing = replace(m.params.mowing, hint_drop_db=combo["hint_drop_db"])
        mm = replace(m, params=replace(m.params, mowing=mowing))
    return replace(cond, green=green, red=red), mm


def _rates(cat: Catalogue, cond: Condition, m: Markers, parcels: Sequence[dict[str, Any]],
           truth: Callable[[Condition, int], bool | None]) -> tuple[float, float, float]:
    one = replace(cat, conditions=(cond,))
    rows = {int(p["id"]): i for i, p in enumerate(parcels)}
    n = wg = wr = yellow = 0
    for d in decide(one, m, parcels):
        ok = truth(cond, rows[d.parcel_id])
        if ok is None:
            continue
        n += 1
        wg += d.colour == "green" and not ok
        wr += d.colour == "red" and ok
        yellow += d.colour == "yellow"
    return (wg / n, wr / n, yellow / n) if n else (0.0, 0.0, 1.0)


def calibrate(cat: Catalogue, m: Markers, parcels: Sequence[dict[str, Any]],
              truth: Callable[[Condition, int], bool | None], *, max_wrong_green: float = 0.01,
              max_wrong_red: float = 0.03) -> list[Choice]:
    """Pick per condition the thresholds with the fewest yellows within the error targets.

    Args:
        cat: The catalogue (its conditions give the rules and windows).
        m: Markers of the calibration season.
        parcels: Parcel rows (``id``, ``cropcode``) in the order of the markers' rows.
        truth: ``truth(condition, row)``: whether the parcel of that row truly complies (None = unknown).
        max_wrong_green: Target share of wrong greens.
        max_wrong_red: Target share of wrong reds.

    Returns:
        One :class:`Choice` per condition; ``feasible`` False when no combination met the targets
        (then the one with the fewest errors is given).
    """
    out = []
    for cond in cat.conditions:
        grid = GRIDS[cond.rule]
        if cond.marker != "mowing":
            grid = {k: v for k, v in grid.items() if k != "hint_drop_db"}
        best: tuple[tuple[float, ...], Choice] | None = None
        for values in itertools.product(*grid.values()):
            combo = dict(zip(grid, values, strict=True))
            c, mm = _apply(cond, m, combo)
            wg, wr, y = _rates(cat, c, mm, parcels, truth)
            feasible = wg <= max_wrong_green and wr <= max_wrong_red
            key = (0.0, y) if feasible else (1.0, wg / max_wrong_green + wr / max_wrong_red)
            if best is None or key < best[0]:
                best = (key, Choice(cond.id, combo, wg, wr, y, feasible))
        if best is not None:
            out.append(best[1])
    return out
