"""Helpers of the analyst notebooks (``notebooks/*.ipynb``): settings, area overview, marker lab.

Small functions over the backend so that each notebook step is a line or two. They read the
database directly (analysts may; dashboards go through the API). Verdicts on decisions are in
:mod:`backend.markers.reviews`. The demo data these notebooks start from is SYNTHETIC.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backend.db import connect
from backend.db import queries_analysis as qa
from backend.db import queries_markers as qm
from backend.errors import InvalidInput
from backend.markers.conditions import Catalogue, Condition
from backend.markers.decisions import decide
from backend.markers.pipeline import MarkerParams, Markers, compute_markers
from backend.markers.scoring import EventScore, score_events
from backend.markers.seasonal import restrict_events
from backend.markers.series import SeriesSet, load
from backend.parcels.sets import ParcelSetKey, resolve_set
from backend.settings import PROJECT_ROOT, Settings, load_settings

# which MarkerParams field holds a marker's thresholds, and which true event it is scored against
PARAM_FIELD = {"mowing": "mowing", "bare_soil": "tillage", "ploughing": "tillage", "harvest": "tillage",
               "crop_consistency": "consistency", "clean": "clean"}
TRUE_EVENT = {"mowing": "mowing", "bare_soil": "bare_soil_start", "ploughing": "ploughing",
              "harvest": "harvest"}
MIN_VALID = 0.5
"""Valid-pixel fraction from which an S2 observation counts as clear in the overview."""


# ---------------------------------------------------------------------------- notebook plumbing
def notebook_settings(database_url: str | None = None,
                      overrides: Mapping[str, Any] | None = None) -> Settings:
    """Backend settings of a notebook: the project's (``CBM_*`` / ``.env``), optionally another database."""
    extra = dict(overrides or {})
    if database_url:
        extra["database_url"] = database_url
    return load_settings(**extra)


def project_path(path: str | Path) -> Path:
    """A path as given, or relative to the project root."""
    p = Path(path)
    return p if p.is_absolute() else PROJECT_ROOT / p


def save_result(path: str | Path | None, doc: Mapping[str, Any]) -> None:
    """Write a notebook's key results as JSON (for papermill runs and tests); no-op without a path."""
    if path:
        Path(path).write_text(json.dumps(doc, indent=1, default=str, sort_keys=True) + "\n", encoding="utf-8")


def set_id(conn: qm.Conn, aoi: str, year: int) -> int:
    """Id of the parcel set ``aoi``/``year``.

    Raises:
        ParcelSetNotFound: no such set.
    """
    return int(resolve_set(conn, ParcelSetKey(aoi, year))["id"])


# ---------------------------------------------------------------------------- area overview
def area_overview(settings: Settings, aoi: str, year: int) -> dict[str, pd.DataFrame]:
    """Tables of a parcel set: ``crops`` and ``months``.

    ``crops``: parcels and area per declared crop. ``months``: images, parcel observations, mean
    valid-pixel fraction and usable observations per image kind and month.
    """
    with connect(settings) as conn:
        sid = set_id(conn, aoi, year)
        crops = qa.crops(conn, sid)
        months = qa.observations_per_month(conn, sid)
    return {"crops": pd.DataFrame(crops, columns=["cropcode", "cropname", "parcels", "area_ha"]),
            "months": pd.DataFrame(months, columns=["kind", "month", "images", "observations",
                                                    "mean_valid_frac", "usable"])}


def colour_ramp(value: float, lo: float = 0.0, hi: float = 1.0) -> str:
    """Hex colour from red (``lo``) through yellow to green (``hi``); grey for NaN."""
    if not np.isfinite(value):
        return "#9e9e9e"
    t = float(np.clip((value - lo) / (hi - lo) if hi > lo else 1.0, 0.0, 1.0))
    red, green = (255, int(510 * t)) if t < 0.5 else (int(510 * (1 - t)), 200)
    return f"#{red:02x}{green:02x}40"


