"""Condition catalogues: the conditions of an aid scheme and year, from versioned YAML.

    catalogue: demo-eco            # name
    scheme: eco-demo               # the aid scheme
    year: 2025
    version: "2025.2"              # bump on every change; kept in each decision
    conditions:
      - id: grassland_mown
        title: Grassland mown at least once between 1 June and 15 August
        rule: event_count          # event_count | max_period | crop_consistency
        marker: mowing             # event_count: mowing, ploughing, harvest; max_period: bare_soil
        applies_to: {crops: ["265", "266"]}   # declared crop codes; omit = every parcel
        # or {groups: [grassland]}: the codes of that group in the set's crop table (cbm import crops)
        window: [2025-06-01, 2025-08-15]
        min_count: 1
        green: {min_confidence: 0.7}
        red: {max_s2_gap_days: 25}
    events:                        # optional: which event markers a declared crop can have, when
      - marker: mowing             # mowing, harvest, ploughing or bare_soil
        crops: ["265", "266"]      # an event of that marker is kept only on these crops (or groups:)...
        window: [2025-04-01, 2025-10-31]   # ...and inside the window (omit = all year)
    A marker without any events rule is kept on every crop all year.

This module holds the catalogue's model; :mod:`backend.markers.conditions_yaml` reads and
validates the YAML (:func:`~backend.markers.conditions_yaml.load_catalogue`). An invalid
catalogue is refused with :class:`CatalogueError`, whose message names the file, line and
reason (the YAML node marks give the line of the offending key or value).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from backend.errors import InvalidInput

RULES: dict[str, dict[str, Any]] = {
    "event_count": {"markers": ("mowing", "ploughing", "harvest"), "required": ("window", "min_count"),
                    "green": {"min_confidence": float}, "red": {"max_s2_gap_days": int, "max_s1_hints": int}},
    "max_period": {"markers": ("bare_soil",), "required": ("window", "max_days"),
                   "green": {"max_s2_gap_days": int, "margin_days": int},
                   "red": {"min_confidence": float, "margin_days": int}},
    "crop_consistency": {"markers": ("crop_consistency",), "required": (),
                         "green": {"min_score": float}, "red": {"max_score": float}},
}
TOP_KEYS = {"catalogue": str, "scheme": str, "year": int, "version": str, "conditions": list,
            "description": str, "events": list, "weather": dict}
EVENT_KEYS = {"marker", "crops", "groups", "window", "description"}
EVENT_RULE_MARKERS = ("mowing", "harvest", "ploughing", "bare_soil")
COND_KEYS = {"id", "title", "rule", "marker", "applies_to", "window", "min_count", "max_days",
             "green", "red", "description", "dry_cover"}
DRY_COVER = ("cover", "bare")
"""max_period on bare soil: whether stubble, a ripe crop or dead haulm before the soil is disturbed
counts as cover (GAEC 6: ``cover``, the default) or as bare soil (``bare``)."""
log = logging.getLogger(__name__)
_ID = re.compile(r"^[a-z][a-z0-9_]{1,62}$")


class CatalogueError(InvalidInput):
    """The condition catalogue is invalid; the message gives file, line and reason."""


@dataclass(frozen=True)
class Condition:
    """One condition of a catalogue (thresholds in ``green`` and ``red``)."""

    id: str
    title: str
    rule: str
    marker: str
    crops: tuple[str, ...] | None
    window: tuple[date, date] | None
    min_count: int
    max_days: int
    green: dict[str, Any]
    red: dict[str, Any]
    line: int
    groups: tuple[str, ...] = ()  # crop groups, resolved into ``crops`` by Catalogue.with_crop_groups
    dry_cover: str = "cover"  # max_period: see DRY_COVER

    def applies(self, cropcode: str) -> bool:
        """True when a parcel declared with ``cropcode`` is subject to the condition."""
        return self.crops is None or cropcode in self.crops

    def to_json(self) -> dict[str, Any]:
        """The condition as recorded in evidence (JSON-ready, stable)."""
        return {"id": self.id, "rule": self.rule, "marker": self.marker,
                "crops": list(self.crops) if self.crops is not None else None,
                **({"groups": list(self.groups)} if self.groups else {}),
                "window": [d.isoformat() for d in self.window] if self.window else None,
                "min_count": self.min_count, "max_days": self.max_days,
                **({"dry_cover": self.dry_cover} if self.rule == "max_period" else {}),
                "green": dict(sorted(self.green.items())), "red": dict(sorted(self.red.items()))}


@dataclass(frozen=True)
class EventRule:
    """Crops and season on which one event marker is reported (catalogue ``events``)."""

    marker: str
    crops: tuple[str, ...]
    window: tuple[date, date] | None
    line: int
    groups: tuple[str, ...] = ()  # crop groups, resolved into ``crops`` by Catalogue.with_crop_groups

    def to_json(self) -> dict[str, Any]:
        """The rule as recorded in evidence (JSON-ready)."""
        return {"marker": self.marker, "crops": list(self.crops),
                **({"groups": list(self.groups)} if self.groups else {}),
                "window": [d.isoformat() for d in self.window] if self.window else None}


WEATHER_KEYS = {"rain_mm": float, "rain_days": int, "frost_c": float, "s1_factor": float,
                "s2_factor": float}


@dataclass(frozen=True)
class WeatherRule:
    """How weather lowers the confidence of events seen by Sentinel-1 (catalogue ``weather``).

    An event whose S1 dates have at least ``rain_mm`` of rain over the date and the
    ``rain_days - 1`` days before, or a minimum temperature below ``frost_c`` on the date
    (wet or frozen surfaces change the backscatter), gets its confidence multiplied by
    ``s1_factor`` (seen by S1 alone) or ``s2_factor`` (S2 confirms it) and a plain-words note.
    """

    rain_mm: float = 5.0
    rain_days: int = 2
    frost_c: float = 0.0
    s1_factor: float = 0.5
    s2_factor: float = 0.9
    line: int = 0

    def to_json(self) -> dict[str, Any]:
        """The rule as recorded in evidence (JSON-ready)."""
        return {"rain_mm": self.rain_mm, "rain_days": self.rain_days, "frost_c": self.frost_c,
                "s1_factor": self.s1_factor, "s2_factor": self.s2_factor}


@dataclass(frozen=True)
class Catalogue:
    """A validated condition catalogue."""

    name: str
    scheme: str
    year: int
    version: str
    conditions: tuple[Condition, ...]
    sha256: str
    source: str
    events: tuple[EventRule, ...] = ()
    groups_resolved: bool = True  # False while a condition or rule names crop groups not yet resolved
    weather: WeatherRule | None = None  # None: the markers do not use weather

    def with_crop_groups(self, groups: dict[str, str], set_name: str) -> Catalogue:
        """The catalogue with each ``groups`` entry turned into the codes of those groups.

        Args:
            groups: crop code -> group of the parcel set's crop table.
            set_name: the set, for the message.

        Raises:
            InvalidInput: the catalogue names groups and the set's crop table has no groups.
        """
        if self.groups_resolved:
            return self
        if not groups:
            raise InvalidInput(f"catalogue {self.source} names crop groups but {set_name} has no crop "
                               "table with groups: load one with `cbm import crops FILE --aoi --year`")

        def codes(crops: tuple[str, ...] | None, wanted: tuple[str, ...]) -> tuple[str, ...]:
            extra = sorted(c for c, g in groups.items() if g in wanted and c not in (crops or ()))
            if not extra:
                log.warning("catalogue %s: no crop of group(s) %s in the crop table of %s", self.source,
                            ", ".join(wanted), set_name)
            return (*(crops or ()), *extra)

        conds = tuple(replace(c, crops=codes(c.crops, c.groups)) if c.groups else c for c in self.conditions)
        events = tuple(replace(e, crops=codes(e.crops, e.groups)) if e.groups else e for e in self.events)
        return replace(self, conditions=conds, events=events, groups_resolved=True)

    def check_resolved(self) -> None:
        """Refuse to decide with crop groups that were never resolved (they would match nothing).

        Raises:
            InvalidInput: :meth:`with_crop_groups` was not applied.
        """
        if not self.groups_resolved:
            raise InvalidInput(f"catalogue {self.source} names crop groups: resolve them with the set's "
                               "crop table (Catalogue.with_crop_groups) before deciding")

    def condition(self, cid: str) -> Condition:
        """The condition with id ``cid``."""
        for c in self.conditions:
            if c.id == cid:
                return c
        raise KeyError(cid)
