"""Bounded loopback load on the API (a uvicorn subprocess, default rate limits) while an
extraction re-runs the same parcel set in a loop: no errors but documented 429s, no 5xx,
readers always see the whole time series (never a half-replaced one), latency percentiles
recorded and the server's RSS stable. ``bench/reliability.py`` runs it bigger (64 x 120 s)
through ``CBM_REL_LOAD_CLIENTS`` / ``CBM_REL_LOAD_SECONDS``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
from apitools import PASSWORDS, Server, lonlat
from procs import free_port, running
from relscene import record

from backend.extraction.service import extract

CLIENTS = int(os.environ.get("CBM_REL_LOAD_CLIENTS", "16"))
SECONDS = float(os.environ.get("CBM_REL_LOAD_SECONDS", "20"))
LON, LAT = lonlat("A")
TS = {"aoi": "tt", "year": 2025, "pid": "A"}
REQUESTS = [("/query/parcelTimeSeries", TS), ("/query/parcelByID", TS), ("/sets", {}),
            ("/query/parcelByLocation", {"aoi": "tt", "year": 2025, "lon": LON, "lat": LAT}),
            ("/parcels/decisions", TS), ("/tiles/tt/2025/16/33000/21000.mvt", {})]
USERS = ("consumer", "analyst", "admin")


def _serving(settings, port: int) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    """The API in a uvicorn subprocess (the default rate limits), stopped when the block ends."""
    env = {**os.environ, "CBM_DEMO_MODE": "true",
           "CBM_DATABASE_URL": settings.database_url.get_secret_value(),
           "CBM_VAR_DIR": str(settings.var_dir), "CBM_API_AUTH_CACHE_S": "600",
           "CBM_API_RATE_PER_MINUTE": "3000", "CBM_API_RATE_BURST": "100",
           "CBM_API_POOL_MAX": os.environ.get("CBM_REL_POOL_MAX", str(settings.api_pool_max))}
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "backend.api.app:app_from_env",
           "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    return running(cmd, f"http://127.0.0.1:{port}/health", "API", env=env, quiet=True,
                   ok=lambda status: status == 200, grace_s=30)


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS")) / 1024


def _client(url: str, k: int, until: float, ts_len: int) -> tuple[Counter, list[float], int]:
    codes, lat, torn = Counter(), [], 0
    who = USERS[k % len(USERS)]
    with httpx.Client(base_url=url, auth=(who, PASSWORDS[who]), timeout=30) as c:
        i = k
        while time.monotonic() < until:
            path, params = REQUESTS[i % len(REQUESTS)]
            t0 = time.perf_counter()
            try:
                r = c.get(path, params=params)
            except httpx.TransportError as exc:
                codes[type(exc).__name__] += 1
                i += 1
                continue
            if r.status_code == 200:
                lat.append(time.perf_counter() - t0)
            codes[r.status_code] += 1
            if r.status_code == 200 and path == "/query/parcelTimeSeries":
                torn += len(r.json()["date_part"]) != ts_len
            i += 1
    return codes, lat, torn


def _extract_loop(settings, stop: threading.Event, runs: list[int]) -> None:
    while not stop.is_set():
        runs.append(extract(settings, aoi="tt", year=2025, force=True).done)


def test_load_while_extracting(rel_api: Server) -> None:
    ts_len = len(httpx.get(rel_api.url + "/query/parcelTimeSeries", params=TS,
                           auth=("consumer", PASSWORDS["consumer"])).json()["date_part"])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with _serving(rel_api.settings, port) as proc:
        for who in USERS:  # log each user in once: concurrent cold logins all run argon2 (see README)
            httpx.get(url + "/me", auth=(who, PASSWORDS[who]), timeout=60).raise_for_status()
        stop, runs, rss = threading.Event(), [], []
        extractor = threading.Thread(target=_extract_loop, args=(rel_api.settings, stop, runs))
        try:
            extractor.start()
            until = time.monotonic() + SECONDS
            with ThreadPoolExecutor(CLIENTS + 1) as pool:
                futures = [pool.submit(_client, url, k, until, ts_len) for k in range(CLIENTS)]
                while time.monotonic() < until:
                    rss.append(_rss_mb(proc.pid))
                    time.sleep(0.5)
                results = [f.result() for f in futures]
        finally:
            stop.set()
            extractor.join(60)
    _check(results, runs, rss)


def _check(results: list, runs: list[int], rss: list[float]) -> None:
    codes = sum((r[0] for r in results), Counter())
    lat_ms = np.array([x for r in results for x in r[1]]) * 1000
    torn = sum(r[2] for r in results)
    third = max(1, len(rss) // 3)
    rss_start, rss_end = float(np.median(rss[third:2 * third])), float(np.median(rss[-third:]))
    p50, p95, p99 = np.percentile(lat_ms, [50, 95, 99])
    record("load", clients=CLIENTS, seconds=SECONDS, requests=int(sum(codes.values())),
           codes={str(k): v for k, v in codes.items()}, p50_ms=p50, p95_ms=p95, p99_ms=p99,
           extractions=len(runs), torn_reads=torn, rss_mb_start=rss_start, rss_mb_end=rss_end,
           rss_mb_max=max(rss), rss_mb=[round(x) for x in rss[:6]])
    assert set(codes) <= {200, 429}, codes
    assert codes[200] > 0 and torn == 0
    assert runs and all(n == 4 for n in runs), runs
    assert rss_end < rss_start * 1.25 + 20, (rss_start, rss_end)
