"""Weather on Sentinel-1 events: rain or frost at an event's S1 dates lowers its confidence.

Wet soil and wet vegetation raise the backscatter for a day or two after significant rain, a
frozen surface lowers it: a change between two S1 dates, one of them wet or frozen, may be the
weather and not a cut, a ploughing or a harvest. The catalogue's ``weather`` section
(:class:`~backend.markers.conditions.WeatherRule`) sets the thresholds and the factors; each
flagged event keeps its confidence before the weather and says why in plain words
(``"rain 12 mm on 13-14 May"``, ``"frost (-2.5 °C) on 3 Mar"``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np

from backend.db import queries_ancillary as qa
from backend.markers.conditions import WeatherRule
from backend.markers.events import Event, r3
from backend.markers.pipeline import Markers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ParcelWeather:
    """Daily weather of every series row: (P, D) arrays, NaN where a parcel has none.

    Attributes:
        first_day: Day index (in the series' year) of column 0.
        precipitation: mm/day, or None when the source has none.
        tmin: Minimum temperature, °C, or None.
    """

    first_day: int
    precipitation: np.ndarray | None
    tmin: np.ndarray | None


def load_weather(conn: qa.Conn, set_id: int, parcel_ids: np.ndarray, year: int) -> ParcelWeather | None:
    """Area-weighted daily precipitation and minimum temperature of each parcel (rows in order)."""
    source = qa.weather_source(conn, set_id)
    if source is None:
        return None
    row_of = {int(p): i for i, p in enumerate(parcel_ids)}
    n = int(source["n_days"])
    out: dict[str, np.ndarray | None] = {}
    for name in ("precipitation", "tmin"):
        rows = qa.weighted_series(conn, int(source["id"]), name) if name in source["variables"] else []
        if not rows:
            out[name] = None
            continue
        acc, wsum = np.zeros((len(parcel_ids), n)), np.zeros(len(parcel_ids))
        for r in rows:
            i = row_of.get(int(r["parcel_id"]))
            if i is not None:
                acc[i] += r["weight"] * np.frombuffer(r["vals"], "<f4")
                wsum[i] += r["weight"]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[name] = acc / wsum[:, None]
    first = (source["first_day"] - date(year, 1, 1)).days
    return ParcelWeather(first, out["precipitation"], out["tmin"])


def _when(d: date, days: int) -> str:
    if days <= 1:
        return f"{d.day} {d:%b}"
    s = d - timedelta(days=days - 1)
    return f"{s.day}-{d.day} {d:%b}" if s.month == d.month else f"{s.day} {s:%b}-{d.day} {d:%b}"


def weather_notes(e: Event, row: int, w: ParcelWeather, rule: WeatherRule, year: int) -> list[str]:
    """Plain-words notes on the rain and frost at the S1 dates of an event (none: ``[]``)."""
    notes: list[str] = []
    for s in e.evidence.get("s1_days", []):
        k = int(s) - w.first_day
        d = date(year, 1, 1) + timedelta(days=int(s))
        if w.precipitation is not None and 0 <= k < w.precipitation.shape[1]:
            rain = float(np.nansum(w.precipitation[row, max(0, k - rule.rain_days + 1):k + 1]))
            if rain >= rule.rain_mm:
                notes.append(f"rain {rain:.0f} mm on {_when(d, rule.rain_days)}")
        if w.tmin is not None and 0 <= k < w.tmin.shape[1] and w.tmin[row, k] < rule.frost_c:
            notes.append(f"frost ({w.tmin[row, k]:.1f} °C) on {_when(d, 1)}")
    return list(dict.fromkeys(notes))


def flag_weather(m: Markers, rule: WeatherRule, w: ParcelWeather) -> Markers:
    """The markers with every S1 event at rain or frost flagged and its confidence lowered."""
    year = m.series.year
    events: dict[str, dict[int, list[Event]]] = {}
    n = 0
    for marker, by_row in m.events.items():
        events[marker] = {}
        for row, evs in by_row.items():
            out = []
            for e in evs:
                notes = weather_notes(e, row, w, rule, year)
                if notes:
                    factor = rule.s1_factor if e.source == "s1" else rule.s2_factor
                    e = replace(e, confidence=r3(e.confidence * factor), evidence=e.evidence | {
                        "weather": notes, "confidence_without_weather": e.confidence})
                    n += 1
                out.append(e)
            events[marker][row] = out
    log.info("weather: %d S1 events flagged (rain >= %s mm over %d days, frost < %s °C)", n,
             rule.rain_mm, rule.rain_days, rule.frost_c)
    return replace(m, events=events)