def parcel_layer(settings: Settings, aoi: str, year: int, stat: str = "mean_valid_frac") -> dict[str, Any]:
    """The parcels as a WGS84 GeoJSON FeatureCollection with their S2 statistics.

    Each feature has a ``style`` coloured by ``stat`` (``mean_valid_frac``, ``s2_observations`` or
    ``s2_clear``) from red (low) to green (high), ready for ``ipyleaflet.GeoJSON``.
    """
    if stat not in ("mean_valid_frac", "s2_observations", "s2_clear"):
        raise InvalidInput("stat must be mean_valid_frac, s2_observations or s2_clear")
    with connect(settings) as conn:
        rows = qa.parcel_layer(conn, set_id(conn, aoi, year), MIN_VALID)
    values = np.array([float(r[stat]) for r in rows]) if rows else np.zeros(0)
    hi = 1.0 if stat == "mean_valid_frac" else float(values.max(initial=1.0))
    features = []
    for r, v in zip(rows, values, strict=True):
        props = {k: r[k] for k in ("pid", "cropcode", "cropname", "s2_observations", "s2_clear",
                                   "mean_valid_frac")}
        style = {"color": "#333333", "weight": 1, "fillColor": colour_ramp(v, 0.0, hi), "fillOpacity": 0.8}
        features.append({"type": "Feature", "id": r["pid"], "properties": props | {"style": style},
                          "geometry": json.loads(r["geometry"])})
    return {"type": "FeatureCollection", "features": features}


# ---------------------------------------------------------------------------- marker lab
@dataclass(frozen=True)
class Sample:
    """A sample of a parcel set: the whole set's series and parcels, and the sampled rows.

    Markers are computed over the whole set, as the system computes them (the S1 area-wide
    change correction uses every parcel's same-date change), and scored on the sampled rows.
    """

    series: SeriesSet
    parcels: list[dict[str, Any]]
    rows: np.ndarray  # the sampled rows, ascending
    groups: dict[str, str]  # crop code -> group of the set's crop table (catalogues naming groups)

    @property
    def pids(self) -> list[str]:
        """Agency ids of the sampled parcels."""
        return [str(self.parcels[r]["pid"]) for r in self.rows]

    @property
    def crops(self) -> np.ndarray:
        """Declared crop code per row of the whole set."""
        return np.array([str(p["cropcode"]) for p in self.parcels], object)

    def catalogue(self, cat: Catalogue) -> Catalogue:
        """The catalogue with its crop groups resolved by the set's crop table."""
        return cat.with_crop_groups(self.groups, "the sampled set")


def set_markers(sample: Sample, cat: Catalogue, params: MarkerParams | None = None) -> Markers:
    """The markers of the whole set as ``cbm markers run`` computes them (event rules applied)."""
    crops = sample.crops
    return restrict_events(compute_markers(sample.series, crops, params), sample.catalogue(cat), crops)


def load_sample(settings: Settings, aoi: str, year: int, size: int, seed: int = 0) -> Sample:
    """A reproducible random sample of ``size`` parcels (all if the set is smaller), in id order."""
    with connect(settings) as conn:
        sid = set_id(conn, aoi, year)
        parcels = qm.parcels(conn, sid)
        series = load(conn, sid, year)
        groups = qm.crop_groups(conn, sid)
    n = len(parcels)
    rows = np.sort(np.random.default_rng(seed).choice(n, size=min(size, n), replace=False))
    return Sample(series, parcels, rows, groups)


def with_thresholds(marker: str, changes: Mapping[str, Any],
                    base: MarkerParams | None = None) -> MarkerParams:
    """Marker parameters with some thresholds of ``marker`` changed.

    Raises:
        InvalidInput: unknown marker or threshold name (the message lists the valid ones).
    """
    if marker not in PARAM_FIELD:
        raise InvalidInput(f"unknown marker {marker!r}: one of {', '.join(PARAM_FIELD)}")
    base = base or MarkerParams()
    group = getattr(base, PARAM_FIELD[marker])
    names = {f.name for f in fields(group)}
    unknown = sorted(set(changes) - names)
    if unknown:
        raise InvalidInput(f"unknown {marker} thresholds {unknown}: valid are {', '.join(sorted(names))}")
    return replace(base, **{PARAM_FIELD[marker]: replace(group, **dict(changes))})


