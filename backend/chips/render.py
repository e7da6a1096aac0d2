"""Render chips of one image with rio-tiler: PNG for people, raw GeoTIFF for analysts.

Every function here is cached on disk (:mod:`backend.chips.cache`) and opens rasters only
through :func:`backend.storage.open_raster`, inside the configured GDAL environment.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.errors import RasterioError
from rasterio.io import MemoryFile
from rasterio.transform import from_bounds
from rio_tiler.colormap import cmap
from rio_tiler.io import Reader
from rio_tiler.models import ImageData

from backend import storage
from backend.catalogue.assets import band_hrefs
from backend.chips import overlay
from backend.chips.cache import cache_key, cached
from backend.chips.grid import BandGrid, Bounds, band_grid, grid_from_item
from backend.chips.spec import DB_BANDS, ChipSpec
from backend.errors import ImageReadError, InvalidInput
from backend.settings import Settings

log = logging.getLogger(__name__)
NDVI_COLORMAP = "rdylgn"
IMAGE_FORMATS = {"png": "PNG", "tif": "GTiff"}


@dataclass(frozen=True)
class Placement:
    """Where a chip lies: reference grid, bounds in its CRS, output size in pixels."""

    grid: BandGrid
    bounds: Bounds
    size: int

    @property
    def crs(self) -> CRS:
        """CRS of the chip (the image's)."""
        return self.grid.crs

    def key_parts(self) -> tuple[object, ...]:
        """Cache-key parts: the window on the pixel grid."""
        return (self.crs.to_string(), tuple(round(b, 3) for b in self.bounds), self.size)


@contextlib.contextmanager
def gdal_env(settings: Settings) -> Iterator[None]:
    """The configured GDAL environment, unless the caller already opened one."""
    if rasterio.env.hasenv():
        yield
        return
    with storage.raster_env(settings):
        yield


def hrefs_for(image: Mapping[str, Any], bands: tuple[str, ...]) -> dict[str, str]:
    """Hrefs of ``bands`` of an image.

    Raises:
        InvalidInput: the image has no such band.
    """
    hrefs = band_hrefs(image)
    missing = [b for b in bands if b not in hrefs]
    if missing:
        raise InvalidInput(f"image {image.get('item_id')} has no band {', '.join(missing)}; "
                           f"it has {', '.join(hrefs)}")
    return hrefs


def grid_of(settings: Settings, image: Mapping[str, Any], band: str, href: str) -> BandGrid:
    """A band's grid: from the item when it has projection fields (no IO), else the header."""
    grid = grid_from_item(image, band)
    if grid is not None:
        return grid
    with gdal_env(settings):
        return band_grid(image, band, href)


def place(
    settings: Settings, image: Mapping[str, Any], spec: ChipSpec, hrefs: Mapping[str, str]
) -> Placement:
    """The chip's window on the grid of the spec's first band (or its ground extent)."""
    band = spec.bands[0]
    grid = grid_of(settings, image, band, hrefs[band])
    x, y = grid.to_crs(spec.lon, spec.lat)
    if spec.extent_m is None:
        _, _, bounds = grid.chip(x, y, spec.size)
    else:
        half = spec.extent_m / 2
        bounds = (x - half, y - half, x + half, y + half)
    return Placement(grid, bounds, spec.size)


def _in_env(settings: Settings, produce: Callable[[], bytes]) -> Callable[[], bytes]:
    """``produce`` run inside the GDAL environment (entered only on a cache miss)."""
    def run() -> bytes:
        with gdal_env(settings):
            return produce()
    return run


def read_part(href: str, crs: CRS, bounds: Bounds, width: int, height: int) -> ImageData:
    """Read a window of a band file resampled (nearest) to ``width`` x ``height``.

    Raises:
        ImageReadError: the file cannot be opened or its blocks cannot be decoded.
    """
    with storage.open_raster(href) as ds, Reader(href, dataset=ds) as src:
        try:
            return src.part(bounds, dst_crs=crs, bounds_crs=crs, width=width, height=height)
        except RasterioError as exc:
            raise ImageReadError(f"cannot read {href}: {exc}") from None


def chip_png_file(settings: Settings, image: Mapping[str, Any], spec: ChipSpec, *, fmt: str = "png",
                  outline: Mapping[str, Any] | None = None) -> Path:
    """Path of the cached PNG chip of an image (rendered on a miss).

    With ``fmt="tif"`` the same 8-bit picture as a georeferenced GeoTIFF (mask as alpha). With
    ``outline`` (a WGS84 GeoJSON polygon) its boundary is drawn in yellow.

    Raises:
        InvalidInput: the image lacks a band of the style.
        ImageReadError: a band file cannot be read.
    """
    if fmt not in IMAGE_FORMATS:
        raise InvalidInput(f"format must be one of {', '.join(IMAGE_FORMATS)}, not {fmt!r}")
    hrefs = hrefs_for(image, spec.bands)
    where = place(settings, image, spec, hrefs)
    shape = json.dumps(outline, sort_keys=True) if outline is not None else None
    key = cache_key(fmt, image["id"], image["item_hash"], spec.cache_parts(), where.key_parts(), shape)
    return cached(settings, key, f".{fmt}", _in_env(settings, lambda: _png(spec, hrefs, where,
                                                                            IMAGE_FORMATS[fmt], outline)))


def render_png(settings: Settings, image: Mapping[str, Any], spec: ChipSpec) -> bytes:
    """PNG bytes of a chip (RGB or colour-mapped with an alpha band for no-data).

    Args:
        settings: backend settings (GDAL, object store, cache directory).
        image: a row of ``images`` (``id``, ``item_hash``, ``item``, ``kind``).
        spec: location, size and style.
    """
    return chip_png_file(settings, image, spec).read_bytes()


def _png(spec: ChipSpec, hrefs: Mapping[str, str], where: Placement, driver: str = "PNG",
         outline: Mapping[str, Any] | None = None) -> bytes:
    img = stretched_image(spec, hrefs, where)
    if outline is None:
        colormap = cmap.get(NDVI_COLORMAP) if spec.mode == "ndvi" else None
        return img.render(img_format=driver, colormap=colormap)
    return overlay.outline(colourised(img) if spec.mode == "ndvi" else img, outline).render(img_format=driver)


def colourised(img: ImageData) -> ImageData:
    """A one-band 8-bit image through the NDVI colour map, as RGB (masked pixels stay masked)."""
    lut = np.array([cmap.get(NDVI_COLORMAP)[i][:3] for i in range(256)], dtype="uint8")
    band = np.ma.getdata(img.array[0]).astype("uint8")
    mask = np.broadcast_to(np.ma.getmaskarray(img.array[0]), (3, *band.shape)).copy()
    return ImageData(np.ma.array(np.moveaxis(lut[band], -1, 0), mask=mask), crs=img.crs, bounds=img.bounds)


def stretched_image(spec: ChipSpec, hrefs: Mapping[str, str], where: Placement) -> ImageData:
    """The chip's bands read, combined (NDVI, dB) and stretched to 8 bits (open a GDAL env first)."""
    parts = [read_part(hrefs[b], where.crs, where.bounds, where.size, where.size) for b in spec.bands]
    data = np.ma.concatenate([p.array.astype("float64") for p in parts])
    if spec.mode == "ndvi":
        nir, red = data[0], data[1]
        total = nir + red
        data = np.ma.masked_where(np.ma.getmaskarray(total) | (total == 0), (nir - red) / total)[None]
    elif set(spec.bands) <= DB_BANDS:
        data = 10 * np.ma.log10(np.ma.masked_less_equal(data, 0))
    img = ImageData(data, crs=where.crs, bounds=where.bounds)
    img.rescale(in_range=[spec.stretch.bounds(band.compressed()) for band in data])
    return img


def chip_geotiff_file(settings: Settings, image: Mapping[str, Any], band: str, spec: ChipSpec) -> Path:
    """Path of the cached raw GeoTIFF chip of one band (rendered on a miss).

    The chip covers the window of ``spec`` (on the grid of ``spec``'s first band) with whole
    pixels of ``band`` at its native resolution: values, data type, nodata and CRS are the
    source's.
    """
    hrefs = hrefs_for(image, (*spec.bands, band))
    where = place(settings, image, spec, hrefs)
    grid = grid_of(settings, image, band, hrefs[band])
    key = cache_key("tif", image["id"], image["item_hash"], band, spec.cache_parts(), where.key_parts())
    return cached(settings, key, ".tif", _in_env(settings, lambda: _geotiff(hrefs[band], grid, where.bounds)))


def render_geotiff(settings: Settings, image: Mapping[str, Any], band: str, spec: ChipSpec) -> bytes:
    """GeoTIFF bytes of the raw values of one band around the spec's location.

    Args:
        settings: backend settings.
        image: a row of ``images``.
        band: canonical band name (``B04``, ``SCL``, ``VV``...).
        spec: location and size (the size counts pixels of the spec's first band).
    """
    return chip_geotiff_file(settings, image, band, spec).read_bytes()


def _geotiff(href: str, grid: BandGrid, bounds: Bounds) -> bytes:
    width, height, snapped = grid.covering(bounds)
    img = read_part(href, grid.crs, snapped, width, height)
    fill = img.nodata if img.nodata is not None else 0
    data = img.array.filled(fill)
    profile = {"driver": "GTiff", "width": width, "height": height, "count": 1, "dtype": data.dtype,
               "crs": grid.crs, "transform": from_bounds(*snapped, width, height),
               "nodata": img.nodata, "compress": "deflate"}
    with MemoryFile() as mem:
        with mem.open(**profile) as dst:
            dst.write(data[0], 1)
        return bytes(mem.read())


def cloud_fraction(settings: Settings, image: Mapping[str, Any], spec: ChipSpec) -> float | None:
    """Fraction of the chip's SCL pixels in the masked classes (``scl_mask_classes``).

    SCL class 0 (no data) counts neither way. None for images without SCL (S1) or when the
    chip has no SCL data at all.
    """
    if "SCL" not in band_hrefs(image):
        return None
    classes = sorted(set(settings.scl_mask_classes) - {0})
    hrefs = hrefs_for(image, spec.bands)
    where = place(settings, image, spec, hrefs)
    grid = grid_of(settings, image, "SCL", hrefs["SCL"])
    key = cache_key("cloud", image["id"], image["item_hash"], classes, where.key_parts())
    path = cached(settings, key, ".json", _in_env(settings, lambda: json.dumps(
        {"cloud_fraction": _fraction(hrefs["SCL"], grid, where, classes)}).encode()))
    value = json.loads(path.read_bytes())["cloud_fraction"]
    return None if value is None else float(value)


def _fraction(href: str, grid: BandGrid, where: Placement, classes: list[int]) -> float | None:
    width, height, snapped = grid.covering(where.bounds)
    scl = read_part(href, grid.crs, snapped, width, height).array[0].compressed()
    scl = scl[scl != 0]
    if scl.size == 0:
        return None
    return round(float(np.isin(scl, classes).mean()), 4)
