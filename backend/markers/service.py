"""``run_markers``: signatures -> markers -> decisions in the database; ``explain`` a parcel."""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backend.db import connect
from backend.db import queries_markers as q
from backend.errors import InvalidInput
from backend.markers.conditions import Catalogue
from backend.markers.conditions_yaml import load_catalogue
from backend.markers.decisions import RULE_VERSION, Decision, decide
from backend.markers.events import r3
from backend.markers.pipeline import EVENT_MARKERS, VERSIONS, MarkerParams, Markers, compute_markers
from backend.markers.seasonal import restrict_events
from backend.markers.series import load
from backend.parcels.sets import ParcelSetKey, resolve_set
from backend.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunReport:
    """What a marker run did."""

    run_id: int
    n_parcels: int
    n_results: int
    colours: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0
    input_hash: str = ""


def _result_rows(run_id: int, set_id: int, m: Markers) -> list[tuple[Any, ...]]:
    from backend.markers.decisions import dumps

    s = m.series
    rows: list[tuple[Any, ...]] = []
    for marker in EVENT_MARKERS:
        for row, events in sorted(m.events[marker].items()):
            for seq, e in enumerate(events):
                ev = e.evidence | {"day": e.day, "source": e.source}
                value = float(e.length) if marker == "bare_soil" else None
                rows.append((run_id, set_id, int(s.parcel_ids[row]), marker, seq, VERSIONS[marker],
                             s.day_to_date(e.start), s.day_to_date(e.end), value, e.confidence, dumps(ev)))
    c = m.consistency
    for row, pid in enumerate(s.parcel_ids):
        if np.isfinite(c.score[row]):
            ev = {"distance_declared": r3(c.d_own[row]), "distance_nearest_other": r3(c.d_other[row]),
                  "nearest_other_crop": str(c.nearest[row]), "n_peers": int(c.n_peers[row])}
            rows.append((run_id, set_id, int(pid), "crop_consistency", 0, VERSIONS["crop_consistency"],
                         None, None, r3(c.score[row]), None, dumps(ev)))
    return rows


def _decision_rows(run_id: int, set_id: int, decisions: list[Decision]) -> list[tuple[Any, ...]]:
    return [(run_id, set_id, d.parcel_id, d.condition, d.colour, d.reason, d.evidence_json(), RULE_VERSION)
            for d in decisions]


def evaluate(conn: q.Conn, set_id: int, year: int, cat: Catalogue,
             params: MarkerParams | None = None) -> tuple[Markers, list[Decision], list[dict[str, Any]]]:
    """Load the series, compute the markers and decide (nothing written)."""
    cat = cat.with_crop_groups(q.crop_groups(conn, set_id), f"parcel set {set_id} ({year})")
    parcels = q.parcels(conn, set_id)
    series = load(conn, set_id, year)
    crops = np.array([str(p["cropcode"]) for p in parcels], object)
    markers = restrict_events(compute_markers(series, crops, params), cat, crops)
    if cat.weather is not None:
        markers = _with_weather(conn, set_id, cat, markers)
    return markers, decide(cat, markers, parcels), parcels


def _with_weather(conn: q.Conn, set_id: int, cat: Catalogue, markers: Markers) -> Markers:
    """S1 events at rain or frost flagged (catalogue ``weather``); unchanged without weather data."""
    from backend.markers.weather import flag_weather, load_weather

    assert cat.weather is not None
    w = load_weather(conn, set_id, markers.series.parcel_ids, markers.series.year)
    if w is None:
        log.warning("catalogue %s has a weather rule but parcel set %s has no weather: import it with "
                    "`cbm import weather`; events are not checked against rain or frost", cat.source, set_id)
        return markers
    return flag_weather(markers, cat.weather, w)


def run_markers(settings: Settings, *, aoi: str, year: int, catalogue: str | Path | Catalogue,
                started_by: str | None = None, params: MarkerParams | None = None) -> RunReport:
    """Compute markers and decisions of a parcel set and store them as a new run.

    Raises:
        ParcelSetNotFound: no parcel set for ``aoi`` and ``year``.
        InvalidInput: the catalogue is invalid or for another year.
    """
    t0 = time.perf_counter()
    cat = catalogue if isinstance(catalogue, Catalogue) else load_catalogue(catalogue)
    if cat.year != year:
        raise InvalidInput(f"catalogue {cat.source} is for {cat.year}, not {year}")
    with connect(settings) as conn:
        st = resolve_set(conn, ParcelSetKey(aoi, year))
        markers, decisions, _ = evaluate(conn, st["id"], year, cat, params)
        p = markers.params
        run_params = {"versions": VERSIONS, "thresholds": p.to_json(), "catalogue_sha256": cat.sha256,
                      "signatures_sha256": markers.series.input_hash, "rule_version": RULE_VERSION}
        run_id = q.insert_run(conn, st["id"], scheme=cat.scheme, catalogue_version=cat.version,
                              params=run_params, started_by=started_by)
        results = _result_rows(run_id, st["id"], markers)
        q.copy_results(conn, results)
        q.copy_decisions(conn, _decision_rows(run_id, st["id"], decisions))
        q.finish_run(conn, run_id)
    colours: dict[str, Counter[str]] = {}
    for d in decisions:
        colours.setdefault(d.condition, Counter())[d.colour] += 1
    report = RunReport(run_id, int(markers.series.parcel_ids.size), len(results),
                       {k: dict(sorted(v.items())) for k, v in colours.items()},
                       time.perf_counter() - t0, markers.series.input_hash)
    log.info("marker run %d: %d parcels, %d results, %s in %.1f s", run_id, report.n_parcels,
             report.n_results, report.colours, report.seconds)
    return report
