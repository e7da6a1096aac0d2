"""QA speed (issue 25): sample over 500 000 decisions (target <= 5 s), report of 1 000 inspected (<= 30 s).

Builds a throw-away database with one parcel set of N parcels and one marker run (one condition,
colours 80 % green / 10 % yellow / 10 % red, three crop groups), then times side by side:

* ``draw_sample`` (SRS and stratified by colour and crop group, stored with its units) against
  the bare SQL ``ORDER BY random() LIMIT n`` over the same decisions (nothing stored);
* 1 000 inspections stored, ``measure`` + the stored HTML report, and the PDF;
* the blind check every decision route runs (``queries_qa._OPEN_UNITS``, ``backend/api/blind.py``)
  for a user without assignment, for the inspector of the stratified sample with every unit open,
  and once all are inspected, beside a bare ``SELECT 1`` round trip (p50 of 200).

    .venv/bin/python bench/qa.py [--parcels 500000] [--size 1000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import date

from psycopg.types.json import Jsonb

from backend.db import cluster, connect, queries_qa, temporary_database
from backend.parcels.sets import ParcelSetKey
from backend.qa import report
from backend.qa.samples import draw_sample
from backend.qa.sampling import SampleSpec
from backend.settings import load_settings


def build(conn, n: int) -> ParcelSetKey:
    """One set of ``n`` parcels with one run of decisions for condition ``mown``."""
    set_id = conn.execute("INSERT INTO parcel_sets (aoi, year, srid, n_parcels) "
                          "VALUES ('bq', 2025, 32631, %s) RETURNING id", (n,)).fetchone()["id"]
    conn.execute(
        "INSERT INTO parcels (set_id, id, pid, cropcode, area_m2, geom) SELECT %s, g, 'P' || g, "
        "(ARRAY['233', '265', '259'])[1 + g %% 3], 10000, "
        "ST_Multi(ST_MakeEnvelope(g, 0, g + 1, 1, 32631)) FROM generate_series(1, %s) g", (set_id, n))
    run = conn.execute("INSERT INTO marker_runs (set_id, scheme, catalogue_version, params) "
                       "VALUES (%s, 'bench', 'b1', %s) RETURNING id",
                       (set_id, Jsonb({"rule_version": "r1", "versions": {"mowing": "m1"}}))).fetchone()["id"]
    conn.execute(
        "INSERT INTO decisions (run_id, set_id, parcel_id, condition, colour, reason, rule_version) "
        "SELECT %s, %s, g, 'mown', CASE WHEN g %% 10 = 0 THEN 'red' WHEN g %% 10 = 1 THEN 'yellow' "
        "ELSE 'green' END, 'bench', 'r1' FROM generate_series(1, %s) g", (run, set_id, n))
    conn.commit()
    return ParcelSetKey("bq", 2025)


def timed(label: str, fn):
    """Run ``fn`` once, print and return (seconds, result)."""
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    print(f"  {label:<48} {dt:7.2f} s")
    return dt, out


def inspect_all(conn, sample_id: int) -> None:
    """Store one inspection per unit: about 5 % of green and 30 % of red decisions wrong."""
    rnd = random.Random(1)
    rows = []
    for u in queries_qa.units(conn, sample_id):
        wrong = rnd.random() < {"green": 0.05, "red": 0.3, "yellow": 0.5}[u["colour"]]
        truth = ("not_compliant" if u["colour"] == "green" else "compliant") if wrong else (
            "compliant" if u["colour"] == "green" else "not_compliant")
        rows.append({"parcel_id": u["parcel_id"], "condition": u["condition"], "truth": truth,
                     "method": "vhr_image", "inspector": "bench", "inspected_on": date(2025, 8, 1),
                     "comment": "", "recorded_by": "bench"})
    queries_qa.insert_inspections(conn, sample_id, rows)


def blind_check(conn, sample_id: int, pid: str) -> dict[str, float]:
    """p50 ms of the blind check: no assignment, ``pid`` open, another pid (every unit open)."""
    def p50(sql: str, params: dict) -> float:
        xs = []
        for _ in range(200):
            t0 = time.perf_counter()
            conn.execute(sql, params).fetchall()
            xs.append(time.perf_counter() - t0)
        return statistics.median(xs) * 1e3

    uid = conn.execute("INSERT INTO users (username, password_hash, role) VALUES ('bench-inspector', "
                       "'-', 'consumer') RETURNING id").fetchone()["id"]
    queries_qa.assign(conn, sample_id, [uid], "bench")
    conn.commit()
    args = {"aoi": "bq", "year": 2025, "ptype": ""}
    return {"SELECT 1": p50("SELECT 1", {}),
            "no assignment": p50(queries_qa._OPEN_UNITS, {**args, "user": uid + 1, "pid": pid}),
            "sampled pid, all open": p50(queries_qa._OPEN_UNITS, {**args, "user": uid, "pid": pid}),
            "other pid, all open": p50(queries_qa._OPEN_UNITS, {**args, "user": uid, "pid": "none"})}


def blind_check_after(conn, pid: str) -> float:
    """p50 ms of the inspector's blind check once every unit is inspected (nothing open)."""
    uid = conn.execute("SELECT id FROM users WHERE username = 'bench-inspector'").fetchone()["id"]
    xs = []
    for _ in range(200):
        t0 = time.perf_counter()
        conn.execute(queries_qa._OPEN_UNITS, {"aoi": "bq", "year": 2025, "ptype": "", "user": uid,
                                              "pid": pid}).fetchall()
        xs.append(time.perf_counter() - t0)
    return statistics.median(xs) * 1e3


