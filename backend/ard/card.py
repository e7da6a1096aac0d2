"""CARD-BS: calibrated, terrain-corrected Sentinel-1 backscatter from a GRD product.

The SAR physics is sarsen's (backward geocoding on the DEM, gamma flattening) and
xarray-sentinel's (reading the SAFE, calibration LUTs); this module chooses the grid, checks
the inputs, runs sarsen per polarisation and writes COGs plus a STAC item that the catalogue
takes as backscatter (kind ``bs``).

Radiometry: ``gamma0`` (default) is terrain-flattened gamma nought, exactly what
``sarsen rtc`` makes (beta nought over the DEM-simulated illuminated area, bilinear gamma
weights); ``sigma0`` is sigma nought (xarray-sentinel's sigmaNought LUT) geocoded on the DEM
like ``sarsen gtc``. Thermal noise is removed by default (:mod:`backend.ard.noise`, ESA's
range x azimuth noise vectors, ``DN² - noise`` before calibration) and the item says
``s1:thermal_noise_removed: true``; ``denoise=False`` keeps the noise (then gamma0 is exactly
``sarsen rtc``'s output, and the item id ends in ``_NO-DENOISE``).

Values: linear power, float32, NaN where there is no measurement (outside the swath, or DN 0,
the GRD fill value); with denoising, 0 where the pixel is darker than the noise floor.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.shutil
import xarray as xr

from backend.ard import noise, products
from backend.ard.grid import Grid, footprint_from_wkt, make_grid, warp_dem
from backend.ard.safe import GrdFiles, check_safe, local_safe
from backend.errors import InvalidInput
from backend.settings import Settings
from backend.storage import raster_env

log = logging.getLogger(__name__)

RADIOMETRY = ("gamma0", "sigma0")
COLLECTION = "cbm-card-bs"


@dataclass(frozen=True)
class CardSpec:
    """What to make: UTM grid (EPSG code), pixel size, optional lon/lat bbox, radiometry, denoising."""

    crs: str
    resolution: int = 10
    bbox: tuple[float, float, float, float] | None = None
    radiometry: str = "gamma0"
    chunks: int = 1024
    denoise: bool = True

    def __post_init__(self) -> None:
        if self.radiometry not in RADIOMETRY:
            raise InvalidInput(f"radiometry {self.radiometry!r}: use one of {', '.join(RADIOMETRY)}")
        Grid(self.crs, self.resolution, (0, 0, 1, 1))


@dataclass
class CardResult:
    """The product made: its folder, item file, grid, COG per polarisation and catalogue counts."""

    item_id: str
    folder: Path
    item_path: Path
    grid: Grid
    assets: dict[str, Path] = field(default_factory=dict)
    catalogued: int = 0
    seconds: float = 0.0


def card_s1(settings: Settings, source: str, out_dir: Path, spec: CardSpec, *,
            catalogue: bool = True, replace: bool = False) -> CardResult:
    """Make CARD-BS COGs and a STAC item from a GRD product, and catalogue them.

    Args:
        settings: backend settings (``dem`` is the DEM; S3 access for ``s3://`` sources).
        source: ``.SAFE`` folder or zip (local or ``s3://``) or a STAC item file of a GRD.
        out_dir: the product goes into ``out_dir/<item id>/`` (``VV.tif``, ``VH.tif``, item).
        spec: grid and radiometry.
        catalogue: add the item to the image catalogue (kind ``bs``).
        replace: overwrite an existing product folder of the same id.

    Raises:
        InvalidInput: bad product (not GRD, truncated, missing calibration), DEM not covering
            the grid, bbox outside the footprint. Nothing is written or catalogued then.
        ConfigError: no DEM configured.
    """
    t0 = dt.datetime.now(dt.UTC)
    with local_safe(settings, source) as safe:
        files = check_safe(safe)
        if spec.denoise:  # refuse an unreadable noise annotation before any work
            for pol in files.polarisations:
                noise.read_noise(noise.noise_xml(files.safe, pol))
        meta = products.metadata(files)
        grid = make_grid(footprint_from_wkt(meta["geospatial_bounds"]), spec.crs, spec.resolution,
                         spec.bbox)
        item_id = product_id(files, spec)
        folder = out_dir / item_id
        if folder.exists() and not replace:
            raise InvalidInput(f"{folder} exists: give --replace to make the product again")
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".card-", dir=out_dir) as tmp:
            work = Path(tmp)
            with raster_env(settings):
                dem = warp_dem(settings.dem, grid, work / "dem.tif")
            staging = work / item_id
            staging.mkdir()
            assets = {pol: _one_polarisation(files, pol, dem, spec, work, staging)
                      for pol in files.polarisations}
            _write_item(staging, item_id, files, meta, grid, spec, assets)
            if folder.exists():
                shutil.rmtree(folder)
            staging.rename(folder)
    result = CardResult(item_id, folder, folder / "item.json", grid,
                        {p: folder / a.name for p, a in assets.items()})
    if catalogue:
        from backend.catalogue import add_source

        added = add_source(settings, str(result.item_path), kind="bs")
        if added.rejected:
            raise InvalidInput(f"the catalogue refused {item_id}: {added.rejected[0]}")
        result.catalogued = added.added + added.updated
    result.seconds = (dt.datetime.now(dt.UTC) - t0).total_seconds()
    return result


def product_id(files: GrdFiles, spec: CardSpec) -> str:
    """Item id: the GRD name's first part plus grid and radiometry (one id per product and grid)."""
    epsg = spec.crs.upper().replace("EPSG:", "")
    kept = "" if spec.denoise else "_NO-DENOISE"
    return f"{files.safe.name[:-5] if files.safe.name.endswith('.SAFE') else files.safe.name}" \
           f"_CARD-BS_{spec.radiometry.upper()}_{epsg}_{spec.resolution}m{kept}"


def _one_polarisation(files: GrdFiles, pol: str, dem: Path, spec: CardSpec, work: Path,
                      staging: Path) -> Path:
    raw = work / f"{pol}.sarsen.tif"
    products.terrain_correct(files, pol, dem, raw, spec.radiometry, spec.chunks, spec.denoise)
    return to_cog(raw, staging / f"{pol}.tif", pol, spec.radiometry, spec.denoise)


def to_cog(raw: Path, out: Path, pol: str, radiometry: str, denoised: bool = False) -> Path:
    """The GeoTIFF sarsen wrote, as a north-up float32 COG with NaN nodata.

    Without denoising, values that are not positive are the DN-0 fill and become NaN; denoised, the
    fill is NaN already (:func:`backend.ard.noise.denoised_amplitude`) and 0 is a valid value
    (below the noise floor), so only negatives (none expected) and NaN are no data.
    """
    with rasterio.open(raw) as src:
        data = src.read(1).astype(np.float32)
        transform, crs = src.transform, src.crs
    if transform.e > 0:  # sarsen writes the DEM's grid south-up when it flipped y: put north up
        data = data[::-1]
        transform = rasterio.transform.Affine(transform.a, 0, transform.c, 0, -transform.e,
                                              transform.f + transform.e * data.shape[0])
    data[~(data >= 0) if denoised else ~(data > 0)] = np.nan
    profile = {"driver": "GTiff", "width": data.shape[1], "height": data.shape[0], "count": 1,
               "dtype": "float32", "crs": crs, "transform": transform, "nodata": np.nan}
    with rasterio.MemoryFile() as mem:
        with mem.open(**profile) as tmp:
            tmp.write(data, 1)
            tmp.set_band_description(1, pol)
            tmp.update_tags(1, radiometry=radiometry, units="linear power",
                            thermal_noise_removed=str(denoised).lower())
        with mem.open() as tmp:
            rasterio.shutil.copy(tmp, out, driver="COG", COMPRESS="DEFLATE", PREDICTOR="3",
                                 BLOCKSIZE="512", OVERVIEWS="AUTO", RESAMPLING="AVERAGE")
    return out


def _write_item(folder: Path, item_id: str, files: GrdFiles, meta: dict[str, Any], grid: Grid,
                spec: CardSpec, assets: dict[str, Path]) -> None:
    from rio_stac import create_stac_item

    first = assets[files.polarisations[0]]
    start = dt.datetime.fromisoformat(meta["start_time"]).replace(tzinfo=dt.UTC)
    item = create_stac_item(str(first), input_datetime=start, id=item_id, collection=COLLECTION,
                            with_proj=True, asset_name=files.polarisations[0])
    item.properties.update(products.item_properties(files, meta, spec.radiometry, spec.resolution,
                                                    spec.denoise))
    for pol, path in assets.items():
        asset = item.assets.get(pol) or item.assets[files.polarisations[0]].clone()
        asset.href = path.name
        asset.title = f"{pol} {spec.radiometry} (linear power)"
        asset.roles = ["data", "backscatter"]
        item.assets[pol] = asset
    doc = item.to_dict(include_self_link=False, transform_hrefs=False)
    doc["assets"] = {k: {**v, "href": assets[k].name} for k, v in doc["assets"].items()}
    (folder / "item.json").write_text(json.dumps(doc, indent=1))


def open_result(path: Path) -> xr.DataArray:
    """A CARD-BS COG as a DataArray (for notebooks)."""
    return xr.open_dataarray(path, engine="rasterio").squeeze(drop=True)
