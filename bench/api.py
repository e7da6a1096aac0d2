"""API benchmark: synthetic signatures via COPY, then a bounded loopback load on the real server.

    .venv/bin/python bench/api.py --parcels 500000 --images 34 --seconds 30 --clients 16 --cold

1. Creates database ``cbm_bench_api`` in the project cluster (dropped first), a parcel set of
   ``--parcels`` 40 m squares (EPSG:32631), ``--images`` S2 images (6 bands) and one signature
   row per parcel x image with random stats, written with binary COPY, one image at a time as
   the extraction does (``backend.db.signatures.encode_signatures``).
   Band-rows = parcels x images x 6 (500 000 x 34 = 102 M). Prints the table size on disk.
2. Times the time-series SQL alone (warm, psycopg, p50).
3. Starts ``cbm serve --workers N`` (uvloop, httptools, one access-log line per request,
   default settings but the rate limit; its log goes to ``var/bench/api-server/serve.log``) on
   a free loopback port and runs ``--clients`` concurrent keep-alive HTTP/1.1 clients (a
   minimal asyncio client, so that the load generator costs little CPU on the same cores) for
   ``--seconds`` per endpoint; prints p50/p95/p99 latency and throughput for parcelByLocation
   and parcelTimeSeries, the CPU per request of the server processes (uvicorn workers), of
   their PostgreSQL backends and of the load generator itself (from ``/proc``: robust to a
   busy machine, unlike throughput and latency), the load average, and the spread of requests
   per connection: the clients connect at once, and ``cbm serve`` hands each connection to the
   least busy worker (with uvicorn's shared socket one worker could take 15 of the 16, which
   showed as a large max/min and a long tail).
   Then the chip endpoint: ``chipsByLocation`` (one 256 x 256 true-colour PNG, from local COGs
   of a synthetic scene, ``bench/chips.py``), followed by the download of the PNG from its
   signed URL as the JRC client does; timed together, at new locations (rendered from the
   COGs) and at repeated ones (chip cache), with ``--chip-clients`` clients (default 2, one per
   core: the render time, not the queue, is the target).
4. ``--cold``: evicts the bench database's files from the OS page cache (``CHECKPOINT``, then
   ``posix_fadvise(DONTNEED)`` on each relation file; the rest of the machine's cache is left
   alone) and loads parcels not requested before, so most reads come from disk. PostgreSQL's
   own ``shared_buffers`` stay warm: emptying them needs a restart of the shared cluster.

``--layout clustered`` (default) then rewrites the signatures in parcel order, as ``cbm db
cluster-signatures`` does after an extraction campaign (also on a ``--reuse``d database not yet
clustered); ``--layout extraction`` keeps the order the rows were written in (one heap page per
image for each parcel's series), as right after an extraction.

``--reuse`` keeps the database of a previous run (same ``--parcels``); ``--only`` picks endpoints.
The chip server state (cache of rendered chips) is a fresh directory per run.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from benchdb import bench_database
from chips import CRS as CHIP_CRS
from chips import locations, make_scene
from pyproj import Transformer
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from procs import free_port, running

from backend.db import connect
from backend.db.signatures import COLUMNS, encode_signatures
from backend.parcels.sets import ParcelSetKey, resolve_set
from backend.settings import DEMO_ADMIN_PASSWORD

DB = "cbm_bench_api"
X0, Y0, STEP, SIZE = 500_000.0, 5_800_000.0, 50.0, 40.0
BANDS = ["B02", "B03", "B04", "B05", "B08", "B11"]
ENDPOINTS = ("location", "ts", "band", "chip")
# --serving variants (bench/serve_variant.py): /query routing, worker supervisor
VARIANTS = {"cbm-serve": ("lean", "cbm"), "stock-routing": ("stock", "cbm"),
            "uvicorn-workers": ("lean", "uvicorn"), "stock": ("stock", "uvicorn")}
CHIP_DATE, CHIP_SIDE = "2024-06-15", 4096  # the bench S2 images start in 2025: this date has the scene only
Results = dict[tuple[str, str], list[tuple[float, float, float]]]  # (endpoint, variant) -> rounds
SERVER_DIR = Path(__file__).resolve().parent.parent / "var" / "bench" / "api-server"


def setup(s: object, n_parcels: int, n_images: int) -> None:
    """Fill the fresh bench database: parcels, images, signatures."""
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


def _copy_signatures(s: object, set_id: int, n: int, image_ids: list[int]) -> None:
    """One COPY per image (in one transaction), as the extraction writes them."""
    rng = np.random.default_rng(1)
    ids = np.arange(1, n + 1, dtype=np.int32)
    hist = np.zeros((n, 12), np.int32)
    hist[:, 4] = 16
    n_total, valid = np.full(n, 16, np.int32), np.ones(n, np.float32)
    sql = f"COPY signatures ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"
    t = time.perf_counter()
    with connect(s) as conn:  # type: ignore[arg-type]
        for image_id in tqdm(image_ids, desc="COPY signatures", unit="image"):
            stats = rng.random((n, len(BANDS), 8), dtype=np.float32) * 3000
            stats[:, :, 0] = 16
            with conn.cursor().copy(sql) as cp:
                cp.write(encode_signatures(set_id, image_id, ids, n_total, valid, stats, hist))
        conn.commit()
        copied = time.perf_counter() - t
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE signatures")
        conn.execute("ANALYZE")  # parcels, images (autovacuum skips tables under 50 rows)
    rows = n * len(image_ids)
    print(f"signatures: {rows:,} rows = {rows * len(BANDS):,} band-rows; COPY {copied:.0f} s "
          f"({rows * len(BANDS) / copied / 1e6:.2f} M band-rows/s), with VACUUM ANALYZE "
          f"{time.perf_counter() - t:.0f} s")


def cluster(s: object) -> None:
    """Cluster the bench set's signatures by parcel unless done already."""
    with connect(s, autocommit=True) as conn:  # type: ignore[arg-type]
        done = conn.execute("SELECT bool_or(x.indisclustered) AS c FROM pg_index x JOIN pg_inherits i "
                            "ON i.inhrelid = x.indrelid WHERE i.inhparent = 'signatures'::regclass"
                            ).fetchone()["c"]
    if done:
        print("signatures already clustered by parcel")
        return
    from backend.extraction.maintenance import cluster_signatures

    print(cluster_signatures(s, "bench", 2025))  # type: ignore[arg-type]


