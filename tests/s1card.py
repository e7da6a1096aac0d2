"""Real Sentinel-1 GRD metadata from the sarsen sdist, for the CARD-BS tests and bench.

The sarsen sdist (Apache-2.0, on PyPI) ships a real GRD ``.SAFE`` subset (manifest, annotation,
calibration, noise, orbit: all real) and a real 30 m DEM north of Rome. Its measurement TIFF is
all DN 0 (the pixels were blanked to keep the sdist small), so radiometry cannot be checked on
it as shipped. :func:`with_dn` therefore writes, into a copy, a measurement whose DN give a
**known sigma nought** through the product's own sigmaNought LUT (DN = sqrt(sigma0) * A): a
synthetic measurement on real geometry and calibration, said so wherever it is used.

Fetched with ``pip download`` (the registry, as the issue says) into ``var/cache/s1``.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import rasterio
import xarray as xr

SARSEN = "0.9.6"
GRD = "S1B_IW_GRDH_1SDV_20211223T051122_20211223T051147_030148_039993_5371.SAFE"
CACHE = Path(__file__).resolve().parents[1] / "var" / "cache" / "s1"


def sarsen_data() -> Path:
    """``tests/data`` of the sarsen sdist, downloaded and unpacked once into var/cache/s1.

    Under a file lock: two test processes (pytest-xdist workers) must not copy a half-unpacked
    product (a fresh-clone run copied a noise XML cut at 176 kB while the other worker unpacked it).
    """
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _unpacked()


def _unpacked() -> Path:
    data = CACHE / f"sarsen-{SARSEN}" / "tests" / "data"
    if (data / GRD / "manifest.safe").is_file():
        return data
    sdist = CACHE / f"sarsen-{SARSEN}.tar.gz"
    if not sdist.is_file():
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                        f"sarsen=={SARSEN}", "-d", str(CACHE)], check=True, capture_output=True)
    with tarfile.open(sdist) as tf:
        members = [m for m in tf.getmembers() if m.name.startswith(f"sarsen-{SARSEN}/tests/data/")]
        unsafe = [m.name for m in members if not (m.isfile() or m.isdir()) or ".." in Path(m.name).parts]
        if unsafe:  # what tarfile's "data" filter refuses; Debian 12's Python 3.11.2 has no filter
            raise RuntimeError(f"{sdist.name}: unexpected members {unsafe[:3]}")
        tf.extractall(CACHE, members=members)
    return data


def ellipsoidal_dem(data: Path, out: Path, west: float | None = None, flat_m: float = 60.0) -> Path:
    """The sdist's DEM with its CRS as plain WGS 84 (heights taken as ellipsoidal).

    The DEM declares EGM96 heights (EPSG:9707); without the geoid grid PROJ would ignore the
    geoid, and ``cbm card s1`` refuses it. For tests of the processing chain the heights are
    taken as ellipsoidal (a ~47 m height offset: the same for our product and sarsen's).
    With ``west`` the grid is extended west to that longitude with a flat ``flat_m`` (synthetic:
    it reaches the swath's far-range edge, which the real DEM does not).
    """
    with rasterio.open(data / "Rome-30m-DEM.tif") as src:
        profile, heights, t = src.profile, src.read(1), src.transform
    if west is not None:
        extra = int(np.ceil((t.c - west) / t.a))
        flat = np.full((heights.shape[0], extra), flat_m, heights.dtype)
        heights = np.concatenate([flat, heights], axis=1)
        t = rasterio.Affine(t.a, 0, t.c - extra * t.a, 0, t.e, t.f)
        profile.update(width=heights.shape[1], transform=t)
    profile.update(crs="EPSG:4326")
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(heights, 1)
    return out


def with_dn(data: Path, out: Path, bbox: tuple[float, float, float, float], sigma0_db: float,
            *, gap: tuple[float, float] | None = None) -> Path:
    """A copy of the GRD whose measurement gives ``sigma0_db`` over ``bbox`` (synthetic DN).

    DN are written for the lines/pixels whose geolocation grid points fall within the bbox
    (plus a margin), except between the longitudes of ``gap``; elsewhere DN stay 0.
    """
    safe = shutil.copytree(data / GRD, out / GRD, ignore=shutil.ignore_patterns("*.tiff"))
    tiff = next((data / GRD / "measurement").glob("*.tiff"))
    gcp = xr.open_dataset(data / GRD, engine="sentinel-1", group="IW/VV/gcp")
    cal = xr.open_dataset(data / GRD, engine="sentinel-1", group="IW/VV/calibration")
    lat, lon = gcp.latitude.values, gcp.longitude.values
    lines, pixels = gcp.line.values, gcp.pixel.values
    w, s, e, n = bbox
    inside = (lat > s - 0.05) & (lat < n + 0.05) & (lon > w - 0.07) & (lon < e + 0.07)
    rows, cols = np.nonzero(inside)
    l0, l1 = lines[max(rows.min() - 1, 0)], lines[min(rows.max() + 1, len(lines) - 1)]
    p0, p1 = pixels[max(cols.min() - 1, 0)], pixels[min(cols.max() + 1, len(pixels) - 1)]
    ll, pp = np.arange(l0, l1), np.arange(p0, p1)
    a = cal.sigmaNought.interp(line=ll, pixel=pp).values  # the LUT, bilinear like xarray-sentinel
    dn = np.sqrt(10 ** (sigma0_db / 10)) * a
    if gap is not None:
        glon = _interp_grid(lon, lines, pixels, ll, pp)
        dn[(glon > gap[0]) & (glon < gap[1])] = 0
    with rasterio.open(tiff) as src:
        profile = src.profile
    profile.update(nodata=None, tiled=True, blockxsize=512, blockysize=512, compress="deflate",
                   sparse_ok=True)
    with rasterio.open(safe / "measurement" / tiff.name, "w", **profile) as dst:
        dst.write(np.round(dn).astype(np.uint16), 1,
                  window=((int(l0), int(l1)), (int(p0), int(p1))))
    return safe


def _interp_grid(values: np.ndarray, lines: np.ndarray, pixels: np.ndarray, ll: np.ndarray,
                 pp: np.ndarray) -> np.ndarray:
    da = xr.DataArray(values, coords={"line": lines, "pixel": pixels}, dims=("line", "pixel"))
    return da.interp(line=ll, pixel=pp).values
