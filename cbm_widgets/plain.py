"""Plain words for the dashboards: condition names, dates instead of day-of-year, decision windows.

Pure functions over the API's decision records (no widgets, no requests), so the card, the
chart and the queue say the same thing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

_DAYS = re.compile(r"\bday (\d{1,3}(?:, \d{1,3})*)\b")
_KNOWN = {"grassland_mown": "Grassland mown in the window", "no_long_bare_soil": "No long bare-soil period",
          "crop_consistent": "Declared crop consistent with the images"}
VERDICT_NAMES = {"confirm": "confirmed", "override": "overridden", "field_visit": "field visit asked",
                 "agree": "agreed", "disagree": "disagreed", "unsure": "unsure"}


def condition_name(condition: str) -> str:
    """A readable name for a condition id (``grassland_mown`` -> ``Grassland mown in the window``)."""
    if condition in _KNOWN:
        return _KNOWN[condition]
    words = condition.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def day_of_year(year: int, day: int) -> date:
    """The date of day ``day`` (1 = 1 January) of ``year``."""
    return date(year, 1, 1) + timedelta(days=day - 1)


def short_date(value: date | str) -> str:
    """``3 Jul 2025`` for a date or an ISO string (empty for empty input)."""
    if not value:
        return ""
    d = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return f"{d.day} {d:%b %Y}"


def plain_reason(reason: str, year: int) -> str:
    """A decision reason with day-of-year numbers written as dates (``day 193`` -> ``12 Jul 2025``)."""
    if not year:
        return reason

    def dates(match: re.Match[str]) -> str:
        days = [int(d) for d in match.group(1).split(", ")]
        return ", ".join(short_date(day_of_year(year, d)) for d in days if 1 <= d <= 366)

    return _DAYS.sub(dates, reason)


def window_of(decision: Mapping[str, Any]) -> tuple[str, str] | None:
    """The condition's window ``(start, end)`` (ISO) of a decision record, or None.

    The evidence record stores it as ``evidence.condition.window``; older records and other
    producers put ``evidence.window`` or ``evidence.window_start``/``window_end``.
    """
    evidence = decision.get("evidence") or {}
    found = evidence.get("condition")
    condition: Mapping[str, Any] = found if isinstance(found, dict) else {}
    for window in (condition.get("window"), evidence.get("window"),
                   [evidence.get("window_start"), evidence.get("window_end")]):
        if isinstance(window, list | tuple) and len(window) == 2 and all(window):
            return str(window[0])[:10], str(window[1])[:10]
    return None


def window_text(decision: Mapping[str, Any]) -> str:
    """``1 Jun 2025 – 15 Aug 2025`` for a decision with a window, else ``""``."""
    window = window_of(decision)
    return f"{short_date(window[0])} – {short_date(window[1])}" if window else ""
