"""Benchmark: time to render a 256 x 256 PNG chip from local COGs, cold and warm chip cache.

    python bench/chips.py [--n 60] [--size 256] [--side 4096]

Builds (once, cached under var/bench/chips-<side>/) a synthetic S2 scene as COGs (B02 B03 B04
B08 uint16 at 10 m, SCL uint8 at 20 m; 512 blocks, deflate, overviews; EPSG:32631), then for
``--n`` random locations times :func:`backend.chips.render_png` with an empty chip cache
("cold": every chip decoded from the COGs; the OS page cache is warm after the first reads)
and again with the cache filled ("warm": a cache hit), for several styles. Each call builds its
own GDAL environment, as an API request does. Target: cold true colour p50 <= 150 ms.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from affine import Affine
from rasterio.warp import transform as warp_transform

from backend.chips import ChipSpec, cloud_fraction, render_png
from backend.settings import load_settings

ROOT = Path(__file__).resolve().parents[1] / "var" / "bench"
CRS = "EPSG:32631"
X0, Y0 = 600_000.0, 5_700_000.0


def write_cog(path: Path, arr: np.ndarray, res: float) -> None:
    """A COG (internal overviews) with the scene's origin."""
    profile = {"driver": "COG", "width": arr.shape[1], "height": arr.shape[0], "count": 1,
               "dtype": arr.dtype, "crs": CRS, "transform": Affine(res, 0, X0, 0, -res, Y0),
               "blocksize": 512, "compress": "deflate", "nodata": 0 if arr.dtype == np.uint16 else None}
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(arr, 1)


def make_scene(side: int) -> dict[str, Any]:
    """The scene's COGs (built once) and an ``images`` row describing them."""
    folder = ROOT / f"chips-{side}"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    bands = {"B02": 10, "B03": 10, "B04": 10, "B08": 10, "SCL": 20}
    for band, res in bands.items():
        path = folder / f"{band}.tif"
        if path.exists():
            continue
        n = side * 10 // res
        if band == "SCL":
            arr = rng.choice(np.array([4, 5, 8, 9], np.uint8), (n, n), p=[0.6, 0.2, 0.1, 0.1])
        else:
            base = rng.integers(200, 3000, (n // 64 + 1, n // 64 + 1)).astype(np.uint16)
            arr = np.kron(base, np.ones((64, 64), np.uint16))[:n, :n] + rng.integers(0, 300, (n, n),
                                                                                      dtype=np.uint16)
        print(f"writing {path} ({n} x {n})")
        write_cog(path, arr, res)
    assets = {}
    for band, res in bands.items():
        n = side * 10 // res
        assets[band] = {"href": str(folder / f"{band}.tif"), "proj:epsg": 32631, "proj:shape": [n, n],
                        "proj:transform": [res, 0, X0, 0, -res, Y0]}
    return {"id": 1, "item_id": f"bench-{side}", "kind": "s2", "item_hash": "bench",
            "item": {"assets": assets, "properties": {}}}


def locations(side: int, n: int, size: int) -> list[tuple[float, float]]:
    """Random WGS84 points whose chips lie inside the scene."""
    rng = np.random.default_rng(5)
    margin = size * 10
    xs = X0 + rng.uniform(margin, side * 10 - margin, n)
    ys = Y0 - rng.uniform(margin, side * 10 - margin, n)
    lons, lats = warp_transform(CRS, "EPSG:4326", list(xs), list(ys))
    return list(zip(lons, lats, strict=True))


def timed(fn: Callable[[], Any], n: int) -> list[float]:
    """Milliseconds of ``n`` calls."""
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def stats(label: str, ms: list[float]) -> None:
    """Print p50/p95 of a list of milliseconds."""
    p50, p95 = statistics.median(ms), float(np.percentile(ms, 95))
    print(f"{label:<38} n={len(ms):>4}  p50 {p50:7.1f} ms  p95 {p95:7.1f} ms")


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=60, help="locations per style")
    parser.add_argument("--size", type=int, default=256, help="chip side in pixels")
    parser.add_argument("--side", type=int, default=4096, help="scene side in 10 m pixels")
    args = parser.parse_args()
    image = make_scene(args.side)
    points = locations(args.side, args.n, args.size)
    cache = Path(tempfile.mkdtemp(prefix="cbm-bench-chips-"))
    settings = load_settings(demo_mode=True, var_dir=cache)
    try:
        render_png(settings, image, ChipSpec(*points[0], size=args.size))  # import/JIT warm-up
        print(f"scene {args.side} x {args.side} px at 10 m, chips {args.size} x {args.size} px")
        for style, lut in (("truecolor", "5_95"), ("falsecolor", "minmax:0_3000"), ("ndvi", None)):
            specs = iter([ChipSpec(lon, lat, args.size, style, lut) for lon, lat in points])
            cold = timed(lambda: render_png(settings, image, next(specs)), args.n)  # noqa: B023
            specs = iter([ChipSpec(lon, lat, args.size, style, lut) for lon, lat in points])
            warm = timed(lambda: render_png(settings, image, next(specs)), args.n)  # noqa: B023
            stats(f"{style} cold (render from COGs)", cold)
            stats(f"{style} warm (cache hit)", warm)
        specs = iter([ChipSpec(lon + 0.01, lat, args.size) for lon, lat in points])
        stats("SCL cloud fraction, cold", timed(lambda: cloud_fraction(settings, image, next(specs)), args.n))
    finally:
        shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
