"""The worst decision colour of each parcel of a set, joined client-side for the decision map.

The API lists a set's decisions page by page (``/sets/{aoi}/{year}/decisions``) but cannot yet
filter them by parcel id or box, so :class:`DecisionColours` pages through them once per set,
red first, then yellow, then green: the first colour seen for a parcel is its worst. It loads
lazily (on the first lookup), at most ``max_rows`` decisions (then ``truncated`` is True and
parcels not reached are reported as unknown), and keeps the result for the widget's lifetime.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from cbm_widgets.client import CbmClient

log = logging.getLogger(__name__)

WORST_FIRST = ("red", "yellow", "green")
PAGE_ROWS = 1000  # the API's largest page


class DecisionColours:
    """Lazy, bounded ``pid -> worst colour`` index of a parcel set's latest decisions.

    Args:
        client: the API client.
        max_rows: most decision rows to read per set (``PAGE_ROWS`` per request).

    Attributes:
        truncated: True when the set has more decisions than ``max_rows`` (some parcels unknown).
    """

    def __init__(self, client: CbmClient, *, max_rows: int = 30_000) -> None:
        self.client = client
        self.max_rows = max_rows
        self.truncated = False
        self._key: tuple[str, int] | None = None
        self._colours: dict[str, str] = {}

    def colours(self, aoi: str, year: int, pids: Iterable[str]) -> dict[str, str]:
        """Worst colour of each of ``pids`` that has a decision (loads the set on first use).

        Raises:
            CbmApiError: the API refused or failed (nothing is cached then).
        """
        if self._key != (aoi, year):
            self._colours, self.truncated = self._load(aoi, year)
            self._key = (aoi, year)
        return {pid: self._colours[pid] for pid in pids if pid in self._colours}

    def _load(self, aoi: str, year: int) -> tuple[dict[str, str], bool]:
        found: dict[str, str] = {}
        budget = self.max_rows
        for colour in WORST_FIRST:
            read, complete = self._load_colour(aoi, year, colour, budget, found)
            budget -= read
            if not complete:
                log.info("decision colours of %s %s truncated at %d rows", aoi, year, self.max_rows)
                return found, True
        return found, False

    def _load_colour(self, aoi: str, year: int, colour: str, budget: int,
                     found: dict[str, str]) -> tuple[int, bool]:
        """Page through one colour, at most ``budget`` rows, into ``found``: (rows read, all read)."""
        offset = 0
        while True:
            if offset >= budget:
                return offset, False
            page = self.client.decision_page(aoi, year, colour=colour, offset=offset,
                                             limit=min(PAGE_ROWS, budget - offset))
            for row in page.rows:
                found.setdefault(str(row["pid"]), colour)
            offset += len(page.rows)
            if not page.rows or offset >= page.total:
                return offset, True
