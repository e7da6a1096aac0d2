"""Benchmark: one Sentinel-2 image read from object storage (moto S3 on loopback) vs local disk.

    .venv/bin/python bench/s3.py [--quick] [--delays 20,50] [--tune [WORDS]] [--jp2]

The tile and parcels are those of bench/extraction.py (built once and cached under
var/bench/extraction-<size>-<n>/: 10980² with 20 000 parcels, or 2048² with 2 000 for
``--quick``). Its 7 S2 COGs (4 bands at 10 m, 2 at 20 m and SCL; 512² deflate blocks) go
into a moto S3 server (its own process) on 127.0.0.1 and our engine (``compute_image`` as the
extraction service runs it, through ``storage.raster_env``) computes the image from local
disk, from S3 directly and through the reliability suite's proxy adding a delay per request
(tests/reliability/faultproxy.py; it closes every connection after one request, as a worst case without
keep-alive). Printed per case: wall and CPU time, the ratio to local disk, requests, bytes
fetched and the read amplification = bytes fetched / compressed bytes of the blocks under the
parcels' windows (the TIFF tile byte counts). The statistics of every remote case are checked
bit for bit against the local ones. ``--jp2`` also puts the JP2 bands (bench/extraction.py
``--jp2`` layout) into S3 and times them through the first delay.

``--tune`` times the GDAL options of the settings one by one at the first delay
(``CBM_GDAL_HTTP_MULTIRANGE``, ``CBM_GDAL_HTTP_MERGE_RANGES``, ``CBM_GDAL_HTTP_VERSION``,
``CBM_GDAL_VSI_CACHE_MB``, ``CBM_GDAL_CURL_CACHE_MB``, ``CBM_REMOTE_READ_WORKERS``). GDAL's cache of
downloaded ranges is emptied before every run (``storage.forget_cached``). Each run is bounded:
the full tile takes a few minutes at 50 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "reliability"))  # bench/reliability.py shadows the package

import extraction as ex  # noqa: E402
import numpy as np  # noqa: E402
import rasterio  # noqa: E402
from faultproxy import FaultProxy  # noqa: E402

from backend.extraction import engine  # noqa: E402
from backend.extraction.compute import GridCache, ImageResult, compute_image  # noqa: E402
from backend.extraction.labels import parcel_grid  # noqa: E402
from backend.extraction.reader import open_groups  # noqa: E402
from backend.settings import Settings  # noqa: E402
from backend.storage import forget_cached, raster_env  # noqa: E402

BANDS = (*ex.BANDS10, *ex.BANDS20)
ASSETS = (*BANDS, "SCL")
TUNINGS: list[tuple[str, dict[str, Any]]] = [
    ("defaults (remote_read_workers=4)", {}),
    ("GDAL_HTTP_MULTIRANGE=SERIAL", {"gdal_http_multirange": "SERIAL"}),
    ("GDAL_HTTP_MULTIRANGE=SINGLE_GET", {"gdal_http_multirange": "SINGLE_GET"}),
    ("GDAL_HTTP_MERGE_CONSECUTIVE_RANGES=NO", {"gdal_http_merge_ranges": False}),
    ("GDAL_HTTP_VERSION=2", {"gdal_http_version": "2"}),
    ("VSI_CACHE off", {"gdal_vsi_cache_mb": 0}),
    ("CPL_VSIL_CURL_CACHE_SIZE=256 MiB", {"gdal_curl_cache_mb": 256}),
    ("remote_read_workers=1", {"remote_read_workers": 1}),
    ("remote_read_workers=2", {"remote_read_workers": 2}),
    ("remote_read_workers=7", {"remote_read_workers": 7}),
]


def needed_bytes(paths: dict[str, Path], windows: dict[float, Any]) -> int:
    """Compressed bytes of the blocks under the windows (TIFF tile byte counts)."""
    total = 0
    for path in paths.values():
        with rasterio.open(path) as ds:
            w = windows[ds.transform.a]
            bh, bw = ds.block_shapes[0]
            for r in range(int(w.row_off) // bh, -(-int(w.row_off + w.height) // bh)):
                for c in range(int(w.col_off) // bw, -(-int(w.col_off + w.width) // bw)):
                    total += int(ds.get_tag_item(f"BLOCK_SIZE_{c}_{r}", "TIFF", bidx=1))
    return total


def compute(hrefs: dict[str, str], geoms: np.ndarray, cache: GridCache, workers: int) -> ImageResult:
    return compute_image("s2", list(BANDS), open_groups(hrefs), np.arange(1, len(geoms) + 1), geoms,
                         scl_classes=ex.SCL_MASKED, negative_buffer_m=0.0, cache=cache,
                         cache_key=("bench",), remote_read_workers=workers)


def timed_remote(settings: Settings, hrefs: dict[str, str], geoms: np.ndarray,
                 cache: GridCache) -> tuple[float, float, ImageResult]:
    with raster_env(settings):
        for href in hrefs.values():
            forget_cached(href)  # every run fetches its blocks again
        w, c = time.perf_counter(), time.process_time()
        result = compute(hrefs, geoms, cache, settings.remote_read_workers)
        return time.perf_counter() - w, time.process_time() - c, result


def same(a: ImageResult, b: ImageResult) -> bool:
    return all(np.array_equal(x, y, equal_nan=True) for x, y in
               ((a.stats, b.stats), (a.hist, b.hist), (a.n_total, b.n_total)))


def upload(endpoint: str, bucket: str, files: dict[str, Path]) -> dict[str, str]:
    import boto3

    s3 = boto3.client("s3", endpoint_url=f"http://{endpoint}", aws_access_key_id="test",
                      aws_secret_access_key="test", region_name="us-east-1")
    s3.create_bucket(Bucket=bucket)
    for path in files.values():
        s3.upload_file(str(path), bucket, f"tile/{path.name}")
    return {b: f"s3://{bucket}/tile/{p.name}" for b, p in files.items()}


def settings_for(endpoint: str, **tuning: Any) -> Settings:
    return Settings(demo_mode=True, s3_endpoint=endpoint, s3_https=False, s3_access_key_id="test",
                    s3_secret_access_key="test", **tuning)


def row(label: str, wall: float, cpu: float, local: float, proxy: FaultProxy | None,
        needed: int, ok: bool) -> None:
    fetched = f"{proxy.requests:6d} {proxy.bytes_sent / 1e6:9.1f} {proxy.bytes_sent / needed:6.2f}" \
        if proxy else f"{'':6s} {'':9s} {'':6s}"
    print(f"{label:44s} {wall:7.2f} {cpu:7.2f} {wall / local:6.2f}x {fetched}  "
          f"{'identical' if ok else 'DIFFERENT'}", flush=True)


@contextlib.contextmanager
def moto_process() -> Iterator[str]:
    """A moto S3 server in its own process on loopback (not competing for this one's GIL)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1",
                             "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("moto_server did not start") from None
                time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2048² tile, 2 000 parcels")
    ap.add_argument("--delays", default="20,50", help="proxy delays in ms, comma-separated")
    ap.add_argument("--tune", nargs="?", const="", default=None, metavar="WORDS",
                    help="time each GDAL option at the first delay (only those whose label holds "
                         "one of the comma-separated WORDS, if given)")
    ap.add_argument("--jp2", action="store_true", help="also the JP2 bands from S3")
    args = ap.parse_args()
    delays = [int(d) for d in args.delays.split(",") if d]
    cfg = ex.Config(2048, 2000) if args.quick else ex.Config(10980, 20000)
    geoms = ex.ensure_data(cfg)
    engine.warm_up()
    grid10, grid20 = ex.grids(cfg)
    g10, g20 = parcel_grid(geoms, grid10), parcel_grid(geoms, grid20)
    assert g10 is not None and g20 is not None
    paths = {b: cfg.folder / f"{b}.tif" for b in ASSETS}
    hrefs, cache = ex.prepared_cache(cfg, geoms, g10, g20)
    needed = needed_bytes(paths, {10.0: g10.window, 20.0: g20.window})
    files = sum(p.stat().st_size for p in paths.values())
    print(f"tile {cfg.size10}² ({len(geoms)} parcels): 7 COGs {files / 1e6:.0f} MB, blocks under the "
          f"windows {needed / 1e6:.1f} MB ({needed / files:.0%})", flush=True)
    compute(hrefs, geoms, cache, 1)  # page cache warm: local disk is the best case
    w, c = time.perf_counter(), time.process_time()
    local = compute(hrefs, geoms, cache, 1)
    local_wall, local_cpu = time.perf_counter() - w, time.process_time() - c
    with moto_process() as endpoint:
        remote = upload(endpoint, "bench", paths)
        print(f"{'case':44s} {'wall s':>7s} {'CPU s':>7s} {'/local':>7s} {'reqs':>6s} {'MB fetched':>9s} "
              f"{'ampl.':>6s}  stats vs local")
        row("local disk (page cache)", local_wall, local_cpu, local_wall, None, needed, True)
        wall, cpu, res = timed_remote(settings_for(endpoint), remote, geoms, cache)
        row("S3 on loopback, no delay", wall, cpu, local_wall, None, needed, same(res, local))
        for delay in delays:
            with FaultProxy(endpoint, lambda n: "pass", delay_s=delay / 1000) as proxy:
                wall, cpu, res = timed_remote(settings_for(proxy.endpoint), remote, geoms, cache)
            row(f"S3 + {delay} ms per request", wall, cpu, local_wall, proxy, needed, same(res, local))
        if args.tune is not None:
            words = [w for w in args.tune.split(",") if w]
            print(f"GDAL options at {delays[0]} ms per request (one run each):")
            for label, tuning in TUNINGS:
                if words and not any(w in label for w in words):
                    continue
                with FaultProxy(endpoint, lambda n: "pass", delay_s=delays[0] / 1000) as proxy:
                    wall, cpu, res = timed_remote(settings_for(proxy.endpoint, **tuning), remote,
                                                  geoms, cache)
                row(f"  {label}", wall, cpu, local_wall, proxy, needed, same(res, local))
        if args.jp2:
            jp2_case(cfg, geoms, endpoint, delays[0] if delays else 20)


def jp2_case(cfg: ex.Config, geoms: np.ndarray, endpoint: str, delay: int) -> None:
    """The JP2 bands from local disk and from S3 through the proxy (labels on the JP2 tiles)."""
    local_hrefs = ex.ensure_jp2(cfg)
    cache = GridCache()
    for group in open_groups(local_hrefs):
        pg = parcel_grid(geoms, group.grid)
        cache.get(("bench", group.key, 0.0), lambda pg=pg: pg)
    with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"):
        w, c = time.perf_counter(), time.process_time()
        local = compute(local_hrefs, geoms, cache, 1)
        lw, lc = time.perf_counter() - w, time.process_time() - c
    remote = upload(endpoint, "bench-jp2", {b: Path(h) for b, h in local_hrefs.items()})
    with FaultProxy(endpoint, lambda n: "pass", delay_s=delay / 1000) as proxy:
        settings = settings_for(proxy.endpoint)
        with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"):
            wall, cpu, res = timed_remote(settings, remote, geoms, cache)
    size = sum(Path(h).stat().st_size for h in local_hrefs.values())
    print(f"JP2 local disk {lw:.2f} s wall {lc:.2f} s CPU; JP2 from S3 + {delay} ms: {wall:.2f} s wall "
          f"{cpu:.2f} s CPU ({wall / lw:.2f}x), {proxy.requests} requests, "
          f"{proxy.bytes_sent / 1e6:.1f} MB of {size / 1e6:.0f} MB files; stats "
          f"{'identical' if same(res, local) else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
