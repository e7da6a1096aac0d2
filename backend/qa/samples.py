"""Draw and read QA samples (stored with their design, versions and inclusion probabilities)."""

from __future__ import annotations

import secrets
from typing import Any

import numpy as np

from backend.db import queries_qa as q
from backend.errors import NotFound
from backend.parcels.sets import ParcelSetKey, resolve_set
from backend.qa.sampling import SampleSpec, condition_size, design_record, draw, stratum_labels
from backend.reviews.service import run_of

_COLOUR_LETTERS = np.array([b"g", b"r", b"y"], dtype="S1")
_COLOUR_NAMES = ("green", "red", "yellow")
DEMO_AOI = "demo"  # backend.demo.pipeline.DEMO_AOI: the synthetic demo area


def versions(conn: q.Conn, run_id: int) -> dict[str, Any]:
    """Catalogue, rule and marker versions in force in a marker run."""
    info = q.run_info(conn, run_id)
    params = info["params"] or {}
    return {"marker_run": run_id, "scheme": info["scheme"], "catalogue_version": info["catalogue_version"],
            "catalogue_sha256": params.get("catalogue_sha256"), "rule_version": params.get("rule_version"),
            "markers": params.get("versions"), "signatures_sha256": params.get("signatures_sha256")}


def _check_conditions(counts: dict[str, int], wanted: tuple[str, ...], key: ParcelSetKey, run: int) -> None:
    unknown = [c for c in wanted if c not in counts]
    if unknown:
        raise NotFound(f"condition(s) {', '.join(map(repr, unknown))} have no decisions in {key.aoi} "
                       f"{key.year} (marker run {run}); known: {', '.join(counts) or 'none'}")


def draw_sample(conn: q.Conn, key: ParcelSetKey, spec: SampleSpec,
                created_by: str | None = None) -> dict[str, Any]:
    """Draw and store a new sample over the decisions of the set's latest marker run.

    Raises:
        ParcelSetNotFound, NotFound: no such set, no decisions, unknown condition.
        InvalidInput: a size larger than a condition's population or a precision that needs a census.
    """
    set_id, run = run_of(conn, key)
    conditions = sorted(set(spec.conditions))
    frame = q.frame(conn, run, set_id, conditions, crop_group="crop_group" in spec.strata)
    if len(frame) < len(conditions):
        _check_conditions(q.condition_counts(conn, run, set_id), spec.conditions, key, run)
    seed = spec.seed if spec.seed is not None else secrets.randbits(63)
    rng = np.random.Generator(np.random.PCG64(seed))
    per_condition: dict[str, Any] = {}
    units: list[tuple[int, str, str, str, float]] = []
    for row in frame:
        cond = row["condition"]
        ids, colour, colour_counts = _unpack(row)
        n = condition_size(spec, cond, ids.size)
        groups = colour if row["groups"] is None else np.asarray(row["groups"].split("\x1f"), dtype=object)
        labels = stratum_labels(colour, groups, spec.strata)
        idx, prob, strata = draw(rng, labels, n, spec)
        per_condition[cond] = {"N": int(ids.size), "n": n, "strata": strata, "colours": colour_counts}
        units.extend((int(i), cond, str(lab), str(c), float(p))
                     for i, lab, c, p in zip(ids[idx], labels[idx], colour[idx], prob, strict=True))
    design = {**design_record(spec, seed), "conditions": per_condition, "frame": {
        "aoi": key.aoi, "year": key.year, "ptype": key.ptype,
        "n_decisions": sum(c["N"] for c in per_condition.values())},
        "versions": versions(conn, run), "synthetic": key.aoi == DEMO_AOI}
    sid = q.insert_sample(conn, set_id, run, conditions, seed, design, created_by, units)
    return {"id": sid, "run_id": run, "seed": seed, "design": design, "n_units": len(units)}


def _unpack(row: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """Parcel ids (int64), colour names (object) and colour counts of one condition's packed frame row."""
    ids = np.frombuffer(bytes(row["ids"]), dtype=">i4").astype(np.int64)
    codes = np.searchsorted(_COLOUR_LETTERS, np.frombuffer(row["colours"].encode("ascii"), dtype="S1"))
    counts = np.bincount(codes, minlength=len(_COLOUR_NAMES))
    return (ids, np.asarray(_COLOUR_NAMES, dtype=object)[codes],
            {c: int(k) for c, k in zip(_COLOUR_NAMES, counts, strict=True) if k})


def sample_of(conn: q.Conn, key: ParcelSetKey, sample_id: int) -> dict[str, Any]:
    """A sample of this set.

    Raises:
        NotFound: no such sample in this set (a sample of another set is not found either).
    """
    row = q.sample(conn, sample_id)
    if row is None or (row["aoi"], row["year"], row["ptype"]) != (key.aoi, key.year, key.ptype):
        raise NotFound(f"no QA sample {sample_id} for {key.aoi} {key.year}: list them with "
                       "GET /sets/{aoi}/{year}/qa/samples or `cbm qa list`")
    return row


def list_samples(conn: q.Conn, key: ParcelSetKey) -> list[dict[str, Any]]:
    """Samples of a set, oldest first (id, run, conditions, seed, sizes, inspected count)."""
    set_id = int(resolve_set(conn, key)["id"])
    return [{"id": r["id"], "run_id": r["run_id"], "conditions": r["conditions"], "seed": r["seed"],
             "method": r["design"]["method"], "strata_by": r["design"]["strata_by"],
             "n_units": int(r["n_units"]), "n_inspected": int(r["n_inspected"]),
             "created_by": r["created_by"], "created_at": r["created_at"]} for r in q.samples(conn, set_id)]