def table_size(s: object) -> None:
    """Print the on-disk size of the signatures partitions (heap, indexes, TOAST) per band-row."""
    with connect(s, autocommit=True) as conn:  # type: ignore[arg-type]
        row = conn.execute("""
            SELECT sum(pg_relation_size(c.oid))::float8 AS heap, sum(pg_indexes_size(c.oid))::float8 AS idx,
                   sum(pg_total_relation_size(c.oid))::float8 AS total, sum(c.reltuples)::bigint AS nrows
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'signatures'::regclass""").fetchone()
        band_rows = n_rows = max(int(row["nrows"] or 0), 1)
        band_rows *= len(BANDS)
    gib = 2.0**30
    print(f"signatures on disk: {row['total'] / gib:.2f} GiB = heap {row['heap'] / gib:.2f} + indexes "
          f"{row['idx'] / gib:.2f} + TOAST {(row['total'] - row['heap'] - row['idx']) / gib:.2f} GiB; "
          f"{n_rows:,} rows, {band_rows:,} band-rows, {row['total'] / band_rows:.1f} bytes per band-row")


def evict_os_cache(s: object) -> None:
    """Drop the bench database's files from the OS page cache (only them: the machine is shared).

    ``CHECKPOINT`` first writes dirty pages, which ``POSIX_FADV_DONTNEED`` could not drop.
    PostgreSQL's ``shared_buffers`` are not touched (that needs a restart of the cluster).
    """
    with connect(s, autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute("CHECKPOINT")
        data_dir = Path(conn.execute("SHOW data_directory").fetchone()["data_directory"])
        oid = conn.execute("SELECT oid FROM pg_database WHERE datname = current_database()").fetchone()["oid"]
    db_dir = data_dir / "base" / str(oid)  # the default tablespace: the bench creates no other
    n_files = n_bytes = 0
    for path in db_dir.iterdir():
        if not path.is_file():
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            n_files, n_bytes = n_files + 1, n_bytes + os.fstat(fd).st_size
        finally:
            os.close(fd)
    print(f"OS page cache dropped for {n_files} files ({n_bytes / 2**30:.2f} GiB) of {db_dir}; "
          "shared_buffers stay warm")


def sql_timing(s: object, n: int) -> None:
    from datetime import UTC, datetime

    from backend.db import queries_series as q

    lo, hi = datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)
    with connect(s, autocommit=True) as conn:  # type: ignore[arg-type]
        set_id = resolve_set(conn, ParcelSetKey("bench", 2025))["id"]
        for _ in range(200):
            q.series(conn, set_id, f"P{random.randint(1, n)}", "s2", lo, hi)
        times = []
        for _ in range(2000):
            t = time.perf_counter()
            q.series(conn, set_id, f"P{random.randint(1, n)}", "s2", lo, hi)
            times.append(time.perf_counter() - t)
    print(f"time-series SQL + fetch (psycopg, warm, one connection): p50 {np.median(times) * 1000:.3f} ms, "
          f"p99 {np.percentile(times, 99) * 1000:.3f} ms")