def main() -> None:
    """Run the benchmark and print the timings with their ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=500_000)
    parser.add_argument("--size", type=int, default=1000)
    args = parser.parse_args()
    base = load_settings()
    if base.uses_embedded_db:
        cluster.start(base)
    with temporary_database(base, "cbm_bench_qa", var_dir=base.var_dir / "bench") as s, connect(s) as conn:
        t_build, key = timed(f"build {args.parcels} parcels + decisions", lambda: build(conn, args.parcels))
        t_sql, _ = timed(f"bare SQL ORDER BY random() LIMIT {args.size}", lambda: conn.execute(
            "SELECT parcel_id FROM decisions WHERE condition = 'mown' ORDER BY random() LIMIT %s",
            (args.size,)).fetchall())
        t_srs, _ = timed(f"draw_sample SRS n={args.size} (stored)", lambda: draw_sample(
            conn, key, SampleSpec(("mown",), size=args.size, seed=1)))
        t_str, strat = timed(f"draw_sample colour x crop group n={args.size}", lambda: draw_sample(
            conn, key, SampleSpec(("mown",), size=args.size, strata=("colour", "crop_group"), seed=1)))
        conn.commit()
        pid = queries_qa.units(conn, strat["id"])[0]["pid"]
        blind = blind_check(conn, strat["id"], pid)
        timed(f"{args.size} inspections stored", lambda: inspect_all(conn, strat["id"]))
        blind["all inspected"] = blind_check_after(conn, pid)
        t_rep, built = timed(f"measure + HTML report of {args.size} inspected (stored)",
                             lambda: report.build(conn, key, strat["id"]))
        t_pdf, _ = timed("PDF of the report", lambda: report.to_pdf(built["html"]))
    print(f"\nsample over {args.parcels} decisions: SRS {t_srs:.2f} s = {t_srs / t_sql:.1f}x bare SQL, "
          f"stratified {t_str:.2f} s = {t_str / t_sql:.1f}x; target 5 s: {t_str / 5:.2f} of it")
    print(f"report of {args.size} inspected: HTML {t_rep:.2f} s, + PDF {t_pdf:.2f} s; "
          f"target 30 s: {(t_rep + t_pdf) / 30:.2f} of it (build took {t_build:.0f} s)")
    print("blind check per decision-route request (p50): " + ", ".join(
        f"{k} {v:.2f} ms ({v / blind['SELECT 1']:.1f}x SELECT 1)" for k, v in blind.items()))


if __name__ == "__main__":
    main()
