"""Acquisition calendars of the demo area: Sentinel-2 and Sentinel-1 dates and item ids."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from backend.demo.params import MGRS_TILE, N_DAYS, YEAR

# (relative orbit, first day index, UTC time of day) of each track over the area.
S2_TRACKS = ((8, 1, (10, 40, 31)), (51, 3, (10, 50, 29)))
S1_TRACKS = ((37, 2, (5, 50, 12), "descending"), (88, 4, (17, 25, 43), "ascending"))
S1_REPEAT = 6
S2_REPEAT = 5


@dataclass(frozen=True)
class Acquisition:
    """One image of the calendar.

    Attributes:
        day: Day index in the year (0 = 1 January).
        when: Acquisition time (UTC).
        platform: e.g. ``sentinel-2b``.
        orbit: Relative orbit number.
        item_id: STAC item id, shaped like the real product names.
        direction: Orbit direction (Sentinel-1 only).
    """

    day: int
    when: datetime
    platform: str
    orbit: int
    item_id: str
    direction: str = ""

    @property
    def previous(self) -> datetime:
        """Start of the 6-day interferometric pair ending at this acquisition (Sentinel-1)."""
        return self.when - timedelta(days=S1_REPEAT)


def spread(days: np.ndarray, n: int) -> np.ndarray:
    """Pick ``n`` of the sorted candidate ``days``, thinner in winter, spread over the year.

    Candidates are weighted (winter half as likely as summer), then the candidate nearest
    to each of ``n`` evenly spaced quantiles of the cumulative weight is taken.
    """
    w = 0.75 - 0.25 * np.cos(2 * np.pi * (days - 15) / N_DAYS)
    cum = np.cumsum(w) - w / 2
    targets = (np.arange(n) + 0.5) / n * w.sum()
    idx = np.clip(np.searchsorted(cum, targets), 0, len(days) - 1)
    for i in range(1, n):
        idx[i] = max(idx[i], idx[i - 1] + 1)
    for i in range(n - 1, -1, -1):
        idx[i] = min(idx[i], len(days) - n + i)
        if i < n - 1:
            idx[i] = min(idx[i], idx[i + 1] - 1)
    return days[idx]


def _at(day: int, hms: tuple[int, int, int]) -> datetime:
    return datetime(YEAR, 1, 1, *hms, tzinfo=UTC) + timedelta(days=day)


def _stamp(when: datetime) -> str:
    return when.strftime("%Y%m%dT%H%M%S")


def s2_calendar(n: int) -> list[Acquisition]:
    """Return ``n`` Sentinel-2 L2A acquisitions (S2B/S2C alternating, two relative orbits)."""
    cands = {}
    for orbit, first, hms in S2_TRACKS:
        for k, day in enumerate(range(first, N_DAYS, S2_REPEAT)):
            sat = "B" if k % 2 == 0 else "C"
            when = _at(day, hms)
            cands[day] = Acquisition(
                day, when, f"sentinel-2{sat.lower()}", orbit,
                f"S2{sat}_MSIL2A_{_stamp(when)}_R{orbit:03d}_T{MGRS_TILE}_DEMO",
            )
    days = spread(np.array(sorted(cands)), n)
    return [cands[int(d)] for d in days]


def s1_calendar(n: int) -> list[Acquisition]:
    """Return ``n`` Sentinel-1 IW acquisitions (S1A/S1C alternating, two tracks).

    Only acquisitions whose 6-day predecessor lies in the same year are candidates, so
    that every backscatter date also has a 6-day coherence pair.
    """
    cands = {}
    for orbit, first, hms, direction in S1_TRACKS:
        for k, day in enumerate(range(first + S1_REPEAT, N_DAYS, S1_REPEAT)):
            sat = "A" if k % 2 == 0 else "C"
            when = _at(day, hms)
            cands[day] = Acquisition(
                day, when, f"sentinel-1{sat.lower()}", orbit,
                f"S1{sat}_IW_GRDH_1SDV_{_stamp(when)}_R{orbit:03d}_DEMO", direction,
            )
    days = spread(np.array(sorted(cands)), n)
    return [cands[int(d)] for d in days]


def coherence_id(acq: Acquisition) -> str:
    """Item id of the 6-day coherence product ending at ``acq``."""
    sat = acq.item_id[2]
    return f"S1{sat}_IW_COH6_1SDV_{_stamp(acq.previous)}_{_stamp(acq.when)}_R{acq.orbit:03d}_DEMO"