@contextlib.contextmanager
def serving(s: object, workers: int, variant: str = "cbm-serve") -> Iterator[tuple[subprocess.Popen, int]]:
    """``cbm serve`` (or a ``--serving`` variant) on a free loopback port, its log in
    ``SERVER_DIR/serve.log``, chip cache there."""
    port = free_port()
    shutil.rmtree(SERVER_DIR, ignore_errors=True)
    SERVER_DIR.mkdir(parents=True)
    env = {**os.environ, "CBM_DEMO_MODE": "true", "CBM_DATABASE_URL": s.database_url.get_secret_value(),  # type: ignore[attr-defined]
           "CBM_VAR_DIR": str(SERVER_DIR), "CBM_API_RATE_PER_MINUTE": str(10**9),
           "CBM_API_RATE_BURST": str(10**9)}
    cbm = str(Path(sys.executable).with_name("cbm"))
    cmd = [cbm, "serve", "--port", str(port), "--workers", str(workers)]
    if variant != "cbm-serve":
        routing, supervisor = VARIANTS[variant]
        cmd = [sys.executable, str(Path(__file__).with_name("serve_variant.py")), "--port", str(port),
               "--workers", str(workers), "--routing", routing, "--supervisor", supervisor]
    with running(cmd, f"http://127.0.0.1:{port}/health", variant, env=env, log=SERVER_DIR / "serve.log",
                 grace_s=10) as proc:
        yield proc, port


