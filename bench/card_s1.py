"""`cbm card s1` against sarsen's own `rtc` command on the same GRD and DEM grid, side by side.

    python bench/card_s1.py [--grids 20:small,10:dem] [--repeat 1] [--country-km2 41500]

Input: the real GRD subset of the sarsen sdist (tests/s1card.py: real annotation, calibration
and orbit; synthetic DN over the DEM, the sdist ships DN 0) and its 30 m DEM north of Rome, taken
as ellipsoidal heights. For each grid (``RES:AREA``, AREA ``small`` = 2.5 x 3.3 km, ``dem`` =
most of the DEM, 6.6 x 8.9 km) both run in a fresh process each, one after the other:

* ``cbm``: ``backend.ard.card_s1`` (DEM warp, thermal noise removal, sarsen rtc, COG + item; no
  catalogue), the default;
* ``cbm-raw``: the same with ``denoise=False``, what ``sarsen rtc`` computes (like for like);
* ``sarsen``: ``sarsen rtc`` (its typer command function) on the DEM already on the grid;
* ``quiet``: the same command with its ``logging.basicConfig(level=INFO)`` made a no-op. On the
  10 m grid the command took 22-30 CPU s and 5.2-5.4 GB peak in 3 runs (load 17-28) and
  9.9 s / 0.8 GB in a 4th (load ~13); ``quiet`` and ``cbm`` were 0.9 GB every time. The cause
  (logging, or dask's threaded scheduler under load) is not established: look at both ratios.

Printed per run: wall s, CPU s (user + sys of the child), peak RSS MB (the child's
``ru_maxrss``), and the ratios cbm / sarsen and cbm / quiet. No network (the sdist is fetched once by the
tests into var/cache/s1). The projection fits CPU = fixed + per-pixel from the two grids and
scales it to a country's year of GRD (assumptions printed).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

AREAS = {"small": (12.47, 41.97, 12.50, 42.0), "dem": (12.46, 41.96, 12.54, 42.04)}

CHILD = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
mode, safe, dem, out, bbox, res = sys.argv[1:7]
bbox, res = tuple(json.loads(bbox)), int(res)
if mode.startswith("cbm"):
    from pathlib import Path
    from backend.ard import CardSpec, card_s1
    from backend.settings import Settings
    spec = CardSpec("EPSG:32633", res, bbox, denoise=mode == "cbm")
    card_s1(Settings(dem=dem), safe, Path(out), spec, catalogue=False, replace=True)
else:
    import logging
    from sarsen import __main__ as cli
    if mode == "quiet":
        logging.basicConfig = lambda **kwargs: None
    cli.rtc(safe, "IW/VV", dem, output_urlpath=out + "/rtc.tif")
"""


def run_child(args: list[str]) -> tuple[float, float, float]:
    """Wall s, CPU s and peak RSS MB of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, *args], cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"child {args[0]} failed with status {status}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def prepare(tmp: Path, res: int, bbox: tuple[float, float, float, float]) -> tuple[Path, Path, int]:
    """The SAFE copy with DN, the ellipsoidal DEM, the DEM on the grid; returns pixels too."""
    from s1card import ellipsoidal_dem, sarsen_data, with_dn

    from backend.ard.grid import footprint_from_wkt, make_grid, warp_dem

    data = sarsen_data()
    dem = ellipsoidal_dem(data, tmp / "dem.tif")
    safe = with_dn(data, tmp, AREAS["dem"], -12.0)
    footprint = footprint_from_wkt(_bounds(safe))
    grid = make_grid(footprint, "EPSG:32633", res, bbox)
    grid_dem = warp_dem(str(dem), grid, tmp / f"dem_{res}.tif")
    rows, cols = grid.shape
    return safe, grid_dem, rows * cols


def _bounds(safe: Path) -> str:
    import xarray as xr

    return str(xr.open_dataset(safe, engine="sentinel-1", group="IW/VV/gcp").attrs["geospatial_bounds"])


def main() -> None:
    """Run the side-by-side comparison and print the projection."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--grids", default="20:small,10:dem")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--country-km2", type=float, default=41_500.0, help="area (NL: 41 500 km²)")
    ap.add_argument("--acquisitions", type=float, default=120.0,
                    help="GRD acquisitions per point per year (2 satellites, overlapping orbits)")
    ap.add_argument("--polarisations", type=int, default=2)
    ap.add_argument("--frame-km2", type=float, default=250 * 170, help="area of one IW GRD frame")
    a = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    fits = []
    with tempfile.TemporaryDirectory(prefix="bench-card-") as t:
        tmp = Path(t)
        for spec in a.grids.split(","):
            res_s, area = spec.split(":")
            res, bbox = int(res_s), AREAS[area]
            work = tmp / spec.replace(":", "_")
            work.mkdir()
            safe, grid_dem, pixels = prepare(work, res, bbox)
            print(f"\ngrid {res} m over {area}: {pixels} pixels")
            print(f"{'run':>8} {'wall s':>8} {'cpu s':>8} {'peak MB':>8}")
            for _ in range(a.repeat):
                mine = {m: run_child([m, str(safe), str(work / "dem.tif"), str(work / m), json.dumps(bbox),
                                      str(res)]) for m in ("cbm", "cbm-raw")}
                ours = mine["cbm"]
                (work / "ref").mkdir(exist_ok=True)
                refs = {m: run_child([m, str(safe), str(grid_dem), str(work / "ref"), json.dumps(bbox),
                                      str(res)]) for m in ("sarsen", "quiet")}
                for name, r in (*mine.items(), *refs.items()):
                    print(f"{name:>8} {r[0]:8.1f} {r[1]:8.1f} {r[2]:8.0f}")
                for name, r in mine.items():
                    for m, ref in refs.items():
                        ratios = (r[i] / ref[i] for i in range(3))
                        print(f"{name + '/' + m:>15} " + " ".join(f"{v:8.2f}" for v in ratios))
            fits.append((pixels, ours[1]))
    _project(a, fits)


def _project(a: argparse.Namespace, fits: list[tuple[int, float]]) -> None:
    if len(fits) < 2 or fits[0][0] == fits[-1][0]:
        return
    (p0, c0), (p1, c1) = fits[0], fits[-1]
    per_px = max((c1 - c0) / (p1 - p0), 0.0)
    fixed = max(c0 - per_px * p0, 0.0)
    px_10m = a.country_km2 * 1e4  # 10 m pixels per polarisation
    products = a.country_km2 / a.frame_km2 * a.acquisitions * 1.3  # 1.3: frames overlap the border
    hours = (products * fixed * a.polarisations + a.acquisitions * px_10m * per_px * a.polarisations) / 3600
    print(f"\nfit: {fixed:.1f} CPU s fixed per polarisation + {per_px * 1e6:.1f} CPU s per Mpx")
    print(f"assumptions: {a.country_km2:.0f} km², {a.acquisitions:.0f} acquisitions per point per year, "
          f"{a.polarisations} polarisations, frames of {a.frame_km2:.0f} km² (x1.3 for border overlap), "
          f"10 m grid, per-pixel cost as on this DEM's terrain, one core per product")
    print(f"projected: {hours:.0f} core-hours per year ({products:.0f} products)")


if __name__ == "__main__":
    main()
