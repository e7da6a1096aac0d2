"""Draw and read QA samples (stored with their design, versions and inclusion probabilities)."""

from __future__ import annotations

import secrets
from typing import Any

import numpy as np

from backend.api.params import SetKey
from backend.api.services.query import resolve_set
from backend.db import queries_qa as q
from backend.db import queries_queue as qq
from backend.errors import NotFound
from backend.qa.sampling import SampleSpec, condition_size, design_record, draw, stratum_labels

DEMO_AOI = "demo"  # backend.demo.pipeline.DEMO_AOI: the synthetic demo area


def run_of(conn: q.Conn, key: SetKey) -> tuple[int, int]:
    """(set id, latest marker run with decisions) of a set.

    Raises:
        ParcelSetNotFound: no such set.
        NotFound: the set has no decisions yet.
    """
    set_id = int(resolve_set(conn, key)["id"])
    run = qq.latest_run(conn, set_id)
    if run is None:
        raise NotFound(f"no decisions for {key.aoi} {key.year} yet: run `cbm markers run` first")
    return set_id, run


def versions(conn: q.Conn, run_id: int) -> dict[str, Any]:
    """Catalogue, rule and marker versions in force in a marker run."""
    info = q.run_info(conn, run_id)
    params = info["params"] or {}
    return {"marker_run": run_id, "scheme": info["scheme"], "catalogue_version": info["catalogue_version"],
            "catalogue_sha256": params.get("catalogue_sha256"), "rule_version": params.get("rule_version"),
            "markers": params.get("versions"), "signatures_sha256": params.get("signatures_sha256")}


def _check_conditions(counts: dict[str, int], wanted: tuple[str, ...], key: SetKey, run: int) -> list[str]:
    unknown = [c for c in wanted if c not in counts]
    if unknown:
        raise NotFound(f"condition(s) {', '.join(map(repr, unknown))} have no decisions in {key.aoi} "
                       f"{key.year} (marker run {run}); known: {', '.join(counts) or 'none'}")
    return sorted(set(wanted))


def draw_sample(conn: q.Conn, key: SetKey, spec: SampleSpec, created_by: str | None = None) -> dict[str, Any]:
    """Draw and store a new sample over the decisions of the set's latest marker run.

    Raises:
        ParcelSetNotFound, NotFound: no such set, no decisions, unknown condition.
        InvalidInput: a size larger than a condition's population or a precision that needs a census.
    """
    set_id, run = run_of(conn, key)
    conditions = _check_conditions(q.condition_counts(conn, run, set_id), spec.conditions, key, run)
    seed = spec.seed if spec.seed is not None else secrets.randbits(63)
    rows = q.frame(conn, run, set_id, conditions)
    rng = np.random.Generator(np.random.PCG64(seed))
    per_condition: dict[str, Any] = {}
    units: list[tuple[int, str, str, str, float]] = []
    start = 0
    for cond in conditions:
        end = start
        while end < len(rows) and rows[end][0] == cond:
            end += 1
        part = rows[start:end]
        start = end
        n = condition_size(spec, cond, len(part))
        labels = stratum_labels([r[2] for r in part], [r[3] for r in part], spec.strata)
        idx, prob, strata = draw(rng, labels, n, spec)
        colours = _counts(r[2] for r in part)
        per_condition[cond] = {"N": len(part), "n": n, "strata": strata, "colours": colours}
        units.extend((int(part[i][1]), cond, labels[i], str(part[i][2]), float(p))
                     for i, p in zip(idx.tolist(), prob.tolist(), strict=True))
    design = {**design_record(spec, seed), "conditions": per_condition, "frame": {
        "aoi": key.aoi, "year": key.year, "ptype": key.ptype, "n_decisions": len(rows)},
        "versions": versions(conn, run), "synthetic": key.aoi == DEMO_AOI}
    sid = q.insert_sample(conn, set_id, run, conditions, seed, design, created_by, units)
    return {"id": sid, "run_id": run, "seed": seed, "design": design, "n_units": len(units)}


def _counts(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items()))


def sample_of(conn: q.Conn, key: SetKey, sample_id: int) -> dict[str, Any]:
    """A sample of this set.

    Raises:
        NotFound: no such sample in this set (a sample of another set is not found either).
    """
    row = q.sample(conn, sample_id)
    if row is None or (row["aoi"], row["year"], row["ptype"]) != (key.aoi, key.year, key.ptype):
        raise NotFound(f"no QA sample {sample_id} for {key.aoi} {key.year}: list them with "
                       "GET /sets/{aoi}/{year}/qa/samples or `cbm qa list`")
    return row


def list_samples(conn: q.Conn, key: SetKey) -> list[dict[str, Any]]:
    """Samples of a set, oldest first (id, run, conditions, seed, sizes, inspected count)."""
    set_id = int(resolve_set(conn, key)["id"])
    return [{"id": r["id"], "run_id": r["run_id"], "conditions": r["conditions"], "seed": r["seed"],
             "method": r["design"]["method"], "strata_by": r["design"]["strata_by"],
             "n_units": int(r["n_units"]), "n_inspected": int(r["n_inspected"]),
             "created_by": r["created_by"], "created_at": r["created_at"]} for r in q.samples(conn, set_id)]