def add_chip_scene(s: object) -> None:
    """Register the synthetic COG scene of ``bench/chips.py`` (built once) as an S2 image on CHIP_DATE."""
    image = make_scene(CHIP_SIDE)
    x0, y0 = (image["item"]["assets"]["B02"]["proj:transform"][i] for i in (2, 5))
    xs, ys = [x0, x0 + CHIP_SIDE * 10], [y0 - CHIP_SIDE * 10, y0]
    lon, lat = Transformer.from_crs(CHIP_CRS, "EPSG:4326", always_xy=True).transform(
        [xs[0], xs[1], xs[1], xs[0]], [ys[0], ys[0], ys[1], ys[1]])
    with connect(s, autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute("""
            INSERT INTO images (item_id, collection, kind, datetime, footprint, epsg, bands, item, item_hash)
            VALUES (%s, 'bench-chips', 's2', %s, ST_Multi(ST_SetSRID(ST_Envelope(ST_MakeLine(ARRAY[
                    ST_MakePoint(%s, %s), ST_MakePoint(%s, %s)])), 4326)), 32631, %s, %s, 'bench')
            ON CONFLICT (collection, item_id) DO UPDATE SET item = EXCLUDED.item""",
            (image["item_id"], f"{CHIP_DATE}T10:30:00+00:00", min(lon), min(lat), max(lon), max(lat),
             list(image["item"]["assets"]), json.dumps(image["item"])))


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str,
               auth: str) -> tuple[bytes, bytes]:
    """One keep-alive GET: the response head and body."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: b\r\nAuthorization: Basic {auth}\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    return head, await reader.readexactly(length)


async def _client(port: int, paths: list[str], stop_at: float, lat: list[float], errors: list[int]) -> int:
    """One keep-alive connection sending requests until ``stop_at``; returns how many it sent.

    A ``chipsByLocation`` answer is followed by the download of each chip from its signed URL,
    on the same connection, timed with it (what a client waits for before it can show a chip).
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = 0
    auth = base64.b64encode(f"admin:{DEMO_ADMIN_PASSWORD}".encode()).decode()
    while time.perf_counter() < stop_at:
        path = random.choice(paths)
        t = time.perf_counter()
        head, body = await _get(reader, writer, path, auth)
        ok = head.startswith(b"HTTP/1.1 200")
        if ok and path.startswith("/query/chipsByLocation"):
            found = json.loads(body)
            ok = len(found) == 1
            for chip in found:
                head, body = await _get(reader, writer, chip["url"], auth)
                ok = ok and head.startswith(b"HTTP/1.1 200") and body.startswith(b"\x89PNG")
        lat.append(time.perf_counter() - t)
        n += 1
        if not ok:
            errors.append(1)
    writer.close()
    return n


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
         pids: Callable[[], tuple[list[int], list[int]]] = lambda: ([], []),
         warmup: bool = True) -> tuple[float, float, float]:
    """Warm up 2 s (unless ``warmup`` is false), then ``clients`` keep-alive clients for ``seconds``.

    Prints latency percentiles, throughput, and CPU per request of the server, its PostgreSQL
    backends and this process (the load generator), and the 1-minute load average.

    Returns:
        Requests per second, p50 and p99 latency in ms.
    """
    async def run(until: float, urls: list[str], lat: list[float], errors: list[int]) -> list[int]:
        return await asyncio.gather(*[_client(port, urls, until, lat, errors) for _ in range(clients)])

    lat: list[float] = []
    errors: list[int] = []
    if warmup:
        asyncio.run(run(time.perf_counter() + 2, paths[:50], [], []))
    server, postgres = pids()  # after the warm-up, when the pools have grown
    before = _cpu_seconds(server), _cpu_seconds(postgres), time.process_time()
    spread = sorted(asyncio.run(run(time.perf_counter() + seconds, paths, lat, errors)))
    n = max(len(lat), 1) / 1000
    cpu = [(_cpu_seconds(server) - before[0]) / n, (_cpu_seconds(postgres) - before[1]) / n,
           (time.process_time() - before[2]) / n]
    ms = np.array(lat) * 1000
    print(f"{name:22s} {clients} clients {seconds:.0f} s: {len(ms) / seconds:6.0f} req/s  p50 "
          f"{np.percentile(ms, 50):6.2f}  p95 {np.percentile(ms, 95):6.2f}  "
          f"p99 {np.percentile(ms, 99):6.2f} ms  "
          f"failed: {len(errors)}  CPU ms/request: server {cpu[0]:.2f}, postgres {cpu[1]:.2f}, "
          f"load generator {cpu[2]:.2f}  (load avg {os.getloadavg()[0]:.2f}); requests per connection "
          f"min {spread[0]} median {spread[len(spread) // 2]} max {spread[-1]}",
          flush=True)
    return len(ms) / seconds, float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def _paths(n_parcels: int, width: int, ids: np.ndarray) -> dict[str, tuple[str, list[str]]]:
    """Request paths of each endpoint for these parcel ids (a point inside each parcel)."""
    to_wgs = Transformer.from_crs("EPSG:32631", "EPSG:4326", always_xy=True)
    cx = X0 + ((ids - 1) % width) * STEP + SIZE / 2
    cy = Y0 - ((ids - 1) // width) * STEP - SIZE / 2
    lon, lat = to_wgs.transform(cx, cy)
    loc = [f"/query/parcelByLocation?aoi=bench&year=2025&lon={x:.7f}&lat={y:.7f}"
           for x, y in zip(lon, lat, strict=True)]
    ts = [f"/query/parcelTimeSeries?aoi=bench&year=2025&pid=P{i}&tstype=s2" for i in ids]
    return {"location": ("parcelByLocation", loc), "ts": ("parcelTimeSeries", ts),
            "band": ("ts band=B08", [p + "&band=B08" for p in ts])}


def _chip_paths(points: list[tuple[float, float]]) -> list[str]:
    """``chipsByLocation`` requests of one 256 x 256 true-colour PNG (the scene's date only)."""
    return [f"/query/chipsByLocation?lon={x:.7f}&lat={y:.7f}&start_date={CHIP_DATE}&end_date={CHIP_DATE}"
            f"&chipsize=256&band=truecolor&lut=5_95" for x, y in points]


def chip_load(port: int, clients: int, seconds: float,
              pids: Callable[[], tuple[list[int], list[int]]]) -> None:
    """Chips at new locations (rendered from the COGs), then at locations already served (cache)."""
    points = locations(CHIP_SIDE, 20_000, 256)
    fresh = _chip_paths(points[50:])
    random.shuffle(fresh)  # each client takes a random new location: (almost) never one served before
    load(port, "chip 256 px (render)", fresh, clients, seconds, pids)
    load(port, "chip 256 px (cached)", _chip_paths(points[:50]), clients, seconds, pids)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parcels", type=int, default=200_000)
    ap.add_argument("--images", type=int, default=73)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chip-clients", type=int, default=2, help="Concurrent clients for the chip endpoint.")
    ap.add_argument("--reuse", action="store_true", help="Keep the existing bench database.")
    ap.add_argument("--layout", choices=["clustered", "extraction"], default="clustered",
                    help="Signatures in parcel order (after cbm db cluster-signatures) or as extracted.")
    ap.add_argument("--cold", action="store_true",
                    help="Also load after dropping the bench database's files from the OS page cache.")
    ap.add_argument("--seed", type=int, default=2,
                    help="Picks the parcels requested (another seed: other parcels, cold for --cold).")
    ap.add_argument("--only", nargs="*", choices=list(ENDPOINTS), default=list(ENDPOINTS),
                    help="Endpoints to load (default: all three).")
    ap.add_argument("--serving", nargs="+", choices=list(VARIANTS), default=["cbm-serve"],
                    help="Servers to load one after the other (bench/serve_variant.py); chips and "
                         "--cold only on the first.")
    ap.add_argument("--rounds", type=int, default=1, help="Times the --serving variants are loaded in turn.")
    a = ap.parse_args()
    with bench_database(DB, reuse=a.reuse, keep=True, api_rate_per_minute=10**9, api_rate_burst=10**9) as s:
        if not a.reuse:
            setup(s, a.parcels, a.images)
        if a.layout == "clustered":
            cluster(s)
        if "chip" in a.only:
            add_chip_scene(s)
        table_size(s)
        sql_timing(s, a.parcels)
        rng = np.random.default_rng(a.seed)
        width = int(np.ceil(np.sqrt(a.parcels)))
        warm = _paths(a.parcels, width, rng.integers(1, a.parcels + 1, 5000))
        results = run_variants(s, a, width, rng, warm)
    if len(a.serving) > 1:
        summary(results, a.serving, a.clients)


def run_variants(s: object, a: argparse.Namespace, width: int, rng: np.random.Generator,
                 warm: dict[str, tuple[str, list[str]]]) -> Results:
    """Each ``--serving`` variant in turn, ``--rounds`` times; (endpoint, variant) -> results."""
    results: Results = {}
    for round_ in range(a.rounds):
        for i, variant in enumerate(a.serving):
            first = round_ == 0 and i == 0
            print(f"--- {variant} (routing, supervisor: {', '.join(VARIANTS[variant])}), "
                  f"{a.workers} workers, round {round_ + 1}", flush=True)
            with serving(s, a.workers, variant) as (proc, port):
                pids = lambda proc=proc: (_tree(proc.pid), _postgres_pids(s))  # noqa: E731
                for key in a.only:
                    if key == "chip":
                        if first:
                            chip_load(port, a.chip_clients, a.seconds, pids)
                        continue
                    results.setdefault((key, variant), []).append(
                        load(port, *warm[key], a.clients, a.seconds, pids))
                if first and a.cold:
                    cold_load(s, a, width, rng, warm, port, pids)
    return results


def cold_load(s: object, a: argparse.Namespace, width: int, rng: np.random.Generator,
              warm: dict[str, tuple[str, list[str]]], port: int,
              pids: Callable[[], tuple[list[int], list[int]]]) -> None:
    """Parcels not requested so far, each about once, after evicting the OS cache."""
    fresh = rng.permutation(np.setdiff1d(np.arange(1, a.parcels + 1), _ids(warm)))
    cold = _paths(a.parcels, width, fresh[:200_000])
    for key in (k for k in a.only if k != "chip"):
        evict_os_cache(s)
        name, paths = cold[key]
        load(port, f"{name} (cold OS cache)", paths, a.clients, a.seconds, pids, warmup=False)


def summary(results: Results, variants: list[str], clients: int) -> None:
    """Median over rounds per endpoint and variant, as ratios to the first variant, and the targets."""
    print(f"\nside by side (median of rounds; targets at {clients} clients: >= 1000 req/s, p99 <= 20 ms; "
          f"load avg {os.getloadavg()[0]:.2f})")
    for key in sorted({k for k, _ in results}):
        base = np.median([r[0] for r in results[(key, variants[0])]])
        for v in variants:
            rps, p50, p99 = (float(np.median(col)) for col in zip(*results[(key, v)], strict=True))
            met = "meets" if rps >= 1000 and p99 <= 20 else "misses"
            print(f"  {key:9s} {v:16s} {rps:6.0f} req/s ({rps / base:4.2f}x {variants[0]})  p50 {p50:6.2f}  "
                  f"p99 {p99:6.2f} ms  {met} the targets")


def _ids(paths: dict[str, tuple[str, list[str]]]) -> np.ndarray:
    return np.array([int(p.rsplit("pid=P", 1)[1].split("&")[0]) for p in paths["ts"][1]])


if __name__ == "__main__":
    main()
