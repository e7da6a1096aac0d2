"""Benchmark of the zonal-statistics engine against the decode floor, exactextract, rasterstats.

    python bench/extraction.py [--quick] [--spread] [--s1] [--parcels N] [--no-competitors]
                               [--overlap] [--jp2 [--jp2-runs N]]

Builds (once, cached under var/bench/extraction-<size>/) a synthetic Sentinel-2 tile as COGs
(B02 B03 B04 B08 uint16 at 10 m, B05 B11 uint16 and SCL uint8 at 20 m; 512 blocks, deflate,
EPSG:32631) and random non-overlapping parcels (Voronoi cells, 0.2-20 ha), then times in ONE
run: the decode floor, our engine end to end (``compute_image``, as the extraction service runs
it), exactextract and rasterstats. Wall-clock and CPU time (all threads) are both reported.
``--s1`` does the same for a Sentinel-1 backscatter image instead (VV and VH, float32 linear
power with speckle, NaN nodata, no cloud mask): the engine's float path.
``--overlap`` times, beside the set, the same number of parcels of which 50 % overlap another
(every 4th parcel gets a copy shifted 20 m east in place of the next one), with exactextract
and rasterstats on that set. ``--jp2`` writes the same tile as JPEG 2000 (GDAL's JP2OpenJPEG,
1024² tiles, 64² codeblocks, lossless, as CDSE's L2A bands) and times the JP2 decode floor
beside ours on the JP2 (``GDAL_NUM_THREADS=ALL_CPUS``) and exactextract on the same JP2 files
(unless ``--no-competitors``), printing the JP2/COG cost ratio. Object storage: bench/s3.py.
"""

from __future__ import annotations

import argparse
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import shapely
from affine import Affine
from rasterio.warp import Resampling, reproject

from backend.extraction import engine
from backend.extraction.compute import GridCache, compute_image
from backend.extraction.labels import GridSpec, ParcelGrid, label_raster, parcel_grid
from backend.extraction.reader import open_groups

ROOT = Path(__file__).resolve().parents[1] / "var" / "bench"
BANDS10 = ("B02", "B03", "B04", "B08")
BANDS20 = ("B05", "B11")
BANDS_S1 = ("VV", "VH")
SCL_MASKED = (0, 1, 3, 8, 9, 10, 11)
CRS = "EPSG:32631"


@dataclass(frozen=True)
class Config:
    size10: int
    n_parcels: int

    @property
    def folder(self) -> Path:
        return ROOT / f"extraction-{self.size10}-{self.n_parcels}"

    @property
    def t10(self) -> Affine:
        return Affine(10, 0, 600_000, 0, -10, 5_700_000)

    @property
    def t20(self) -> Affine:
        return Affine(20, 0, 600_000, 0, -20, 5_700_000)


