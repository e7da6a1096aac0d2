"""API benchmark: synthetic signatures via COPY, then a bounded loopback load on the real server.

    .venv/bin/python bench/api.py --parcels 200000 --images 73 --seconds 30 --clients 16

1. Creates database ``cbm_bench_api`` in the project cluster (dropped first), a parcel set of
   ``--parcels`` 40 m squares (EPSG:32631), ``--images`` S2 images (6 bands) and one signature
   row per parcel x image with random stats, written with binary COPY
   (``backend.extraction.pgcopy.encode_signatures``). Band-rows = parcels x images x 6.
2. Times the time-series SQL alone (warm, psycopg, p50).
3. Starts ``uvicorn backend.api.app:app_from_env --workers N`` on a free loopback port and runs
   ``--clients`` concurrent keep-alive HTTP/1.1 clients (a minimal asyncio client, so that the
   load generator costs little CPU on the same 2 cores) for ``--seconds`` per endpoint; prints
   p50/p95/p99 latency and throughput for parcelByLocation and parcelTimeSeries, and the CPU
   the server processes (uvicorn workers) and their PostgreSQL backends spent per request (from
   ``/proc``; robust to a busy machine, unlike throughput and latency).

``--reuse`` keeps the database of a previous run (same ``--parcels``); ``--only`` picks endpoints.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pyproj import Transformer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.db import connect, database_url
from backend.extraction.pgcopy import COLUMNS, encode_signatures
from backend.settings import DEMO_ADMIN_PASSWORD, load_settings

DB = "cbm_bench_api"
X0, Y0, STEP, SIZE = 500_000.0, 5_800_000.0, 50.0, 40.0
BANDS = ["B02", "B03", "B04", "B05", "B08", "B11"]
ENDPOINTS = ("location", "ts", "band")


def setup(n_parcels: int, n_images: int) -> tuple[object, int]:
    base = load_settings(demo_mode=True)
    with connect(base, dbname="postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB}")
    s = load_settings(demo_mode=True, database_url=database_url(base, DB), api_rate_per_minute=10**9,
                      api_rate_burst=10**9, api_pool_max=8)
    from backend.db.migrate import migrate

    with connect(s) as conn:
        migrate(conn)
    width = int(np.ceil(np.sqrt(n_parcels)))
    t = time.perf_counter()
    with connect(s) as conn:
        set_id = conn.execute("INSERT INTO parcel_sets (aoi, year, srid, n_parcels) VALUES ('bench', 2025, "
                              "32631, %s) RETURNING id", (n_parcels,)).fetchone()["id"]
        conn.execute("SELECT cbm_create_signature_partition(%s)", (set_id,))
        conn.execute("""
            INSERT INTO parcels (set_id, id, pid, cropcode, cropname, area_m2, geom)
            SELECT %(s)s, i, 'P' || i, (i %% 7)::text, 'crop ' || (i %% 7), %(a)s,
                   ST_Multi(ST_MakeEnvelope(%(x0)s + ((i - 1) %% %(w)s) * %(st)s,
                        %(y0)s - ((i - 1) / %(w)s) * %(st)s - %(sz)s,
                        %(x0)s + ((i - 1) %% %(w)s) * %(st)s + %(sz)s,
                        %(y0)s - ((i - 1) / %(w)s) * %(st)s, 32631))
            FROM generate_series(1, %(n)s) i""",
            {"s": set_id, "a": SIZE * SIZE, "x0": X0, "y0": Y0, "w": width, "st": STEP, "sz": SIZE,
             "n": n_parcels})
        conn.execute("""
            INSERT INTO images (item_id, collection, kind, datetime, footprint, bands, item, item_hash)
            SELECT 'S2_BENCH_' || k, 'bench', 's2',
                   timestamptz '2025-01-01 10:30:00+00' + k * interval '5 days',
                   ST_Multi(ST_MakeEnvelope(0, 50, 10, 55, 4326)), %s, '{}', 'x'
            FROM generate_series(0, %s - 1) k""", (BANDS, n_images))
        image_ids = [r["id"] for r in conn.execute("SELECT id FROM images ORDER BY id").fetchall()]
    print(f"parcels + images: {time.perf_counter() - t:.1f} s")
    _copy_signatures(s, set_id, n_parcels, image_ids)
    return s, width


def _copy_signatures(s: object, set_id: int, n: int, image_ids: list[int]) -> None:
    rng = np.random.default_rng(1)
    ids = np.arange(1, n + 1, dtype=np.int32)
    t = time.perf_counter()
    with connect(s) as conn:  # type: ignore[arg-type]
        for image_id in image_ids:
            stats = rng.random((n, len(BANDS), 8), dtype=np.float32) * 3000
            stats[:, :, 0] = 16
            hist = np.zeros((n, 12), np.int32)
            hist[:, 4] = 16
            payload = encode_signatures(set_id, image_id, ids, np.full(n, 16, np.int32),
                                        np.ones(n, np.float32), stats, hist)
            sql = f"COPY signatures ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"
            with conn.cursor().copy(sql) as cp:
                cp.write(payload)
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE signatures")
        conn.execute("ANALYZE parcels")
        size = conn.execute("SELECT pg_total_relation_size(%s) AS b, pg_relation_size(%s) AS h",
                            (f"signatures_s{set_id}", f"signatures_s{set_id}")).fetchone()
    rows = n * len(image_ids)
    dt = time.perf_counter() - t
    print(f"signatures: {rows:,} rows = {rows * len(BANDS):,} band-rows in {dt:.1f} s "
          f"({rows / dt:,.0f} rows/s); table {size['h'] / 2**30:.2f} GiB, with indexes "
          f"{size['b'] / 2**30:.2f} GiB on disk")


def sql_timing(s: object, n: int) -> None:
    from datetime import UTC, datetime

    from backend.db import queries_api as q

    lo, hi = datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)
    with connect(s, autocommit=True) as conn:  # type: ignore[arg-type]
        set_id = q.parcel_set(conn, "bench", 2025, "")["id"]
        for _ in range(200):
            q.series(conn, set_id, f"P{random.randint(1, n)}", "s2", lo, hi)
        times = []
        for _ in range(2000):
            t = time.perf_counter()
            q.series(conn, set_id, f"P{random.randint(1, n)}", "s2", lo, hi)
            times.append(time.perf_counter() - t)
    print(f"time-series SQL + fetch (psycopg, warm, one connection): p50 {np.median(times) * 1000:.3f} ms, "
          f"p99 {np.percentile(times, 99) * 1000:.3f} ms")


def start_server(s: object, workers: int) -> tuple[subprocess.Popen, int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "CBM_DEMO_MODE": "true", "CBM_DATABASE_URL": s.database_url.get_secret_value(),  # type: ignore[attr-defined]
           "CBM_API_RATE_PER_MINUTE": str(10**9), "CBM_API_RATE_BURST": str(10**9), "CBM_API_POOL_MAX": "8"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "backend.api.app:app_from_env", "--factory",
                             "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                             "--no-access-log", "--log-level", "warning"], env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


async def _client(port: int, paths: list[str], stop_at: float, lat: list[float], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    auth = base64.b64encode(f"admin:{DEMO_ADMIN_PASSWORD}".encode()).decode()
    while time.perf_counter() < stop_at:
        path = random.choice(paths)
        t = time.perf_counter()
        writer.write(f"GET {path} HTTP/1.1\r\nHost: b\r\nAuthorization: Basic {auth}\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        lat.append(time.perf_counter() - t)
        if not head.startswith(b"HTTP/1.1 200"):
            errors.append(1)
    writer.close()


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (Linux ``/proc``; 0 elsewhere)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _tree(pid: int) -> list[int]:
    """A process and its descendants (Linux ``/proc``)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _postgres_pids(s: object) -> list[int]:
    with connect(s, autocommit=True) as conn:  # type: ignore[arg-type]
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                            (DB,)).fetchall()
    return [r["pid"] for r in rows]


