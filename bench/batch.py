"""Overhead of a batch chunk (papermill + kernel start + imports + first-job caches) vs work per job.

    python bench/batch.py [--full] [--images 8] [--repeat 3]

Uses the synthetic S2 tile of bench/extraction.py (2048² px with 2 000 parcels, or ``--full``:
10980² px with 20 000 parcels), catalogued as ``--images`` dates (symlinks to the same COGs),
in a throw-away database of the embedded cluster. Measured in one run:

* empty chunk: extract.ipynb executed by the batch worker function with ``job_ids=[]``;
* steady work per job: ``extract`` in this process, all images, first job excluded (it builds
  the label rasters that a chunk then reuses);
* a full chunk: extract.ipynb over all images; overhead = chunk wall - jobs x steady work;
* a whole ``run_batch`` (LocalCluster start included) for comparison.

Prints the chunk size (jobs per chunk) that keeps the overhead under 5 % of the work.
"""

from __future__ import annotations

import argparse
import statistics
import time
from contextlib import contextmanager

import geopandas as gpd
from extraction import BANDS10, BANDS20, CRS, ROOT, Config, ensure_data

from backend.batch.execute import ChunkSpec, execute_chunk
from backend.batch.params import split_settings
from backend.batch.report import JobTimer
from backend.batch.runner import run_batch
from backend.catalogue import add_source
from backend.db import cluster, connect, temporary_database
from backend.extraction import extract, reset_jobs
from backend.parcels import import_parcels
from backend.settings import PROJECT_ROOT, Settings, load_settings

NOTEBOOK = PROJECT_ROOT / "notebooks" / "batch" / "extract.ipynb"


@contextmanager
def bench_db():
    base = load_settings(demo_mode=True)
    if base.uses_embedded_db:
        cluster.start(base)
    with temporary_database(base, "cbm_bench_batch", var_dir=ROOT / "batch" / "var") as s:
        yield s


def load_scene(s: Settings, cfg: Config, n_images: int) -> None:
    geoms = ensure_data(cfg)
    root = ROOT / "batch" / f"{cfg.size10}-{cfg.n_parcels}"
    gpkg = root / "parcels.gpkg"
    if not gpkg.exists():
        root.mkdir(parents=True, exist_ok=True)
        gpd.GeoDataFrame({"pid": [f"p{i}" for i in range(len(geoms))], "crop_code": "1"},
                         geometry=list(geoms), crs=CRS).to_file(gpkg)
    cogs = root / f"cogs-{n_images}"
    for d in range(n_images):
        item = cogs / f"S2A_MSIL2A_202506{d + 1:02d}T103031_R008_T31UFU"
        item.mkdir(parents=True, exist_ok=True)
        for b in (*BANDS10, *BANDS20, "SCL"):
            if not (item / f"{b}.tif").exists():
                (item / f"{b}.tif").symlink_to(cfg.folder / f"{b}.tif")
    import_parcels(s, gpkg, aoi="bench", year=2025)
    add_source(s, str(cogs))


def reset(s: Settings) -> list[int]:
    with connect(s) as conn:
        reset_jobs(conn, "bench", 2025)
        return [r["id"] for r in conn.execute("SELECT id FROM extraction_jobs ORDER BY id")]


def chunk_wall(s: Settings, job_ids: list[int]) -> float:
    overrides, env = split_settings(s)
    params = {"aoi": "bench", "year": 2025, "job_ids": job_ids, "run_id": "bench", "chunk": 0,
              "settings_overrides": overrides}
    spec = ChunkSpec("bench", 0, 1, NOTEBOOK.read_text(), params, s.batch_kernel, env)
    t0 = time.perf_counter()
    out = execute_chunk(spec)
    assert out.error is None, out.error
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="10980² tile, 20 000 parcels")
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-run", dest="run", action="store_false", help="skip the whole run_batch line")
    a = ap.parse_args()
    cfg = Config(10980, 20000) if a.full else Config(2048, 2000)
    with bench_db() as s:
        load_scene(s, cfg, a.images)
        ids = reset(s)
        empty = [chunk_wall(s, []) for _ in range(a.repeat)]
        steady, first = [], []
        for _ in range(a.repeat):
            reset(s)
            timer = JobTimer()
            extract(s, aoi="bench", year=2025, progress=timer)
            first.append(timer.durations()[0])
            steady.append(statistics.mean(timer.durations()[1:]))
        full = []
        for _ in range(a.repeat):
            reset(s)
            full.append(chunk_wall(s, ids))
        whole = whole_run(s) if a.run else None
    report(cfg, len(ids), min(empty), min(first), min(steady), min(full), whole)


def whole_run(s: Settings) -> float:
    reset(s)
    t0 = time.perf_counter()
    run = run_batch(s, NOTEBOOK, {"aoi": "bench", "year": 2025}, chunks=2)
    assert run.status == "done", run
    return time.perf_counter() - t0


def report(cfg: Config, n: int, empty: float, first: float, job: float, full: float,
           whole: float | None) -> None:
    overhead = full - n * job
    k = overhead / (0.05 * job)
    print(f"scene: {cfg.size10}² px S2 tile, {cfg.n_parcels} parcels, {n} images (jobs); best of runs")
    print(f"  empty chunk (papermill + kernel + imports)   {empty:7.2f} s")
    print(f"  first job in a new process (label rasters)   {first:7.2f} s")
    print(f"  steady work per job (in process)             {job:7.3f} s")
    print(f"  chunk of {n} jobs through papermill           {full:7.2f} s")
    print(f"  => overhead per chunk                        {overhead:7.2f} s"
          f"  = {overhead / job:.1f} jobs of work ({overhead / full:.0%} of this chunk)")
    print(f"    of which papermill + kernel start + imports {empty:6.2f} s, first-job caches "
          f"{first - job:6.2f} s")
    if whole is not None:
        print(f"  run_batch, 2 chunks, LocalCluster start incl. {whole:7.2f} s")
    print(f"  overhead < 5 % needs >= {k:.0f} jobs per chunk (CBM_BATCH_CHUNK_JOBS)")


if __name__ == "__main__":
    main()
