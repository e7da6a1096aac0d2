"""Traffic-light rules: features of one parcel for one condition, and the judgement on them.

``judge(condition, features)`` is a pure function of the condition (from the catalogue) and
the features recorded in the decision's evidence, so any decision can be replayed from its
evidence record alone.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np

from backend.markers.conditions import Condition
from backend.markers.events import Event, r3

GREEN, YELLOW, RED = "green", "yellow", "red"
DEFAULTS = {"min_confidence": 0.6, "max_s2_gap_days": 25, "max_s1_hints": 0, "margin_days": 5,
            "min_score": 0.5, "max_score": 0.1}


def threshold(cond: Condition, colour: str, key: str) -> Any:
    """A threshold of the condition, or its documented default."""
    table = cond.green if colour == GREEN else cond.red
    return table.get(key, DEFAULTS[key])


def window_days(cond: Condition, year: int) -> tuple[int, int]:
    """The condition's window as day indices (the whole year without a window)."""
    if cond.window is None:
        return 0, date(year, 12, 31).timetuple().tm_yday - 1
    return cond.window[0].timetuple().tm_yday - 1, cond.window[1].timetuple().tm_yday - 1


def max_gap(clear_days: Sequence[int], lo: int, hi: int) -> int:
    """Longest stretch in ``[lo, hi]`` without a clear observation (window edges count)."""
    pts = [lo, *sorted(d for d in clear_days if lo <= d <= hi), hi]
    return int(max(b - a for a, b in itertools.pairwise(pts)))


def _event_json(e: Event) -> dict[str, Any]:
    return {"day": e.day, "start": e.start, "end": e.end, "confidence": e.confidence, "source": e.source}


def event_features(cond: Condition, events: Sequence[Event], clear: Sequence[int],
                   year: int, hints: Sequence[int] = ()) -> dict[str, Any]:
    """Features of an ``event_count`` condition.

    ``hints`` are days of weak S1 evidence of the event (candidates not confirmed); those in the
    window and outside every found event are recorded as ``s1_hints``.
    """
    lo, hi = window_days(cond, year)
    inside = [e for e in events if lo <= e.day <= hi]
    conf = threshold(cond, GREEN, "min_confidence")
    weak = [int(d) for d in hints if lo <= d <= hi and not any(e.start <= d <= e.end for e in events)]
    return {"window_days": [lo, hi], "events": [_event_json(e) for e in inside],
            "n_events": len(inside), "n_confident": sum(e.confidence >= conf for e in inside),
            "s2_max_gap_days": max_gap(clear, lo, hi), "s1_hints": weak}


def period_features(cond: Condition, periods: Sequence[Event], clear: Sequence[int],
                    year: int) -> dict[str, Any]:
    """Features of a ``max_period`` condition (periods clipped to the window)."""
    lo, hi = window_days(cond, year)
    inside = []
    for e in periods:
        start = e.evidence.get("dry_cover_from", e.start) if cond.dry_cover == "bare" else e.start
        a, b = max(start, lo), min(e.end, hi)
        if a <= b:
            inside.append(_event_json(e) | {"start": start, "days_in_window": b - a + 1})
    longest = max(inside, key=lambda x: (x["days_in_window"], x["start"]), default=None)
    return {"window_days": [lo, hi], "periods": inside,
            "longest_days": longest["days_in_window"] if longest else 0,
            "longest_confidence": longest["confidence"] if longest else 0.0,
            "s2_max_gap_days": max_gap(clear, lo, hi)}


def consistency_features(score: float, d_own: float, d_other: float, nearest: str,
                         n_peers: int) -> dict[str, Any]:
    """Features of a ``crop_consistency`` condition."""
    ok = bool(np.isfinite(score))
    return {"score": r3(score) if ok else None, "distance_declared": r3(d_own) if ok else None,
            "distance_nearest_other": r3(d_other) if ok else None,
            "nearest_other_crop": nearest if ok else None, "n_peers": int(n_peers)}


def _judge_events(c: Condition, f: dict[str, Any]) -> tuple[str, str]:
    what, n = c.marker.replace("_", " "), c.min_count
    days = ", ".join(str(e["day"]) for e in f["events"])
    if f["n_confident"] >= n:
        return GREEN, (f"{f['n_confident']} {what} event(s) found in the window (day {days}); "
                       f"{n} required")
    if f["n_events"] >= n:
        return YELLOW, (f"{f['n_events']} {what} event(s) in the window (day {days}) but below confidence "
                        f"{threshold(c, GREEN, 'min_confidence')}: check the images")
    hints = f.get("s1_hints", [])  # records before rules-2 have none
    if len(hints) > threshold(c, RED, "max_s1_hints"):
        return YELLOW, (f"no {what} confirmed, but Sentinel-1 shows a possible one (day "
                        f"{', '.join(str(d) for d in hints)}): check the images")
    gap, limit = f["s2_max_gap_days"], threshold(c, RED, "max_s2_gap_days")
    if gap <= limit:
        return RED, f"no {what} found in the window although clear S2 images came at most {gap} days apart"
    return YELLOW, (f"no {what} found, but {gap} days without a clear S2 image (limit {limit}): "
                    "check S1 and images")


def _judge_period(c: Condition, f: dict[str, Any]) -> tuple[str, str]:
    longest = f["longest_days"]
    m_red, m_green = threshold(c, RED, "margin_days"), threshold(c, GREEN, "margin_days")
    if longest > c.max_days + m_red and f["longest_confidence"] >= threshold(c, RED, "min_confidence"):
        return RED, f"bare soil for {longest} days in the window; at most {c.max_days} allowed"
    if longest > c.max_days - m_green:
        return YELLOW, (f"bare soil for about {longest} days, too close to the {c.max_days}-day limit "
                        "to decide")
    gap, limit = f["s2_max_gap_days"], threshold(c, GREEN, "max_s2_gap_days")
    if gap > limit:
        return YELLOW, (f"longest bare period {longest} days, but {gap} days without a clear S2 image "
                        f"(limit {limit})")
    return GREEN, (f"longest bare-soil period in the window: {longest} days "
                   f"(at most {c.max_days} allowed)")


def _judge_consistency(c: Condition, f: dict[str, Any]) -> tuple[str, str]:
    s = f["score"]
    if s is None:
        return YELLOW, "too few clear observations or peers to compare the parcel with its declared crop"
    if s >= threshold(c, GREEN, "min_score"):
        return GREEN, f"the season looks like that of its {f['n_peers']} peers with the same declared crop"
    if s <= threshold(c, RED, "max_score"):
        return RED, (f"the season does not look like the declared crop; it looks like crop "
                     f"{f['nearest_other_crop']} (score {s})")
    return YELLOW, f"the season is only partly like the declared crop's peers (score {s})"


def judge(cond: Condition, features: dict[str, Any]) -> tuple[str, str]:
    """Colour and plain-words reason of a condition for one parcel, from its features alone."""
    if cond.rule == "event_count":
        return _judge_events(cond, features)
    if cond.rule == "max_period":
        return _judge_period(cond, features)
    return _judge_consistency(cond, features)
