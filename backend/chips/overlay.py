"""Draw a parcel outline (yellow, as the JRC client draws it) into an image chip."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import shapely.geometry
from rasterio.features import rasterize
from rasterio.transform import from_bounds
from rasterio.warp import transform_geom
from rio_tiler.models import ImageData

YELLOW = (1.0, 1.0, 0.0)  # fractions of the data type's maximum, per RGB band


def outline(img: ImageData, geometry_wgs84: Mapping[str, Any], width_px: float = 2.0) -> ImageData:
    """A copy of ``img`` with the boundary of a WGS84 GeoJSON geometry drawn in yellow.

    Args:
        img: the chip (any CRS; 1 band gets white, 3 or more bands yellow in the first three).
        geometry_wgs84: GeoJSON polygon or multipolygon in WGS84.
        width_px: line width in pixels.
    """
    geom = shapely.geometry.shape(transform_geom("EPSG:4326", img.crs, dict(geometry_wgs84)))
    assert img.bounds is not None and img.crs is not None, "a georeferenced chip"
    left, bottom, right, top = img.bounds
    transform = from_bounds(left, bottom, right, top, img.width, img.height)
    line = geom.boundary.buffer(abs(transform.a) * width_px / 2)
    if line.is_empty:
        return img
    hit = rasterize([line], out_shape=(img.height, img.width), transform=transform, fill=0,
                    default_value=1, dtype="uint8").astype(bool)
    data = np.ma.array(img.array, copy=True)
    top = np.iinfo(data.dtype).max if np.issubdtype(data.dtype, np.integer) else float(data.max() or 1)
    colours = YELLOW if data.shape[0] >= 3 else (1.0,)
    for band, fraction in enumerate(colours):
        data[band][hit] = top * fraction
    data.mask = np.ma.getmaskarray(data)
    data.mask[:, hit] = False
    return ImageData(data, crs=img.crs, bounds=img.bounds, band_names=img.band_names)
