"""Decisions with evidence: one per parcel x applicable condition, replayable from the record."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from backend.markers.clean import REASONS
from backend.markers.conditions import Catalogue, Condition
from backend.markers.mowing import s1_hint_days
from backend.markers.pipeline import VERSIONS, Markers
from backend.markers.rules import consistency_features, event_features, judge, period_features, window_days

RULE_VERSION = "rules-2"


@dataclass(frozen=True)
class Decision:
    """The traffic light of one parcel for one condition."""

    parcel_id: int
    condition: str
    colour: str
    reason: str
    evidence: dict[str, Any]

    def evidence_json(self) -> str:
        """Canonical JSON of the evidence (sorted keys, no spaces): byte-stable across runs."""
        return dumps(self.evidence)


def dumps(doc: Any) -> str:
    """Canonical JSON text."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def condition_from_json(doc: dict[str, Any]) -> Condition:
    """Rebuild a condition from its evidence record (for replay)."""
    win = doc["window"]
    return Condition(id=doc["id"], title=doc["id"], rule=doc["rule"], marker=doc["marker"],
                     crops=tuple(doc["crops"]) if doc["crops"] is not None else None,
                     window=(date.fromisoformat(win[0]), date.fromisoformat(win[1])) if win else None,
                     min_count=doc["min_count"], max_days=doc["max_days"], green=doc["green"],
                     red=doc["red"], line=0, dry_cover=doc.get("dry_cover", "cover"))


def replay(evidence: dict[str, Any]) -> tuple[str, str]:
    """Colour and reason recomputed from an evidence record alone."""
    return judge(condition_from_json(evidence["condition"]), evidence["features"])


def _features(cond: Condition, m: Markers, row: int) -> dict[str, Any]:
    year = m.series.year
    if cond.rule == "event_count":
        hints = s1_hint_days(m.radar, row, m.params.mowing) if cond.marker == "mowing" else []
        return event_features(cond, m.of(cond.marker, row), m.clear_days(row), year, hints)
    if cond.rule == "max_period":
        return period_features(cond, m.of(cond.marker, row), m.clear_days(row), year)
    c = m.consistency
    return consistency_features(float(c.score[row]), float(c.d_own[row]), float(c.d_other[row]),
                                str(c.nearest[row]), int(c.n_peers[row]))


def _observations(cond: Condition, m: Markers, row: int) -> dict[str, Any]:
    lo, hi = window_days(cond, m.series.year)
    s2 = m.series.sensors["s2"]
    inside = (s2.days >= lo) & (s2.days <= hi)
    reasons = m.clean.reason[row]
    bs = m.series.sensors["bs"].days
    return {"s2_clear_days": [int(d) for d in s2.days[inside & (reasons == 0)]],
            "s2_masked": [[int(d), REASONS[int(r)]] for d, r in zip(s2.days[inside], reasons[inside],
                                                                     strict=True) if r != 0],
            "s1_dates": int(((bs >= lo) & (bs <= hi)).sum())}


def _thresholds(cond: Condition, m: Markers) -> dict[str, Any]:
    p = asdict(m.params)
    key = {"mowing": "mowing", "crop_consistency": "consistency"}.get(cond.marker, "tillage")
    return {"clean": p["clean"], cond.marker: p[key]}


def decide(cat: Catalogue, m: Markers, parcels: Sequence[dict[str, Any]]) -> list[Decision]:
    """Decide every applicable condition of the catalogue for every parcel.

    Args:
        cat: The condition catalogue.
        m: Markers of the set (rows in the order of ``parcels``).
        parcels: Parcel rows (``id``, ``cropcode``) in the order of ``m.series.parcel_ids``.
    """
    cat.check_resolved()
    head = {"name": cat.name, "scheme": cat.scheme, "version": cat.version, "sha256": cat.sha256}
    out = []
    for row, parcel in enumerate(parcels):
        for cond in cat.conditions:
            if not cond.applies(str(parcel["cropcode"])):
                continue
            feats = _features(cond, m, row)
            colour, reason = judge(cond, feats)
            evidence = {
                "catalogue": head, "condition": cond.to_json(), "features": feats,
                "rule_version": RULE_VERSION,
                "marker_versions": {k: VERSIONS[k] for k in ("indices", "clean", "s1", cond.marker)},
                "thresholds": _thresholds(cond, m), "observations": _observations(cond, m, row),
                "inputs": {"signatures_sha256": m.series.input_hash, "declared_crop": str(parcel["cropcode"]),
                           "year": m.series.year},
            }
            out.append(Decision(int(parcel["id"]), cond.id, colour, reason, evidence))
    return out
