"""Event values shared by the event markers, and small array helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Event:
    """One detected event of one parcel.

    Attributes:
        row: Row of the parcel in the series matrices.
        marker: ``mowing``, ``bare_soil``, ``ploughing`` or ``harvest``.
        day: Best estimate of the event day (day index in the year); for a period its start.
        start: Earliest day the event can have happened (a period: its first day).
        end: Latest day the event can have happened (a period: its last day).
        confidence: 0..1.
        source: ``s2+s1``, ``s2``, ``s1``.
        evidence: Observation days and values used (JSON-ready).
    """

    row: int
    marker: str
    day: int
    start: int
    end: int
    confidence: float
    source: str
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def length(self) -> int:
        """Length in days of a period (``end - start + 1``)."""
        return self.end - self.start + 1


def r3(x: float) -> float:
    """Round for the evidence record (stable text)."""
    return float(round(float(x), 3))


def prev_valid_index(ok: np.ndarray) -> np.ndarray:
    """For each column, the index of the previous True column in the row (-1 if none)."""
    idx = np.where(ok, np.arange(ok.shape[1])[None, :], -1)
    run = np.maximum.accumulate(idx, axis=1)
    out = np.full(ok.shape, -1)
    out[:, 1:] = run[:, :-1]
    return out


def next_valid_index(ok: np.ndarray) -> np.ndarray:
    """For each column, the index of the next True column in the row (T if none)."""
    t = ok.shape[1]
    rev = prev_valid_index(ok[:, ::-1])[:, ::-1]
    return np.where(rev >= 0, t - 1 - rev, t)


def take(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``values[row, index[row, col]]`` with NaN where the index is out of range."""
    t = values.shape[1]
    safe = np.clip(index, 0, max(t - 1, 0))
    out = np.take_along_axis(values, safe, axis=1) if t else np.full(index.shape, np.nan)
    return np.where((index >= 0) & (index < t), out, np.nan)
