"""Cold-cache time-series reads: signatures in extraction order vs clustered by parcel.

    .venv/bin/python bench/series_layout.py [--parcels 50000] [--images 73] [--reads 300]

Extraction writes one image's rows at a time, so one parcel's series is spread over one heap
page per image; ``cbm db cluster-signatures`` rewrites a set's partition in (parcel, image)
order so that a series sits on a few pages. This bench starts a PostgreSQL cluster of its own
(own directory under var/ and own port, so the project's cluster is not disturbed), fills two
parcel sets with the same synthetic S2 signatures (6 bands) through binary COPY, clusters the
second with the same function the command uses, then restarts the server and drops the OS page
cache (root only) before each round of reads of random parcels' series, alternating sets.
Prints p50/p95 latency per layout, cold and warm, and the heap pages holding one series.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from procs import free_port

from backend.db import cluster, connect, queries_parcels
from backend.db.migrate import migrate
from backend.db.signatures import COLUMNS, encode_signatures
from backend.settings import PROJECT_ROOT, load_settings

BANDS = ["B02", "B03", "B04", "B05", "B08", "B11"]
SERIES = ("SELECT g.stats FROM signatures g JOIN images i ON i.id = g.image_id "
          "WHERE g.set_id = %s AND g.parcel_id = %s AND i.kind = 's2' ORDER BY i.datetime")



def _fill(conn, n: int, n_images: int) -> list[int]:
    sets = []
    for name in ("extraction_order", "clustered"):
        sid = conn.execute("INSERT INTO parcel_sets (aoi, year, srid, ptype) "
                           "VALUES ('bench', 2025, 32631, %s) RETURNING id", (name,)).fetchone()["id"]
        conn.execute("SELECT cbm_create_signature_partition(%s)", (sid,))
        sets.append(sid)
    images = [conn.execute(
        "INSERT INTO images (item_id, collection, kind, datetime, footprint, bands, item, item_hash) "
        "VALUES (%s, 'bench', 's2', timestamptz '2025-01-01' + %s * interval '5 days', "
        "ST_Multi(ST_MakeEnvelope(0,0,1,1,4326)), %s, '{}', 'h') RETURNING id",
        (f"s2_{k}", k, BANDS)).fetchone()["id"] for k in range(n_images)]
    conn.commit()
    rng = np.random.default_rng(0)
    for image_id in images:
        stats = rng.normal(1000, 300, (n, len(BANDS), 8)).astype(np.float32)
        hist = rng.integers(0, 300, (n, 12))
        for sid in sets:
            payload = encode_signatures(sid, image_id, np.arange(1, n + 1), np.full(n, 100), np.ones(n),
                                        stats, hist)
            with conn.cursor() as cur, cur.copy(f"COPY signatures ({', '.join(COLUMNS)}) FROM STDIN "
                                                "(FORMAT BINARY)") as cp:
                cp.write(payload)
        conn.commit()
    return sets


def _drop_os_cache() -> bool:
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def _reads(settings, set_id: int, pids: list[int]) -> tuple[list[float], float]:
    times = []
    with connect(settings) as conn:
        for pid in pids:
            t0 = time.perf_counter()
            conn.execute(SERIES, (set_id, pid)).fetchall()
            times.append((time.perf_counter() - t0) * 1000)
        pages = conn.execute(f"SELECT avg(n) AS n FROM (SELECT count(DISTINCT (ctid::text::point)[0]) AS n "
                             f"FROM signatures_s{set_id} WHERE parcel_id = ANY(%s) GROUP BY parcel_id) x",
                             (pids,)).fetchone()["n"]
    return times, float(pages)


def _fmt(times: list[float]) -> str:
    q = statistics.quantiles(times, n=20)
    return f"p50 {statistics.median(times):6.2f} ms  p95 {q[18]:6.2f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--parcels", type=int, default=50_000)
    ap.add_argument("--images", type=int, default=73)
    ap.add_argument("--reads", type=int, default=300)
    args = ap.parse_args()
    var = PROJECT_ROOT / "var" / "bench-clusters" / uuid.uuid4().hex[:8]
    var.mkdir(parents=True)
    s = load_settings(demo_mode=True, var_dir=var, pg_port=free_port())
    try:
        cluster.start(s)
        with connect(s) as conn:
            migrate(conn)
            conn.autocommit = False
            t0 = time.perf_counter()
            sets = _fill(conn, args.parcels, args.images)
            fill_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            queries_parcels.cluster_signatures(conn, sets[1])
            conn.commit()
            cluster_s = time.perf_counter() - t0
            size = conn.execute("SELECT pg_total_relation_size(%s::regclass) AS b",
                                (f"signatures_s{sets[1]}",)).fetchone()["b"]
        rows = args.parcels * args.images
        print(f"{args.parcels} parcels x {args.images} S2 images = {rows / 1e6:.1f} M rows "
              f"({rows * len(BANDS) / 1e6:.0f} M band-rows) per set, {size / 2**30:.2f} GiB per set; "
              f"fill {fill_s:.0f} s for both, cluster-signatures {cluster_s:.0f} s")
        rng = np.random.default_rng(1)
        results: dict[tuple[str, str], list[float]] = {}
        pages: dict[str, float] = {}
        for state in ("cold", "warm"):
            for name, sid in zip(("extraction order", "clustered"), sets, strict=True):
                pids = [int(p) for p in rng.integers(1, args.parcels + 1, args.reads)]
                if state == "cold":
                    cluster.stop(s)
                    dropped = _drop_os_cache()
                    cluster.start(s)
                else:
                    _reads(s, sid, pids)  # the same parcels again, now cached
                results[(state, name)], pages[name] = _reads(s, sid, pids)
        cache = "dropped" if dropped else "NOT dropped (not root)"
        print(f"one parcel's series (SQL only, {args.reads} random parcels, sequential; OS cache "
              f"{cache} and server restarted before each cold round)")
        for (state, name), times in results.items():
            print(f"  {state:4s} {name:16s} {_fmt(times)}  ({pages[name]:.1f} heap pages per series)")
        for state in ("cold", "warm"):
            a, b = (statistics.median(results[(state, n)]) for n in ("extraction order", "clustered"))
            print(f"  {state}: extraction order / clustered p50 = {a / b:.1f}x")
    finally:
        try:
            cluster.stop(s)
        finally:
            shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    main()
