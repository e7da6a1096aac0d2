"""Accuracy measures of event markers and scores against a ground truth.

Events are matched one to one within a tolerance, per parcel: on a line with a fixed
tolerance the left-to-right sweep gives a maximum matching.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata


@dataclass(frozen=True)
class EventScore:
    """Matching result: counts, precision, recall, F1 and date errors (days) of the matches."""

    tp: int
    fp: int
    fn: int
    errors: tuple[int, ...]

    @property
    def precision(self) -> float:
        """Tp / (tp + fp); 1.0 when nothing was detected."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """Tp / (tp + fn); 1.0 when there was nothing to find."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def median_error(self) -> float:
        """Median absolute date error of the matched pairs (NaN without matches)."""
        return float(np.median(np.abs(self.errors))) if self.errors else float("nan")


def match_days(detected: Sequence[int], truth: Sequence[int], tol: int) -> list[tuple[int, int]]:
    """Maximum one-to-one matching of two lists of days within ``tol`` days.

    Returns:
        Pairs ``(detected_day, true_day)``.
    """
    d, t = sorted(detected), sorted(truth)
    i = j = 0
    pairs = []
    while i < len(d) and j < len(t):
        if abs(d[i] - t[j]) <= tol:
            pairs.append((d[i], t[j]))
            i, j = i + 1, j + 1
        elif d[i] < t[j]:
            i += 1
        else:
            j += 1
    return pairs


def score_events(detected: Mapping[str, Sequence[int]], truth: Mapping[str, Sequence[int]],
                 tol: int = 6) -> EventScore:
    """Score detected event days against true ones, parcel by parcel.

    Args:
        detected: Parcel id -> detected event days.
        truth: Parcel id -> true event days.
        tol: Matching tolerance in days.
    """
    tp = fp = fn = 0
    errors: list[int] = []
    for pid in sorted(set(detected) | set(truth)):
        d, t = list(detected.get(pid, ())), list(truth.get(pid, ()))
        pairs = match_days(d, t, tol)
        tp, fp, fn = tp + len(pairs), fp + len(d) - len(pairs), fn + len(t) - len(pairs)
        errors += [a - b for a, b in pairs]
    return EventScore(tp, fp, fn, tuple(errors))


def auc(scores: Iterable[float], positive: Iterable[bool]) -> float:
    """Area under the ROC curve (Mann-Whitney, ties count half); NaN if a class is empty."""
    s = np.asarray(list(scores), float)
    y = np.asarray(list(positive), bool)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = rankdata(s)
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))
