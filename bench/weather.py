"""Weather at country scale: grid import, linking 500 000 parcels, weatherTimeSeries under load.

    .venv/bin/python bench/weather.py [--parcels 500000] [--km 400] [--clients 16] [--seconds 20]

1. Creates database ``cbm_bench_weather`` in the project cluster (replaced; bench/benchdb.py) with two parcel
   sets over one ``--km`` x ``--km`` area (EPSG:32631): ``small`` (100 parcels) and ``country``
   (``--parcels`` 150 m squares on a regular grid, written with one INSERT ... generate_series).
2. Writes a SYNTHETIC country-year grid generated here: 0.1 degree cells over the area, 365 days,
   5 variables in AgERA5 names and units (precipitation, mean/min/max temperature in K, wind).
3. Imports it for ``small`` (the grid import itself: read, convert, store; target <= 60 s) and
   for ``country`` (the same plus linking every parcel to its cells by area share; target for
   the linking <= 30 s), printing wall and CPU time (this process; the linking runs in
   PostgreSQL, its backend's CPU from ``/proc``) per phase.
4. Serves the API (``cbm serve``, bench/api.py) and runs ``--clients`` keep-alive clients for
   ``--seconds`` on ``/query/weatherTimeSeries`` of random parcels: p50/p95/p99 (target p99
   <= 20 ms at 16 clients), throughput, CPU per request.
Bounded: about 3-6 minutes on the shared 2-core machine.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Transformer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import _cpu_seconds, _tree, load  # bench/api.py: the same load generator
from benchdb import bench_database
from procs import free_port, running  # tests/procs.py (bench/api.py puts tests/ on the path)

from backend.ancillary import import_weather
from backend.db import connect

DB = "cbm_bench_weather"
X0, Y0, SIDE = 300_000.0, 6_000_000.0, 150.0


def setup(s: object, n_parcels: int, km: float) -> None:
    """The ``small`` and ``country`` parcel sets in the fresh bench database."""
    t = time.perf_counter()
    for name, n in (("small", 100), ("country", n_parcels)):
        width = int(np.ceil(np.sqrt(n)))
        step = km * 1000 / width
        with connect(s) as conn:
            set_id = conn.execute("INSERT INTO parcel_sets (aoi, year, srid, n_parcels) VALUES (%s, 2025, "
                                  "32631, %s) RETURNING id", (name, n)).fetchone()["id"]  # type: ignore[index]
            conn.execute("""
                INSERT INTO parcels (set_id, id, pid, cropcode, area_m2, geom)
                SELECT %(s)s, i, 'P' || i, '1', %(a)s,
                       ST_Multi(ST_MakeEnvelope(%(x0)s + ((i - 1) %% %(w)s) * %(st)s,
                            %(y0)s - ((i - 1) / %(w)s) * %(st)s - %(sz)s,
                            %(x0)s + ((i - 1) %% %(w)s) * %(st)s + %(sz)s,
                            %(y0)s - ((i - 1) / %(w)s) * %(st)s, 32631))
                FROM generate_series(1, %(n)s) i""",
                {"s": set_id, "a": SIDE * SIDE, "x0": X0 + 1000, "y0": Y0 - 1000, "w": width, "st": step,
                 "sz": SIDE, "n": n})
    with connect(s, autocommit=True) as conn:
        conn.execute("ANALYZE parcels")
    print(f"parcel sets small (100) and country ({n_parcels}): {time.perf_counter() - t:.1f} s", flush=True)


def write_grid(path: Path, km: float) -> tuple[int, int]:
    """The SYNTHETIC 0.1-degree country-year grid over the area; returns (lat, lon) cells."""
    import dask
    import xarray as xr

    to_ll = Transformer.from_crs(32631, 4326, always_xy=True)
    lon0, lat0, lon1, lat1 = to_ll.transform_bounds(X0, Y0 - km * 1000, X0 + km * 1000, Y0, densify_pts=51)
    lons = np.arange(np.floor(lon0 * 10) / 10 - 0.05, lon1 + 0.1, 0.1).round(3)
    lats = np.arange(np.ceil(lat1 * 10) / 10 + 0.05, lat0 - 0.1, -0.1).round(3)
    rng = np.random.default_rng(24)
    shape = (365, len(lats), len(lons))
    t = (283 + 8 * np.sin(np.arange(365) * 2 * np.pi / 365))[:, None, None] + rng.normal(0, 2, shape)
    data = {"Precipitation_Flux": ("mm d-1", rng.gamma(0.6, 4, shape)),
            "Temperature_Air_2m_Mean_24h": ("K", t), "Temperature_Air_2m_Min_24h": ("K", t - 4),
            "Temperature_Air_2m_Max_24h": ("K", t + 5),
            "Wind_Speed_10m_Mean": ("m s-1", rng.gamma(3, 1.5, shape))}
    dims = ("time", "lat", "lon")
    ds = xr.Dataset({k: (dims, v.astype(np.float32), {"units": u}) for k, (u, v) in data.items()},
                    coords={"time": pd.date_range("2025-01-01", periods=365), "lat": ("lat", lats),
                            "lon": ("lon", lons)})
    ds.lat.attrs["units"], ds.lon.attrs["units"] = "degrees_north", "degrees_east"
    with dask.config.set(scheduler="synchronous"):
        ds.to_netcdf(path)
    return len(lats), len(lons)


@contextlib.contextmanager
def serving(s: object, workers: int) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``cbm serve`` on a free loopback port (up to 4 minutes to start on a busy machine)."""
    port = free_port()
    log = Path(tempfile.gettempdir()) / "cbm-bench-weather-serve.log"
    env = {**os.environ, "CBM_DEMO_MODE": "true", "CBM_DATABASE_URL": s.database_url.get_secret_value(),  # type: ignore[attr-defined]
           "CBM_API_RATE_PER_MINUTE": str(10**9), "CBM_API_RATE_BURST": str(10**9)}
    cmd = [str(Path(sys.executable).with_name("cbm")), "serve", "--port", str(port),
           "--workers", str(workers)]
    with running(cmd, f"http://127.0.0.1:{port}/health", "cbm serve", env=env, log=log, timeout_s=240,
                 grace_s=10) as proc:
        yield proc, port


