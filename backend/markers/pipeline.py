"""All markers of a parcel set from its series: a pure function of the inputs."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from backend.markers.clean import CLEAN_VERSION, CleanParams, CleanS2, clean_s2
from backend.markers.consistency import (
    CONSISTENCY_VERSION,
    Consistency,
    ConsistencyParams,
    crop_consistency,
    profiles,
)
from backend.markers.events import Event
from backend.markers.harvest import HARVEST_VERSION, detect_harvest
from backend.markers.indices import INDEX_VERSION
from backend.markers.mowing import MOWING_VERSION, MowingParams, detect_mowing
from backend.markers.radar import S1_VERSION, Radar, radar_features, window_max
from backend.markers.series import SeriesSet
from backend.markers.stubble import split_dry_cover
from backend.markers.tillage import TILLAGE_VERSION, TillageParams, detect_bare, detect_ploughing

log = logging.getLogger(__name__)

VERSIONS = {"indices": INDEX_VERSION, "clean": CLEAN_VERSION, "s1": S1_VERSION,
            "mowing": MOWING_VERSION, "bare_soil": TILLAGE_VERSION, "ploughing": TILLAGE_VERSION,
            "harvest": HARVEST_VERSION, "crop_consistency": CONSISTENCY_VERSION}
EVENT_MARKERS = ("mowing", "bare_soil", "ploughing", "harvest")


@dataclass(frozen=True)
class MarkerParams:
    """Every threshold of the markers (recorded in the run and in each decision)."""

    clean: CleanParams = field(default_factory=CleanParams)
    mowing: MowingParams = field(default_factory=MowingParams)
    tillage: TillageParams = field(default_factory=TillageParams)
    consistency: ConsistencyParams = field(default_factory=ConsistencyParams)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready parameters."""
        return asdict(self)


@dataclass(frozen=True)
class Markers:
    """Markers of every parcel of a set (rows as in ``series.parcel_ids``)."""

    series: SeriesSet
    clean: CleanS2
    radar: Radar
    events: dict[str, dict[int, list[Event]]]
    consistency: Consistency
    params: MarkerParams

    def of(self, marker: str, row: int) -> list[Event]:
        """Events of one marker of one parcel row."""
        return self.events.get(marker, {}).get(row, [])

    def clear_days(self, row: int) -> list[int]:
        """Days of the parcel's clear (kept) S2 observations."""
        return [int(d) for d in self.series.sensors["s2"].days[self.clean.ok[row]]]


def _by_row(events: list[Event]) -> dict[int, list[Event]]:
    out: dict[int, list[Event]] = defaultdict(list)
    for e in sorted(events, key=lambda e: (e.row, e.day, e.start)):
        out[e.row].append(e)
    return dict(out)


def compute_markers(series: SeriesSet, crops: np.ndarray, params: MarkerParams | None = None) -> Markers:
    """Clean the observations and compute every marker of every parcel.

    Args:
        series: The parcel set's series.
        crops: Declared crop code of each row (for the crop-consistency peers).
        params: Thresholds.
    """
    p = params or MarkerParams()
    s2 = series.sensors["s2"]
    radar = radar_features(series.sensors["bs"], series.sensors["c6"])
    s1_change = window_max(radar.days, np.abs(radar.vh_drop), s2.days, -7, 3) >= p.clean.s1_quiet_db
    cl = clean_s2(s2, s1_change, p.clean)
    v = cl.ndvi
    ploughing = detect_ploughing(s2, v, radar, p.tillage)
    harvest = detect_harvest(s2.days, v, radar, p.tillage)
    bare = split_dry_cover(detect_bare(s2, v, radar, p.tillage), s2.days, v, radar, ploughing + harvest,
                           p.tillage)
    events = {
        "mowing": _by_row(detect_mowing(s2.days, v, radar, p.mowing)),
        "bare_soil": _by_row(bare),
        "ploughing": _by_row(ploughing),
        "harvest": _by_row(harvest),
    }
    prof = profiles(s2.days, v, radar, p.consistency.min_clear)
    cons = crop_consistency(series.parcel_ids, crops, prof, p.consistency)
    log.info("markers: %s", {k: sum(len(x) for x in e.values()) for k, e in events.items()})
    return Markers(series, cl, radar, events, cons, p)
