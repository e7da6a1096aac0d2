"""Event types by crop and season: the catalogue's ``events`` rules applied to detected events.

A mowing on winter wheat or a harvest of grassland in March is not an event of that parcel,
whatever the signal did (rain, a neighbour's cut, haze): the catalogue says on which declared
crops, and in which window, each event marker is reported. Markers without a rule are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from backend.markers.conditions import Catalogue, EventRule
from backend.markers.events import Event
from backend.markers.pipeline import Markers


def _days(rule: EventRule, year: int) -> tuple[int, int]:
    if rule.window is None:
        return -1, 400
    jan1 = np.datetime64(f"{year}-01-01")
    lo, hi = (int((np.datetime64(d.isoformat()) - jan1).astype(int)) for d in rule.window)
    return lo, hi


def _keeps(e: Event, spans: Sequence[tuple[int, int]]) -> bool:
    if e.marker == "bare_soil":  # a period: kept when it overlaps the window
        return any(e.start <= hi and e.end >= lo for lo, hi in spans)
    return any(lo <= e.day <= hi for lo, hi in spans)


def restrict_events(m: Markers, cat: Catalogue, crops: np.ndarray) -> Markers:
    """Keep only the events that the catalogue's ``events`` rules allow for the declared crop.

    Args:
        m: Markers of a parcel set.
        cat: The catalogue (its ``events`` rules; none = nothing removed).
        crops: Declared crop code (text) of each row.
    """
    cat.check_resolved()
    if not cat.events:
        return m
    year = m.series.year
    events = dict(m.events)
    for marker in sorted({r.marker for r in cat.events}):
        spans: dict[str, list[tuple[int, int]]] = {}
        for r in cat.events:
            if r.marker == marker:
                for c in r.crops:
                    spans.setdefault(c, []).append(_days(r, year))
        events[marker] = {row: kept for row, evs in m.events.get(marker, {}).items()
                          if (kept := [e for e in evs if _keeps(e, spans.get(str(crops[row]), []))])}
    return replace(m, events=events)