def make_parcels(cfg: Config, rng: np.random.Generator) -> np.ndarray:
    """Voronoi parcels (mean ~5 ha, 0.2-20 ha) with 5 m gaps, in a square at the tile centre."""
    n_seeds = int(cfg.n_parcels * 1.35)
    side = min(np.sqrt(n_seeds * 5e4), cfg.size10 * 10 * 0.95)
    x0 = cfg.t10.c + (cfg.size10 * 10 - side) / 2
    y0 = cfg.t10.f - (cfg.size10 * 10 + side) / 2
    uniform = rng.uniform(0, side, (int(n_seeds * 0.7), 2))
    centres = rng.uniform(0, side, (max(1, n_seeds // 100), 2))
    near = centres[rng.integers(0, len(centres), n_seeds - len(uniform))]
    pts = np.vstack([uniform, near + rng.normal(0, side / 60, near.shape)]) + np.array([x0, y0])
    region = shapely.box(x0, y0, x0 + side, y0 + side)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=region))
    cells = shapely.buffer(shapely.intersection(cells, region), -2.5, join_style="mitre")
    area = shapely.area(cells)
    cells = cells[(area >= 2e3) & (area <= 2e5)]
    rng.shuffle(cells)
    return cells[: cfg.n_parcels]


def smooth(rng: np.random.Generator, shape: tuple[int, int], cell: int, scale: float) -> np.ndarray:
    """Smooth random field: coarse noise, bilinearly upsampled."""
    coarse = rng.normal(0, scale, (shape[0] // cell + 2, shape[1] // cell + 2)).astype(np.float32)
    out = np.empty(shape, np.float32)
    reproject(coarse, out, src_transform=Affine.scale(cell), dst_transform=Affine.identity(),
              src_crs=CRS, dst_crs=CRS, resampling=Resampling.bilinear)
    return out


def write_cog(path: Path, arr: np.ndarray, transform: Affine, nodata: float | None = None) -> None:
    profile = dict(driver="COG", width=arr.shape[1], height=arr.shape[0], count=1,
                   dtype=arr.dtype.name, crs=CRS, transform=transform, blocksize=512,
                   compress="deflate", overviews="NONE", nodata=nodata)
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(arr, 1)


def make_band(rng, labels, offsets, base: float) -> np.ndarray:
    field = smooth(rng, labels.shape, 256, 400) + base
    field += offsets[labels]
    field += rng.integers(-120, 120, labels.shape, dtype=np.int16)
    return np.clip(field, 1, 20000).astype(np.uint16)


def make_scl(rng, shape) -> np.ndarray:
    clouds = smooth(rng, shape, 128, 1.0)
    scl = np.full(shape, 4, np.uint8)
    scl[clouds > 0.9] = 8
    scl[clouds > 1.4] = 9
    scl[(clouds > 0.6) & (clouds <= 0.9)] = 3
    return scl


def make_s1(cfg: Config, geoms: np.ndarray) -> None:
    """VV and VH (float32 linear power: per-parcel level x gamma speckle, NaN outside the swath)."""
    rng = np.random.default_rng(11)
    size = (cfg.size10, cfg.size10)
    lab10 = label_raster(geoms, np.arange(1, len(geoms) + 1), cfg.t10, size)
    for i, b in enumerate(BANDS_S1):
        level = np.concatenate([[0.05], rng.lognormal(np.log(0.08 / (1 + 3 * i)), 0.5, len(geoms))])
        arr = (level[lab10] * np.exp(smooth(rng, size, 256, 0.3))).astype(np.float32)
        arr *= rng.gamma(4.0, 0.25, size).astype(np.float32)  # 4-look speckle
        arr[:, : cfg.size10 // 50] = np.nan  # swath edge
        write_cog(cfg.folder / f"{b}.tif", arr, cfg.t10, nodata=float("nan"))


def ensure_data(cfg: Config) -> np.ndarray:
    """Create the COGs and parcels once; return the parcel geometries."""
    folder = cfg.folder
    wkb = folder / "parcels.npy"
    assets = (*BANDS10, *BANDS20, "SCL", *BANDS_S1)
    if wkb.exists() and all((folder / f"{b}.tif").exists() for b in assets):
        return shapely.from_wkb(np.load(wkb, allow_pickle=True))
    if wkb.exists() and all((folder / f"{b}.tif").exists() for b in (*BANDS10, *BANDS20, "SCL")):
        geoms = shapely.from_wkb(np.load(wkb, allow_pickle=True))
        make_s1(cfg, geoms)  # a tile built before the S1 case existed
        return geoms
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    geoms = make_parcels(cfg, rng)
    offsets = np.concatenate([[0], rng.normal(0, 600, len(geoms))]).astype(np.float32)
    ids = np.arange(1, len(geoms) + 1)
    s10, s20 = (cfg.size10, cfg.size10), (cfg.size10 // 2, cfg.size10 // 2)
    lab10 = label_raster(geoms, ids, cfg.t10, s10)
    for i, b in enumerate(BANDS10):
        write_cog(folder / f"{b}.tif", make_band(rng, lab10, offsets, 800 + 700 * i), cfg.t10)
    del lab10
    lab20 = label_raster(geoms, ids, cfg.t20, s20)
    for i, b in enumerate(BANDS20):
        write_cog(folder / f"{b}.tif", make_band(rng, lab20, offsets, 1500 + 900 * i), cfg.t20)
    write_cog(folder / "SCL.tif", make_scl(rng, s20), cfg.t20)
    make_s1(cfg, geoms)
    np.save(wkb, shapely.to_wkb(geoms))
    return geoms


def read(path: Path, window, out: np.ndarray | None = None) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read(1, window=window, out=out)


def grids(cfg: Config) -> tuple[GridSpec, GridSpec]:
    with rasterio.open(cfg.folder / "B02.tif") as d10, rasterio.open(cfg.folder / "SCL.tif") as d20:
        return GridSpec.from_dataset(d10), GridSpec.from_dataset(d20)


def timed(fn, *args) -> tuple[float, float]:
    """(wall, CPU of all threads) seconds of ``fn(*args)``."""
    w, c = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - w, time.process_time() - c


def decode_floor(cfg: Config, g10: ParcelGrid, g20: ParcelGrid, s1: bool = False,
                 buffers: dict[str, np.ndarray] | None = None) -> None:
    """Read the same windows of all the image's assets, nothing else (one thread); into
    ``buffers`` (by asset, reused from run to run) if given."""
    for b in BANDS_S1 if s1 else BANDS10:
        read(cfg.folder / f"{b}.tif", g10.window, buffers[b] if buffers else None)
    for b in () if s1 else (*BANDS20, "SCL"):
        read(cfg.folder / f"{b}.tif", g20.window, buffers[b] if buffers else None)


def floor_buffers(cfg: Config, g10: ParcelGrid, g20: ParcelGrid, s1: bool = False
                  ) -> dict[str, np.ndarray]:
    """One buffer per asset for :func:`decode_floor` (as ours decodes into reused buffers)."""
    out = {}
    for b in (*BANDS_S1,) if s1 else (*BANDS10, *BANDS20, "SCL"):
        with rasterio.open(cfg.folder / f"{b}.tif") as ds:
            w = g10.window if ds.transform.a == g10.transform.a else g20.window
            out[b] = np.empty((int(w.height), int(w.width)), ds.dtypes[0])
    return out


def prepared_cache(cfg: Config, geoms: np.ndarray, g10: ParcelGrid, g20: ParcelGrid,
                   s1: bool = False):
    """The image's band groups and a label-raster cache holding g10 and g20 (as in a worker)."""
    names = BANDS_S1 if s1 else (*BANDS10, *BANDS20, "SCL")
    hrefs = {b: str(cfg.folder / f"{b}.tif") for b in names}
    cache = GridCache()
    for group in open_groups(hrefs):
        pg = g10 if group.grid.transform.a == 10 else g20
        cache.get(("bench", group.key, 0.0), lambda pg=pg: pg)
    return hrefs, cache


def ours(hrefs: dict[str, str], geoms: np.ndarray, cache: GridCache) -> None:
    """One image end to end as the service runs it: open the assets, read SCL + 6 bands (the
    next band decoded in a thread meanwhile), SCL mask + histogram, stats; no DB write.
    For S1: VV and VH, no mask."""
    groups = open_groups(hrefs)
    s1 = "VV" in hrefs
    compute_image("bs" if s1 else "s2", list(BANDS_S1) if s1 else [*BANDS10, *BANDS20], groups,
                  np.arange(1, len(geoms) + 1), geoms, scl_classes=SCL_MASKED,
                  negative_buffer_m=0.0, cache=cache, cache_key=("bench",))


EE_OPS = [f"{op}(min_coverage_frac=0.5,coverage_weight=none)" for op in (
    "count", "mean", "stdev", "min", "max", "quantile(q=0.25", "median", "quantile(q=0.75")]
EE_OPS = [o.replace("(q=0.25(", "(q=0.25,").replace("(q=0.75(", "(q=0.75,") for o in EE_OPS]


def run_exactextract(cfg: Config, geoms: np.ndarray, hrefs: dict[str, str] | None = None) -> float:
    """exactextract's time on the tile's COGs (or on ``hrefs``, e.g. the JP2 bands)."""
    import geopandas as gpd
    from exactextract import exact_extract
    from exactextract.raster import RasterioRasterSource

    gdf = gpd.GeoDataFrame({"pid": np.arange(len(geoms))}, geometry=geoms, crs=CRS)
    t = time.perf_counter()
    for bands in (BANDS10, BANDS20):  # one call per grid: all bands and ops at once
        dss = [rasterio.open(hrefs[b] if hrefs else cfg.folder / f"{b}.tif") for b in bands]
        srcs = [RasterioRasterSource(ds, name=b) for ds, b in zip(dss, bands, strict=True)]
        exact_extract(srcs, gdf, EE_OPS, output="pandas", include_cols=["pid"])
        for ds in dss:
            ds.close()
    return time.perf_counter() - t


def run_rasterstats(cfg: Config, geoms: np.ndarray, k: int) -> float:
    from rasterstats import zonal_stats as rs_zonal_stats

    subset = list(geoms[:k])
    stats = "count min max mean std percentile_25 percentile_50 percentile_75"
    t = time.perf_counter()
    for b in (*BANDS10, *BANDS20):
        rs_zonal_stats(subset, str(cfg.folder / f"{b}.tif"), stats=stats, nodata=0,
                       all_touched=False)
    return (time.perf_counter() - t) * len(geoms) / k


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def describe(cfg: Config, geoms: np.ndarray, g10: ParcelGrid, g20: ParcelGrid) -> None:
    ha = shapely.area(geoms) / 1e4
    labelled = g10.pixels.index.size
    print(f"tile {cfg.size10}x{cfg.size10} @10 m (+{cfg.size10 // 2}^2 @20 m), "
          f"{len(geoms)} parcels, area ha min/median/max "
          f"{ha.min():.2f}/{np.median(ha):.2f}/{ha.max():.2f}")
    print(f"10 m window {int(g10.window.width)}x{int(g10.window.height)} = "
          f"{g10.labels.size / cfg.size10**2:.0%} of the tile; labelled pixels "
          f"{labelled / 1e6:.2f} M = {labelled / g10.labels.size:.0%} of the window")


def report(n: int, t: dict[str, tuple[float, float]], rss_ours: float, nb: int) -> None:
    print(f"{'step':44s} {'wall s':>8s} {'CPU s':>8s}")
    for k, (wall, cpu) in t.items():
        print(f"{k:44s} {wall:8.2f} {cpu:8.2f}")
    ours_w, ours_c = t["ours end to end"]
    floor_w, floor_c = t["decode floor (one thread)"]
    print(f"ours / decode floor           {ours_w / floor_w:6.2f}x wall, {ours_c / floor_c:6.2f}x CPU")
    if "decode floor, reused buffers" in t:  # ours decodes into buffers kept from image to image
        reuse_w, reuse_c = t["decode floor, reused buffers"]
        print(f"ours / floor, reused buffers  {ours_w / reuse_w:6.2f}x wall, "
              f"{ours_c / reuse_c:6.2f}x CPU")
    if "exactextract (all parcels)" in t:
        print(f"exactextract / ours           {t['exactextract (all parcels)'][0] / ours_w:6.2f}x (wall)")
        print(f"rasterstats / ours            {t['rasterstats (scaled)'][0] / ours_w:6.1f}x (wall)")
    rate = n * nb / ours_c
    hours = 500_000 * 73 * 8 / rate / 3600
    print(f"ours: {rate:,.0f} parcel-bands per CPU-second; 500k parcels x 73 dates x 8 bands "
          f"= {hours:.1f} core-hours (+ label rasters once per grid: "
          f"{t['label rasters 10 m + 20 m (once per grid)'][0]:.1f} s)")
    print(f"peak RSS after ours (before competitors): {rss_ours:.2f} GiB; "
          f"at the end: {peak_rss_gib():.2f} GiB")


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2048^2 tile, 2000 parcels")
    ap.add_argument("--spread", action="store_true",
                    help="full tile with parcels over the WHOLE tile (200 000 parcels; memory check)")
    ap.add_argument("--s1", action="store_true",
                    help="a Sentinel-1 image (VV, VH float32, NaN nodata) instead of Sentinel-2")
    ap.add_argument("--parcels", type=int, help="number of parcels (default 2000 quick, 20000 full)")
    ap.add_argument("--no-competitors", action="store_true", help="skip exactextract and rasterstats")
    ap.add_argument("--rasterstats-parcels", type=int, default=100)
    ap.add_argument("--overlap", action="store_true",
                    help="also the same number of parcels, 50 %% of them overlapping another")
    ap.add_argument("--jp2", action="store_true", help="also the tile as JPEG 2000 (CDSE layout)")
    ap.add_argument("--jp2-runs", type=int, default=2, metavar="N",
                    help="JP2 decode floor and ours: best of N runs each, in turns (default 2)")
    return ap.parse_args()


def competitors(cfg: Config, geoms: np.ndarray, k: int, tag: str = "") -> dict[str, tuple[float, float]]:
    t = {f"exactextract (all parcels){tag}": (run_exactextract(cfg, geoms),) * 2,
         f"rasterstats (scaled){tag}": (run_rasterstats(cfg, geoms, k),) * 2}
    print(f"rasterstats timed on {k} parcels x 6 bands, scaled to {len(geoms)}; exactextract ops: "
          f"{', '.join(EE_OPS)}; exactextract and rasterstats do no SCL masking; "
          "their CPU column repeats wall (single-threaded)")
    return t


def overlapping_set(geoms: np.ndarray) -> np.ndarray:
    """Every 4th parcel also as a copy shifted 20 m east, in place of the next parcel."""
    out = geoms.copy()
    idx = np.arange(0, len(geoms) - 1, 4)
    out[idx + 1] = shapely.transform(geoms[idx], lambda c: c + np.array([20.0, 0.0]))
    return out


def overlap_case(cfg: Config, geoms: np.ndarray, grid10: GridSpec, grid20: GridSpec,
                 args: argparse.Namespace, reps: int) -> dict[str, tuple[float, float]]:
    """Ours (labels once, then per image) and the competitors on the 50 %-overlapping set."""
    from backend.parcels.overlaps import find_overlaps

    ov = overlapping_set(geoms)
    t: dict[str, tuple[float, float]] = {}
    t0 = time.perf_counter()
    o10, o20 = parcel_grid(ov, grid10), parcel_grid(ov, grid20)
    assert o10 is not None and o20 is not None
    _ = [layer.pixels for layer in (*o10.all_layers, *o20.all_layers)]
    t["label rasters, 50 % overlapping (once per grid)"] = (time.perf_counter() - t0,) * 2
    pairs = find_overlaps(ov)
    print(f"overlapping set: {pairs.n_parcels / len(ov):.0%} of {len(ov)} parcels overlap another "
          f"({pairs.first.size} pairs); layers 10 m / 20 m: {len(o10.all_layers)} / {len(o20.all_layers)}")
    hrefs, cache = prepared_cache(cfg, ov, o10, o20)
    t["ours end to end, 50 % overlapping"] = min(timed(ours, hrefs, ov, cache) for _ in range(reps))
    if not args.no_competitors:
        t |= competitors(cfg, ov, args.rasterstats_parcels, ", 50 % overlapping")
    return t


JP2_OPTIONS = dict(driver="JP2OpenJPEG", QUALITY=100, REVERSIBLE="YES", BLOCKXSIZE=1024,
                   BLOCKYSIZE=1024, CODEBLOCK_WIDTH=64, CODEBLOCK_HEIGHT=64, RESOLUTIONS=6)


def ensure_jp2(cfg: Config) -> dict[str, str]:
    """The S2 assets as lossless JPEG 2000 (CDSE L2A layout: 1024² tiles, 64² codeblocks)."""
    out = {}
    for b in (*BANDS10, *BANDS20, "SCL"):
        path = cfg.folder / "jp2" / f"{b}.jp2"
        if not path.exists():
            path.parent.mkdir(exist_ok=True)
            with rasterio.open(cfg.folder / f"{b}.tif") as src:
                profile = src.profile | JP2_OPTIONS
                for key in ("tiled", "blockxsize", "blockysize", "compress", "interleave"):
                    profile.pop(key, None)
                with rasterio.open(path, "w", **profile) as dst:
                    dst.write(src.read(1), 1)
        out[b] = str(path)
    return out


def jp2_case(cfg: Config, geoms: np.ndarray, cog_ours: tuple[float, float], runs: int = 2,
             with_exactextract: bool = False) -> dict[str, tuple[float, float]]:
    """JP2 decode floor (the 7 windows read by 2 threads, GDAL's tile threads on) beside ours
    (and exactextract on the same JP2 files); the floor and ours best of ``runs``, in turns."""
    from concurrent.futures import ThreadPoolExecutor

    hrefs = ensure_jp2(cfg)
    cache, grids_ = GridCache(), {}
    for group in open_groups(hrefs):  # labels aligned to the JP2's 1024² tiles, kept as a worker does
        pg = parcel_grid(geoms, group.grid)
        grids_[group.grid.transform.a] = pg
        cache.get(("bench", group.key, 0.0), lambda pg=pg: pg)
    reads = [(hrefs[b], grids_[10.0].window) for b in BANDS10]
    reads += [(hrefs[b], grids_[20.0].window) for b in (*BANDS20, "SCL")]

    def floor_2() -> None:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda r: read(Path(r[0]), r[1]), reads))

    floor, mine = "JP2 decode floor (2 threads)", "ours end to end, JP2"
    times: dict[str, list[tuple[float, float]]] = {floor: [], mine: []}
    t: dict[str, tuple[float, float]] = {}
    with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"):
        for _ in range(max(1, runs)):  # in turns: both see the same load
            times[floor].append(timed(floor_2))
            times[mine].append(timed(ours, hrefs, geoms, cache))
        for name, values in times.items():  # fastest wall, least CPU: each of its own run
            t[name] = (min(v[0] for v in values), min(v[1] for v in values))
        if with_exactextract:
            t["exactextract (all parcels), JP2"] = (run_exactextract(cfg, geoms, hrefs),) * 2
    (wall, cpu), (fwall, fcpu) = t[mine], t[floor]
    print(f"JP2 (best of {max(1, runs)}): ours / JP2 decode floor {wall / fwall:.2f}x wall, "
          f"{cpu / fcpu:.2f}x CPU; JP2 / COG cost (ours end to end) {wall / cog_ours[0]:.1f}x wall, "
          f"{cpu / cog_ours[1]:.1f}x CPU")
    return t


def main() -> None:
    args = parse_args()
    size, n = (2048, 2000) if args.quick else (10980, 200_000 if args.spread else 20_000)
    cfg = Config(size, args.parcels or n)
    assets = ("parcels.npy", *(f"{b}.tif" for b in (*BANDS10, *BANDS20, "SCL", *BANDS_S1)))
    if not all((cfg.folder / a).exists() for a in assets):
        import multiprocessing as mp

        print(f"building synthetic tile in {cfg.folder} ...", flush=True)
        proc = mp.get_context("spawn").Process(target=ensure_data, args=(cfg,))
        proc.start()
        proc.join()
    geoms = ensure_data(cfg)
    grid10, grid20 = grids(cfg)
    t: dict[str, tuple[float, float]] = {}
    t["JIT warm-up (compile, or load numba's cache)"] = timed(engine.warm_up)
    t0 = time.perf_counter()
    g10, g20 = parcel_grid(geoms, grid10), parcel_grid(geoms, grid20)
    assert g10 is not None and g20 is not None
    _ = g10.pixels.runs, g20.pixels.runs
    t["label rasters 10 m + 20 m (once per grid)"] = (time.perf_counter() - t0,) * 2
    describe(cfg, geoms, g10, g20)
    print(f"peak RSS after the label rasters: {peak_rss_gib():.2f} GiB")
    decode_floor(cfg, g10, g20, args.s1)  # warm the OS cache: every contender reads from memory
    reps = 3 if args.overlap or args.jp2 else 5  # best of N: the machine is shared
    bufs = floor_buffers(cfg, g10, g20, args.s1)
    hrefs, cache = prepared_cache(cfg, geoms, g10, g20, args.s1)
    ours(hrefs, geoms, cache)  # once first: its read buffers and scratch exist, as in a worker
    runs: dict[str, list[tuple[float, float]]] = {}
    for _ in range(reps):  # taken in turns, so that all three see the same load
        runs.setdefault("decode floor (one thread)", []).append(
            timed(decode_floor, cfg, g10, g20, args.s1))
        runs.setdefault("decode floor, reused buffers", []).append(
            timed(decode_floor, cfg, g10, g20, args.s1, bufs))
        runs.setdefault("ours end to end", []).append(timed(ours, hrefs, geoms, cache))
    for name, values in runs.items():  # fastest wall, least CPU: each of its own run
        t[name] = (min(v[0] for v in values), min(v[1] for v in values))
    rss = peak_rss_gib()
    if not args.no_competitors and not args.s1:
        t |= competitors(cfg, geoms, args.rasterstats_parcels)
    if args.overlap and not args.s1:
        t |= overlap_case(cfg, geoms, grid10, grid20, args, reps)
        (ow, oc), (nw, nc) = t["ours end to end, 50 % overlapping"], t["ours end to end"]
        print(f"50 % overlapping / none overlapping (ours end to end): {ow / nw:.2f}x wall, "
              f"{oc / nc:.2f}x CPU")
    if args.jp2 and not args.s1:
        t |= jp2_case(cfg, geoms, t["ours end to end"], args.jp2_runs, not args.no_competitors)
    print("Sentinel-1 image: VV, VH float32 (NaN nodata), no mask" if args.s1 else
          "Sentinel-2 image: SCL + 4 bands at 10 m + 2 at 20 m")
    report(len(geoms), t, rss, len(BANDS_S1) if args.s1 else len(BANDS10) + len(BANDS20))


if __name__ == "__main__":
    main()
