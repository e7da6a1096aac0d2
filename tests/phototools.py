"""JPEG photos with EXIF written by the tests: GPS position, time, bearing, accuracy; or none of it.

Positions are given in the test grid's CRS (``gridtools.CRS``) or WGS84; each photo's pixels come
from a seed, so two photos differ in content (and hash) unless they share the seed.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from gridtools import CRS
from PIL import ExifTags, Image
from pyproj import Transformer

_TO_WGS84 = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def wgs84(x: float, y: float) -> tuple[float, float]:
    """Grid CRS metres -> (lon, lat)."""
    lon, lat = _TO_WGS84.transform(x, y)
    return float(lon), float(lat)


def _dms(value: float) -> tuple[float, float, float]:
    value = abs(value)
    d = int(value)
    m = int((value - d) * 60)
    return float(d), float(m), round((value - d - m / 60) * 3600, 6)


def jpeg(*, lonlat: tuple[float, float] | None = None, taken: str | None = "2025:06:15 10:11:12",
         offset: str | None = "+02:00", bearing: float | None = None, bearing_ref: str = "T",
         accuracy: float | None = None, exif: bool = True, seed: int = 0, size: tuple[int, int] = (96, 64),
         gps_raw: dict[int, Any] | None = None, quality: int = 90, fmt: str = "JPEG") -> bytes:
    """A JPEG (or ``fmt="HEIF"``: HEIC) with the EXIF asked for (``exif=False``: none at all;
    ``gps_raw`` overrides GPS tags)."""
    if fmt == "HEIF":
        from pillow_heif import register_heif_opener

        register_heif_opener()
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    img = Image.fromarray(pixels, "RGB")
    out = io.BytesIO()
    if not exif:
        img.save(out, fmt, quality=quality)
        return out.getvalue()
    ex = Image.Exif()
    ex[ExifTags.Base.Make] = "CbM test camera"
    gps = ex.get_ifd(ExifTags.IFD.GPSInfo)
    if lonlat is not None:
        lon, lat = lonlat
        gps[ExifTags.GPS.GPSLatitudeRef] = "N" if lat >= 0 else "S"
        gps[ExifTags.GPS.GPSLatitude] = _dms(lat)
        gps[ExifTags.GPS.GPSLongitudeRef] = "E" if lon >= 0 else "W"
        gps[ExifTags.GPS.GPSLongitude] = _dms(lon)
    if bearing is not None:
        gps[ExifTags.GPS.GPSImgDirectionRef] = bearing_ref
        gps[ExifTags.GPS.GPSImgDirection] = float(bearing)
    if accuracy is not None:
        gps[ExifTags.GPS.GPSHPositioningError] = float(accuracy)
    gps.update(gps_raw or {})
    sub = ex.get_ifd(ExifTags.IFD.Exif)
    if taken is not None:
        sub[ExifTags.Base.DateTimeOriginal] = taken
    if offset is not None:
        sub[ExifTags.Base.OffsetTimeOriginal] = offset
    img.save(out, fmt, quality=quality, exif=ex.tobytes() if fmt == "HEIF" else ex)
    return out.getvalue()
