"""Background images around a location: from a configured XYZ/WMTS source, or offline.

A source is an URL template in ``settings.chip_background_sources`` (``{z}/{x}/{y}`` or WMTS
``{TileMatrix}/{TileRow}/{TileCol}`` in the GoogleMapsCompatible grid). GDAL's WMS driver
reads the tiles (through :func:`backend.storage.open_raster` and its HTTP settings) and
rio-tiler cuts the chip, in Web Mercator. When no source of that name is configured, the
background is a true-colour chip of the least cloudy S2 image holding the point, so offline
deployments still have one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

from rasterio.crs import CRS
from rasterio.warp import transform as warp_transform

from backend.chips import render
from backend.chips.cache import cache_dir, cache_key, cached, relative, write_atomic
from backend.chips.service import ChipFile, check_size
from backend.chips.spec import ChipSpec
from backend.db import connect
from backend.db import queries_chips as q
from backend.errors import InvalidInput, LimitExceeded
from backend.settings import Settings

log = logging.getLogger(__name__)
WEB_MERCATOR = CRS.from_epsg(3857)
MAX_ZOOM = 19
FORMATS = {"png": ("PNG", "image/png"), "tif": ("GTiff", "image/tiff"), "tiff": ("GTiff", "image/tiff")}
_PLACEHOLDERS = {"{z}": "${z}", "{x}": "${x}", "{y}": "${y}", "{TileMatrix}": "${z}",
                 "{TileCol}": "${x}", "{TileRow}": "${y}"}


def background(
    settings: Settings, lon: float, lat: float, chipsize: int, extend_m: float, tms: str, iformat: str,
    *, conn: q.Conn | None = None,
) -> ChipFile | None:
    """A cached background image of ``extend_m`` metres around a point, ``chipsize`` px wide.

    Args:
        settings: backend settings (sources, limits, cache).
        lon: longitude (WGS84).
        lat: latitude (WGS84).
        chipsize: side in pixels.
        extend_m: side on the ground in metres.
        tms: source name (case-insensitive); unknown names use the offline fallback.
        iformat: ``png`` or ``tif``.
        conn: catalogue connection for the fallback; default a new one.

    Returns:
        The file, or None when no source is configured and no S2 image holds the point.

    Raises:
        InvalidInput: bad parameters.
        LimitExceeded: chipsize or extent above the configured limits.
    """
    fmt = _check(settings, lon, lat, chipsize, extend_m, iformat)
    sources = {k.lower(): v for k, v in settings.chip_background_sources.items()}
    template = sources.get(tms.strip().lower())
    if template is not None:
        return _from_source(settings, tms.strip().lower(), template, lon, lat, chipsize, extend_m, fmt)
    log.debug("background source %r not configured: least cloudy S2 image", tms)
    if conn is None:
        with connect(settings) as own:
            row = q.least_cloudy_at(own, lon, lat)
    else:
        row = q.least_cloudy_at(conn, lon, lat)
    return None if row is None else _from_image(settings, row, lon, lat, chipsize, extend_m, fmt)


def _check(settings: Settings, lon: float, lat: float, chipsize: int, extend_m: float, iformat: str) -> str:
    ChipSpec(lon, lat, chipsize)  # validates the location and size
    check_size(settings, chipsize)
    if not (math.isfinite(extend_m) and extend_m > 0):
        raise InvalidInput(f"extend must be a positive number of metres, got {extend_m}")
    if extend_m > settings.chip_background_max_extent_m:
        raise LimitExceeded(f"extend {extend_m:g} m exceeds the limit CBM_CHIP_BACKGROUND_MAX_EXTENT_M = "
                            f"{settings.chip_background_max_extent_m:g} m")
    fmt = iformat.strip().lower()
    if fmt not in FORMATS:
        raise InvalidInput(f"iformat must be one of {', '.join(FORMATS)}, got {iformat!r}")
    return "tif" if fmt == "tiff" else fmt


def _from_image(
    settings: Settings, row: Mapping[str, Any], lon: float, lat: float, chipsize: int, extend_m: float,
    fmt: str,
) -> ChipFile:
    spec = ChipSpec(lon, lat, chipsize, "truecolor", extent_m=extend_m)
    path = render.chip_png_file(settings, row, spec, fmt=fmt)
    name = f"{row['item_id']}_{chipsize}_{extend_m:g}.{fmt}"
    return ChipFile(relative(settings, path), name, FORMATS[fmt][1])


def _from_source(
    settings: Settings, name: str, template: str, lon: float, lat: float, chipsize: int, extend_m: float,
    fmt: str,
) -> ChipFile:
    xml = wms_description(settings, template)
    xs, ys = warp_transform("EPSG:4326", WEB_MERCATOR, [lon], [lat])
    half = extend_m / 2 / math.cos(math.radians(lat))  # Web Mercator metres per ground metre
    bounds = (xs[0] - half, ys[0] - half, xs[0] + half, ys[0] + half)
    key = cache_key("bg", template, round(lon, 7), round(lat, 7), chipsize, extend_m, fmt)

    def produce() -> bytes:
        with render.gdal_env(settings):
            img = render.read_part(str(xml), WEB_MERCATOR, bounds, chipsize, chipsize)
        return img.render(img_format=FORMATS[fmt][0])

    path = cached(settings, key, f".{fmt}", produce)
    safe = "".join(c if c.isalnum() else "_" for c in name)
    return ChipFile(relative(settings, path), f"{safe}_{chipsize}_{extend_m:g}.{fmt}", FORMATS[fmt][1])


def wms_description(settings: Settings, template: str) -> str:
    """Path of a GDAL WMS description file (TMS service) for an XYZ/WMTS URL template."""
    url = template
    for placeholder, gdal in _PLACEHOLDERS.items():
        url = url.replace(placeholder, gdal)
    if not all(p in url for p in ("${z}", "${x}", "${y}")):
        raise InvalidInput(f"background template needs {{z}} {{x}} {{y}} placeholders: {template}")
    world = 20037508.342789244
    xml = (
        f"<GDAL_WMS><Service name=\"TMS\"><ServerUrl>{escape(url)}</ServerUrl></Service>"
        f"<DataWindow><UpperLeftX>{-world}</UpperLeftX><UpperLeftY>{world}</UpperLeftY>"
        f"<LowerRightX>{world}</LowerRightX><LowerRightY>{-world}</LowerRightY>"
        f"<TileLevel>{MAX_ZOOM}</TileLevel><TileCountX>1</TileCountX><TileCountY>1</TileCountY>"
        "<YOrigin>top</YOrigin></DataWindow><Projection>EPSG:3857</Projection>"
        "<BlockSizeX>256</BlockSizeX><BlockSizeY>256</BlockSizeY><BandsCount>3</BandsCount>"
        f"<Timeout>{settings.http_timeout_s}</Timeout><ZeroBlockHttpCodes>204,404</ZeroBlockHttpCodes>"
        "</GDAL_WMS>"
    )
    path = cache_dir(settings) / "sources" / f"{cache_key('wms', xml)}.xml"
    if not path.is_file():
        write_atomic(path, xml.encode())
    return str(path)
