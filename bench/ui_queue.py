"""Review queue pages over 100 000+ decisions, through the real API, in a temporary database.

Used by ``bench/ui.py`` (one column of its table); on its own:

    .venv/bin/python bench/ui_queue.py --parcels 100000

Creates a temporary database next to the project's (``backend.db.temporary_database``), fills
it in SQL with ``--parcels`` parcels (5 crops x 20 varieties, areas 0.1-9 ha) and two
conditions per parcel (``2 x parcels`` decisions: 75 % green, 12.5 % yellow, 12.5 % red, a
confidence each), starts the API (``uvicorn backend.api.app:app_from_env``) on it, and times,
over HTTP as the dashboards ask them, the first page (which builds the queue from the new
decisions), then ``--repeat`` times each page of :data:`PAGES`: every sort, each filter, a page
deep in the list, and the previous/next parcel.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from procs import free_port, running  # noqa: E402

from backend.accounts import add_user  # noqa: E402
from backend.db import connect, temporary_database  # noqa: E402
from backend.settings import load_settings  # noqa: E402

USER, PASSWORD = "bench", "bench-queue-password"
TARGET_S = 0.3
PAGES: dict[str, dict[str, object]] = {
    "worst first": {},
    "by confidence": {"sort": "confidence"},
    "by area, desc": {"sort": "area", "order": "desc"},
    "by crop name": {"sort": "crop"},
    "unreviewed first": {"sort": "reviewed"},
    "red of a condition": {"condition": "mown_once", "colour": "red"},
    "crop name part": {"crop": "maize"},
    "not reviewed": {"reviewed": "false", "sort": "confidence"},
    "page 1 000 (offset)": {"offset": 49_950},
    "with outlines (map)": {"geometry": "true"},
}
FILL = """
WITH s AS (INSERT INTO parcel_sets (aoi, year, srid, n_parcels) VALUES ('bench', 2025, 4326, %(n)s)
           RETURNING id)
INSERT INTO parcels (set_id, id, pid, cropcode, cropname, area_m2, geom)
SELECT s.id, g, 'B' || lpad(g::text, 7, '0'), (g %% 100)::text,
       (ARRAY['Wheat', 'Maize', 'Barley', 'Grassland', 'Sugar beet'])[1 + g %% 5] || ' ' || (g %% 20),
       1000 + (g * 7919) %% 89000,
       ST_Multi(ST_MakeEnvelope(5 + (g %% 500) * 0.001, 52 + (g / 500) * 0.001,
                                5.0008 + (g %% 500) * 0.001, 52.0008 + (g / 500) * 0.001, 4326))
FROM s, generate_series(1, %(n)s) g;
WITH r AS (INSERT INTO marker_runs (set_id, scheme, finished_at)
           SELECT id, 'bench', now() FROM parcel_sets WHERE aoi = 'bench' RETURNING id, set_id)
INSERT INTO decisions (run_id, set_id, parcel_id, condition, colour, reason, evidence, rule_version)
SELECT r.id, r.set_id, g, c,
       (ARRAY['green', 'green', 'green', 'green', 'green', 'green', 'yellow', 'red'])[1 + (g * 31 + k) %% 8],
       'bench', jsonb_build_object('features',
                                   jsonb_build_object('longest_confidence', ((g * 13) %% 100) / 100.0)),
       'bench-1'
FROM r, generate_series(1, %(n)s) g,
     unnest(ARRAY['mown_once', 'no_long_bare_soil']) WITH ORDINALITY AS u(c, k);
ANALYZE parcels; ANALYZE decisions;
"""


@contextmanager
def queue_api(parcels: int) -> Iterator[tuple[str, float]]:
    """The API over a temporary database with ``parcels`` parcels and twice as many decisions.

    Yields:
        The API's base URL and the seconds the fill took.
    """
    base = load_settings(demo_mode=True)
    with temporary_database(base, "cbm_bench_queue") as tmp:
        t0 = time.perf_counter()
        with connect(tmp, autocommit=True) as conn:
            for statement in filter(str.strip, FILL.split(";")):
                conn.execute(statement, {"n": parcels} if "%(n)s" in statement else None)
            add_user(conn, USER, PASSWORD, "admin")
        fill_s = time.perf_counter() - t0
        port = free_port()
        env = {**os.environ, "CBM_DATABASE_URL": _secret(tmp.database_url), "CBM_DEMO_MODE": "true",
               "CBM_API_RATE_PER_MINUTE": str(10**9), "CBM_API_RATE_BURST": str(10**9)}
        command = [sys.executable, "-m", "uvicorn", "backend.api.app:app_from_env", "--factory", "--host",
                   "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"]
        url = f"http://127.0.0.1:{port}"
        with running(command, f"{url}/health", "API", env=env, cwd=ROOT, quiet=True, timeout_s=90,
                     grace_s=15):
            yield url, fill_s


def _secret(value: object) -> str:
    return value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)


def measure(url: str, repeat: int) -> dict[str, list[float]]:
    """Seconds per request: ``build`` (first page: the queue built), each of :data:`PAGES`, ``next``."""
    out: dict[str, list[float]] = {}
    with httpx.Client(base_url=url, auth=(USER, PASSWORD), timeout=120) as http:
        get = functools.partial(_timed, http)
        first, page = get("/sets/bench/2025/queue", {})
        out["first page (builds the queue)"] = [first]
        for label, params in PAGES.items():
            out[label] = [get("/sets/bench/2025/queue", params)[0] for _ in range(repeat)]
        middle = min(30_000, int(page["total"]) // 2)  # a parcel deep in the list (small --parcels too)
        body = get("/sets/bench/2025/queue", {"offset": middle, "limit": 1})[1]
        pid = body["rows"][0]["pid"]
        out["previous / next parcel"] = [get("/sets/bench/2025/queue/neighbours", {"pid": pid})[0]
                                         for _ in range(repeat)]
        out["_total"] = [float(body["total"])]
    return out


def _timed(http: httpx.Client, path: str, params: dict[str, object]) -> tuple[float, dict]:
    t0 = time.perf_counter()
    response = http.get(path, params=params)
    elapsed = time.perf_counter() - t0
    response.raise_for_status()
    return elapsed, response.json()


def p95(values: list[float]) -> float:
    """The 95th percentile (the largest value below 20 samples)."""
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


def report(times: dict[str, list[float]], parcels: int, fill_s: float) -> None:
    print(f"\nreview queue: {parcels:,} parcels, {2 * parcels:,} decisions (filled in {fill_s:.1f} s); "
          f"ms per page of 50, target <= {TARGET_S * 1000:.0f} ms")
    for label, values in times.items():
        if label.startswith("_"):
            continue
        print(f"  {label:<32} p50 {statistics.median(values) * 1000:6.1f}  p95 {p95(values) * 1000:6.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parcels", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    with queue_api(args.parcels) as (url, fill_s):
        times = measure(url, args.repeat)
    report(times, args.parcels, fill_s)


if __name__ == "__main__":
    main()
