"""Benchmark: import 500 000 synthetic parcels into a temporary database.

Generates a jittered grid of 1 ha parcels in RD New (0.1 % with a small twist, repaired, and
0.05 % figure-of-eight rings, rejected), caches it under var/bench/, imports it into a fresh
database created in the project cluster, prints read / validate / write timings and parcels
per second; then imports every real sample of ../shared/realdata/parcels with its shipped
mapping and prints its time (target: <= 20 s for 500 000 parcels, <= 2 s per sample); drops the
database.

    .venv/bin/python bench/parcels_import.py [--n 500000] [--format gpkg|parquet] [--no-real]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from backend.db import cluster, temporary_database
from backend.parcels import import_parcels, load_mapping
from backend.settings import PROJECT_ROOT, load_settings

CROPS = {"265": "Grasland, blijvend", "233": "Wintertarwe", "259": "Mais, snij-",
         "2014": "Aardappelen, consumptie", "256": "Bieten, suiker-", "236": "Zomergerst"}


def make_parcels(n: int, seed: int = 42) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    i = np.arange(n)
    x0 = 100_000 + (i % side) * 110.0
    y0 = 400_000 + (i // side) * 110.0
    # a square with one chamfered corner; jitter keeps the chamfer (5 m) clear of the edges
    corners = np.array([(0, 0), (100, 0), (100, 100), (5, 100), (0, 95)], dtype=float)
    xy = corners[None, :, :] + rng.uniform(-2, 2, size=(n, 5, 2))
    kind = rng.random(n)
    twist = kind < 0.001  # last two vertices swapped: a small twist, repaired
    xy[twist] = xy[twist][:, [0, 1, 2, 4, 3]]
    bow = (kind >= 0.001) & (kind < 0.0015)  # figure-of-eight: repair changes the area, rejected
    xy[bow] = xy[bow][:, [0, 2, 1, 3, 4]]
    xy[:, :, 0] += x0[:, None]
    xy[:, :, 1] += y0[:, None]
    ring = np.concatenate([xy, xy[:, :1]], axis=1)
    codes = np.array(list(CROPS))
    crop = codes[rng.integers(0, len(codes), n)]
    return gpd.GeoDataFrame({
        "pid": rng.permutation(n) + 1_000_000,
        "crop_code": crop,
        "crop_name": np.array([CROPS[c] for c in codes])[np.searchsorted(codes, crop,
                                                           sorter=np.argsort(codes))],
        "farm_id": rng.integers(1, 20_000, n),
        "declared_ha": np.round(rng.uniform(0.8, 1.2, n), 2),
    }, geometry=shapely.polygons(ring), crs=28992)


def cached_file(n: int, fmt: str) -> Path:
    path = PROJECT_ROOT / "var" / "bench" / f"parcels_{n}.{fmt}"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        gdf = make_parcels(n)
        if fmt == "parquet":
            gdf.to_parquet(path)
        else:
            gdf.to_file(path, layer="parcels", engine="pyogrio", use_arrow=True)
        print(f"generated {path} in {time.perf_counter() - t:.1f} s")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500_000)
    parser.add_argument("--format", choices=["gpkg", "parquet"], default="gpkg")
    parser.add_argument("--no-real", action="store_true", help="skip the real samples")
    args = parser.parse_args()
    path = cached_file(args.n, args.format)
    base = load_settings(demo_mode=True)
    if base.uses_embedded_db:
        cluster.start(base)
    with temporary_database(base, "cbm_bench_parcels", var_dir=base.var_dir / "bench") as settings:
        res = import_parcels(settings, path, aoi="bench", year=2025, skip_invalid=True,
                             report_path=settings.var_dir / "parcels_import_report.csv")
        real = [] if args.no_real else real_samples(settings)
    t = res.timings
    print(f"file      {path.name} ({path.stat().st_size / 1e6:.0f} MB)")
    print(f"parcels   read {res.n_read}  imported {res.n_imported}  repaired {res.n_repaired}"
          f"  rejected {res.n_rejected}")
    print(f"read      {t['read']:6.1f} s")
    print(f"validate  {t['validate']:6.1f} s  (incl. report, attrs JSON, EWKB)")
    print(f"write     {t['write']:6.1f} s  (COPY, indexes, partition, jobs, commit)")
    print(f"total     {res.seconds:6.1f} s  = {res.n_imported / res.seconds:,.0f} parcels/s"
          f"  (target <= 20 s for 500 000)")
    for name, n, seconds in real:
        print(f"real {name:7s} {n:4d} parcels  {seconds:5.2f} s  (target <= 2 s)")


REAL_PARCELS = Path(os.environ.get("CBM_REALDATA_DIR")
                    or PROJECT_ROOT.parent / "shared" / "realdata") / "parcels"


def real_samples(settings) -> list[tuple[str, int, float]]:
    """Import each real sample (folder name = shipped mapping); (name, parcels, seconds) each."""
    out = []
    for folder in sorted(p for p in REAL_PARCELS.iterdir() if p.is_dir()):
        (path,) = folder.iterdir()
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = import_parcels(settings, path, aoi=folder.name, year=2000, skip_invalid=True,
                                 mapping=load_mapping(folder.name), replace=True,
                                 report_path=settings.var_dir / f"real_{folder.name}.csv")
        out.append((folder.name, res.n_imported, time.perf_counter() - t))
    return out


if __name__ == "__main__":
    main()