def load(port: int, name: str, paths: list[str], clients: int, seconds: float,
         pids: Callable[[], tuple[list[int], list[int]]] = lambda: ([], [])) -> None:
    """Warm up 2 s, then ``clients`` keep-alive clients for ``seconds``; print latency and CPU."""
    async def run(until: float, urls: list[str], lat: list[float], errors: list[int]) -> None:
        await asyncio.gather(*[_client(port, urls, until, lat, errors) for _ in range(clients)])

    lat: list[float] = []
    errors: list[int] = []
    asyncio.run(run(time.perf_counter() + 2, paths[:50], [], []))
    server, postgres = pids()  # after the warm-up, when the pools have grown
    before = _cpu_seconds(server), _cpu_seconds(postgres)
    asyncio.run(run(time.perf_counter() + seconds, paths, lat, errors))
    n = max(len(lat), 1) / 1000
    cpu = (_cpu_seconds(server) - before[0]) / n, (_cpu_seconds(postgres) - before[1]) / n
    ms = np.array(lat) * 1000
    print(f"{name:18s} {clients} clients {seconds:.0f} s: {len(ms) / seconds:7.0f} req/s  p50 "
          f"{np.percentile(ms, 50):6.2f} ms  p95 {np.percentile(ms, 95):6.2f} ms  p99 "
          f"{np.percentile(ms, 99):6.2f} ms  non-200: {len(errors)}  CPU/request: server "
          f"{cpu[0]:.2f} ms, postgres {cpu[1]:.2f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parcels", type=int, default=200_000)
    ap.add_argument("--images", type=int, default=73)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--reuse", action="store_true", help="Keep the existing bench database.")
    ap.add_argument("--only", nargs="*", choices=list(ENDPOINTS), default=list(ENDPOINTS),
                    help="Endpoints to load (default: all three).")
    a = ap.parse_args()
    if a.reuse:
        base = load_settings(demo_mode=True)
        s = load_settings(demo_mode=True, database_url=database_url(base, DB))
        width = int(np.ceil(np.sqrt(a.parcels)))
    else:
        s, width = setup(a.parcels, a.images)
    sql_timing(s, a.parcels)
    proc, port = start_server(s, a.workers)
    try:
        to_wgs = Transformer.from_crs("EPSG:32631", "EPSG:4326", always_xy=True)
        ids = np.random.default_rng(2).integers(1, a.parcels + 1, 5000)
        cx = X0 + ((ids - 1) % width) * STEP + SIZE / 2
        cy = Y0 - ((ids - 1) // width) * STEP - SIZE / 2
        lon, lat = to_wgs.transform(cx, cy)
        loc = [f"/query/parcelByLocation?aoi=bench&year=2025&lon={x:.7f}&lat={y:.7f}"
               for x, y in zip(lon, lat, strict=True)]
        ts = [f"/query/parcelTimeSeries?aoi=bench&year=2025&pid=P{i}&tstype=s2" for i in ids]
        runs = {"location": ("parcelByLocation", loc), "ts": ("parcelTimeSeries", ts),
                "band": ("ts band=B08", [p + "&band=B08" for p in ts])}
        for key in a.only:
            load(port, *runs[key], a.clients, a.seconds, lambda: (_tree(proc.pid), _postgres_pids(s)))
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