def load_truth(path: str | Path) -> dict[str, dict[str, Any]]:
    """Parcels of a demo ground truth (``ground_truth.json``) by pid; refuses non-synthetic files."""
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    if not doc.get("synthetic"):
        raise InvalidInput(f"{path} is not the ground truth of a synthetic demo area")
    return {str(p["pid"]): p for p in doc["parcels"]}


def _doy(iso: str, year: int) -> int:
    return (date.fromisoformat(iso) - date(year, 1, 1)).days


def truth_days(truth: Mapping[str, dict[str, Any]], marker: str, year: int,
               pids: Sequence[str]) -> dict[str, list[int]]:
    """True event days (day of year from 0) of ``marker`` for the given parcels."""
    kind = TRUE_EVENT[marker]
    return {pid: [_doy(e["date"], year) for e in truth[pid]["events"] if e["type"] == kind]
            for pid in pids if pid in truth}


def detected_days(m: Markers, pids: Sequence[str], marker: str) -> dict[str, list[int]]:
    """Detected event days of ``marker`` per pid (rows of ``m`` in the order of ``pids``).

    Bare-soil periods count by their start, except those already running on 1 January.
    """
    out = {}
    for row, pid in enumerate(pids):
        events = m.of(marker, row)
        out[pid] = [e.day for e in events if marker != "bare_soil" or e.start > 0]
    return out


def score_marker(m: Markers, sample: Sample, truth: Mapping[str, dict[str, Any]], marker: str,
                 tol: int = 6) -> EventScore:
    """Precision, recall, F1 and date errors of ``marker`` on the sample's parcels found in the truth."""
    pids = [p for p in sample.pids if p in truth]
    every = [str(p["pid"]) for p in sample.parcels]  # rows of m: the whole set
    detected = {p: d for p, d in detected_days(m, every, marker).items() if p in pids}
    return score_events(detected, truth_days(truth, marker, m.series.year, pids), tol)


def complies(cond: Condition, record: dict[str, Any], year: int) -> bool:
    """Whether a parcel truly meets a condition, according to its ground-truth record."""
    if cond.rule == "crop_consistency":
        return not record["crop_wrong"]
    assert cond.window is not None
    lo, hi = (d.toordinal() - date(year, 1, 1).toordinal() for d in cond.window)
    days = sorted(((e["type"], _doy(e["date"], year)) for e in record["events"]), key=lambda e: e[1])
    if cond.rule == "event_count":
        return sum(t == cond.marker and lo <= d <= hi for t, d in days) >= cond.min_count
    longest, start = 0, None
    for t, d in [*days, ("bare_soil_end", 365)]:
        if t == "bare_soil_start":
            start = d
        elif t == "bare_soil_end" and start is not None:
            longest, start = max(longest, min(d - 1, hi) - max(start, lo) + 1), None
    return longest <= cond.max_days


def decision_changes(cat: Catalogue, marker: str, before: Markers, after: Markers, sample: Sample,
                     truth: Mapping[str, dict[str, Any]] | None = None) -> pd.DataFrame:
    """Decisions of the conditions that use ``marker``, with the default and the changed thresholds.

    Columns: ``pid condition before after changed reason_before reason_after`` and, with a
    ground truth, ``complies`` (what the parcel truly did).
    """
    cat = sample.catalogue(cat)
    conds = {c.id: c for c in cat.conditions if c.marker == marker}
    pid_of = {int(p["id"]): str(p["pid"]) for p in sample.parcels}
    sampled = set(sample.pids)
    rows = []
    for b, a in zip(decide(cat, before, sample.parcels), decide(cat, after, sample.parcels), strict=True):
        if b.condition not in conds or pid_of[b.parcel_id] not in sampled:
            continue
        pid = pid_of[b.parcel_id]
        row = {"pid": pid, "condition": b.condition, "before": b.colour, "after": a.colour,
               "changed": b.colour != a.colour, "reason_before": b.reason, "reason_after": a.reason}
        if truth is not None and pid in truth:
            row["complies"] = complies(conds[b.condition], truth[pid], before.series.year)
        rows.append(row)
    return pd.DataFrame(rows, columns=["pid", "condition", "before", "after", "changed", "reason_before",
                                       "reason_after", *(["complies"] if truth is not None else [])])