def _backends(s: object) -> list[int]:
    with connect(s, autocommit=True) as conn:  # type: ignore[arg-type]
        return [r["pid"] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s "
                                               "AND pid <> pg_backend_pid()", (DB,)).fetchall()]


def timed_import(s: object, path: Path, aoi: str) -> dict[str, float]:
    """Import the grid for one set; wall and CPU per phase (this process and the PostgreSQL backends).

    Returns the import's wall seconds, its linking phase's and the PostgreSQL CPU seconds.
    """
    seen: dict[int, float] = {}  # the bench database's backends, sampled while the import runs
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            for pid in _bench_backends():
                seen[pid] = _cpu_seconds([pid])

    before = {pid: _cpu_seconds([pid]) for pid in _bench_backends()}
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    cpu0 = time.process_time()
    r = import_weather(s, path, aoi=aoi, year=2025)  # type: ignore[arg-type]
    cpu = time.process_time() - cpu0
    done.set()
    sampler.join()
    pg = sum(v - before.get(pid, 0.0) for pid, v in seen.items())
    ph = r.phases or {}
    print(f"import for {aoi:8s}: {r.seconds:6.1f} s wall (read {ph.get('read', 0):.1f}, link "
          f"{ph.get('link', 0):.1f}, store {ph.get('store', 0):.1f}); CPU this process {cpu:.1f} s, "
          f"PostgreSQL {pg:.1f} s; {r.n_cells} cells linked, {r.n_links} links "
          f"(load avg {os.getloadavg()[0]:.1f})", flush=True)
    return {"wall": r.seconds, "link": ph.get("link", 0.0), "pg": pg, "load": os.getloadavg()[0]}


def _bench_backends() -> list[int]:
    """PostgreSQL backends of the bench database (their process title names it)."""
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if DB in (p / "cmdline").read_bytes().decode(errors="replace"):
                    out.append(int(p.name))
            except OSError:
                pass
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parcels", type=int, default=500_000)
    ap.add_argument("--km", type=float, default=400.0)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--reuse", action="store_true", help="keep the database of a previous run (same "
                    "--parcels) and only measure the API")
    ap.add_argument("--keep", action="store_true", help="keep the database at the end (for --reuse)")
    a = ap.parse_args()
    with bench_database(DB, reuse=a.reuse, keep=a.keep, api_rate_per_minute=10**9, api_rate_burst=10**9) as s:
        imports = {} if a.reuse else _imported(s, a)
        paths = [f"/query/weatherTimeSeries?aoi=country&year=2025&pid=P{random.randint(1, a.parcels)}"
                 for _ in range(20_000)]
        with serving(s, a.workers) as (proc, port):
            rps, _, p99 = load(port, "weatherTimeSeries", paths, a.clients, a.seconds,
                               pids=lambda: (_tree(proc.pid), _backends(s)))
    summary(imports, a, p99, rps)


def _verdict(value: float, target: float) -> str:
    return "meets" if value <= target else "MISSES"


def summary(imports: dict[str, dict[str, float]], a: argparse.Namespace, p99: float, rps: float) -> None:
    """One line per target of issue 24, with the load average each was measured at."""
    print("\nsummary against the targets of issue 24 (shared machine: see the load averages):")
    if imports:
        grid, country = imports["small"], imports["country"]
        print(f"  grid import (365 days, 5 variables): {grid['wall']:.1f} s wall, target <= 60 s: "
              f"{_verdict(grid['wall'], 60)} (load {grid['load']:.1f})")
        print(f"  linking {a.parcels} parcels: {country['link']:.1f} s wall, target <= 30 s: "
              f"{_verdict(country['link'], 30)} (whole import {country['wall']:.1f} s, PostgreSQL CPU "
              f"{country['pg']:.1f} s; load {country['load']:.1f})")
    else:
        print("  grid import and linking: not measured (--reuse)")
    verdict = _verdict(p99, 20) if a.clients == 16 else "not comparable (the target is at 16 clients)"
    print(f"  weatherTimeSeries at {a.clients} clients: p99 {p99:.2f} ms, target <= 20 ms at 16 clients: "
          f"{verdict} ({rps:.0f} req/s; load {os.getloadavg()[0]:.1f})")


def _imported(s: object, a: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Fill the fresh database and import the grid for both sets (timed, per set)."""
    setup(s, a.parcels, a.km)
    with tempfile.TemporaryDirectory(prefix="cbm-bench-weather-") as tmp:
        path = Path(tmp) / "country_2025.nc"
        t = time.perf_counter()
        ny, nx = write_grid(path, a.km)
        print(f"grid (SYNTHETIC): {ny} x {nx} cells of 0.1 degree, 365 days, 5 variables, "
              f"{path.stat().st_size / 1e6:.0f} MB, written in {time.perf_counter() - t:.1f} s", flush=True)
        return {aoi: timed_import(s, path, aoi) for aoi in ("small", "country")}


if __name__ == "__main__":
    main()
