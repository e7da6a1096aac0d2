"""The rules the demo's farmers follow or break, and who complies (for the ground truth).

The demo catalogue (``backend/markers/catalogues/demo_2025.yaml``) decides these conditions;
they are modelled, SYNTHETIC versions of real CAP rules:

- ``grassland_mown``: an eco-scheme / minimum-activity rule, "grassland mown at least once by
  31 July" (grazing does not count);
- ``no_long_bare_soil``: GAEC 6 minimum soil cover in a sensitive period, "arable land not bare
  for more than 30 days between 1 August and 15 November" (stubble, a catch crop or the next
  crop count as cover);
- ``crop_consistent``: the crop-declaration check, the declared crop is the one grown.

The generator draws a realistic share of non-compliance (``phenology.LEFT_BARE``,
``phenology.NOT_MOWN``, ``phenology.LATE_ONLY``, 4 % wrong declarations); the ground truth
records per parcel whether it complies, computed here from the daily simulated state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from backend.demo.params import YEAR
from backend.demo.phenology import BARE_COVER, State


@dataclass(frozen=True)
class DemoRule:
    """One condition of the demo.

    Attributes:
        id: Condition id (as in the demo catalogue).
        title: Plain words.
        groups: True-crop groups of the declared crops the condition applies to (empty: all).
        window: First and last date of the period.
        max_days: Longest bare period allowed (``bare`` rules).
        kind: ``mown`` (at least one mowing in the window), ``bare`` (no bare period longer than
            ``max_days`` in the window) or ``crop`` (declared crop grown).
    """

    id: str
    title: str
    kind: str
    groups: tuple[str, ...] = ()
    window: tuple[date, date] | None = None
    max_days: int = 0

    def days(self) -> tuple[int, int]:
        """The window as day indices of the year (0 = 1 January)."""
        assert self.window is not None
        return tuple((d - date(YEAR, 1, 1)).days for d in self.window)  # type: ignore[return-value]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        win = [d.isoformat() for d in self.window] if self.window else None
        return {"id": self.id, "title": self.title, "kind": self.kind, "groups": list(self.groups),
                "window": win, "max_days": self.max_days or None}


ARABLE = ("winter_cereal", "maize", "potato", "sugar_beet")
RULES = (
    DemoRule("grassland_mown", "Grassland mown at least once by 31 July (eco-scheme)", "mown",
             ("grassland",), (date(YEAR, 4, 1), date(YEAR, 7, 31))),
    DemoRule("no_long_bare_soil", "GAEC 6: arable soil not bare for more than 30 days between "
             "1 August and 15 November", "bare", ARABLE, (date(YEAR, 8, 1), date(YEAR, 11, 15)), 30),
    DemoRule("crop_consistent", "The declared crop is the crop grown", "crop"),
)


def longest_bare(cover: np.ndarray, lo: int, hi: int) -> int:
    """Longest run of days in ``[lo, hi]`` with cover below ``BARE_COVER``."""
    bare = np.concatenate([[0], (cover[lo:hi + 1] < BARE_COVER).astype(np.int8), [0]])
    edges = np.diff(bare)
    runs = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    return int(runs.max()) if runs.size else 0


def complies(rule: DemoRule, state: State, field: int, crop_wrong: bool) -> bool:
    """Whether field ``field`` (declared wrongly or not) complies with ``rule``."""
    if rule.kind == "crop":
        return not crop_wrong
    lo, hi = rule.days()
    if rule.kind == "mown":
        return any(k == "mowing" and lo <= d <= hi for d, k in state.events[field])
    return longest_bare(state.green[field] + state.dry[field], lo, hi) <= rule.max_days
