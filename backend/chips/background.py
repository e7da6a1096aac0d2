"""Background images around a location from a named source (:mod:`backend.chips.sources`).

XYZ/WMTS templates are read through GDAL's WMS driver (:func:`wms_description`) in Web
Mercator; orthophoto rasters (COG, VRT) in their own projected CRS; the ``s2`` source renders
the least cloudy S2 image in its UTM zone. rio-tiler cuts the chip, an optional parcel outline
is drawn in yellow, and the file is cached and named ``<source name>.<tif|png>``, which is what
the JRC client saves and opens.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from rasterio.crs import CRS
from rasterio.errors import RasterioError
from rasterio.warp import transform as warp_transform
from rasterio.warp import transform_bounds
from rio_tiler.io import Reader
from rio_tiler.models import ImageData

from backend import storage
from backend.chips import overlay, render
from backend.chips.cache import cache_dir, cache_key, cached, relative, write_atomic
from backend.chips.service import ChipFile, check_size
from backend.chips.sources import Source, resolve
from backend.chips.spec import ChipSpec
from backend.db import connect
from backend.db import queries_chips as q
from backend.errors import ImageReadError, InvalidInput, LimitExceeded
from backend.settings import Settings

log = logging.getLogger(__name__)
WEB_MERCATOR = CRS.from_epsg(3857)
MAX_ZOOM = 19
FORMATS = {"png": ("PNG", "image/png"), "tif": ("GTiff", "image/tiff"), "tiff": ("GTiff", "image/tiff")}
_PLACEHOLDERS = {"{z}": "${z}", "{x}": "${x}", "{y}": "${y}", "{TileMatrix}": "${z}",
                 "{TileCol}": "${x}", "{TileRow}": "${y}"}
Produce = Callable[[], ImageData]


def background(
    settings: Settings, lon: float, lat: float, chipsize: int, extend_m: float, tms: str, iformat: str,
    *, conn: q.Conn | None = None, outline: Mapping[str, Any] | None = None,
) -> ChipFile | None:
    """A cached background image of ``extend_m`` metres around a point, ``chipsize`` px wide.

    Args:
        settings: backend settings (sources, limits, cache).
        lon: longitude (WGS84).
        lat: latitude (WGS84).
        chipsize: side in pixels.
        extend_m: side on the ground in metres.
        tms: source name (case-insensitive).
        iformat: ``png`` or ``tif``.
        conn: catalogue connection for the ``s2`` source; default a new one.
        outline: a WGS84 GeoJSON geometry drawn in yellow (the parcel).

    Returns:
        The file (named ``<source>.<fmt>``), or None when the source has no image at the point.

    Raises:
        UnknownSource: ``tms`` is not configured (the message lists the sources).
        InvalidInput: bad parameters.
        LimitExceeded: chipsize or extent above the configured limits.
    """
    fmt = _check(settings, lon, lat, chipsize, extend_m, iformat)
    source = resolve(settings, tms)
    found = _producer(settings, source, lon, lat, chipsize, extend_m, conn)
    if found is None:
        return None
    produce, parts = found
    key = cache_key("bg", source.kind, source.href, parts, round(lon, 7), round(lat, 7), chipsize, extend_m,
                    fmt, outline)

    def render_file() -> bytes:
        with render.gdal_env(settings):
            try:
                img = produce()
            except ImageReadError as exc:  # a tile service's error may quote its URL (and key)
                raise (_unreadable(source, exc) if source.kind == "xyz" else exc) from None
        if outline is not None:
            img = overlay.outline(img, outline)
        return img.render(img_format=FORMATS[fmt][0])

    path = cached(settings, key, f".{fmt}", render_file)
    return ChipFile(relative(settings, path), f"{source.name}.{fmt}", FORMATS[fmt][1])


def _check(settings: Settings, lon: float, lat: float, chipsize: int, extend_m: float, iformat: str) -> str:
    check_size(settings, chipsize)
    ChipSpec(lon, lat, chipsize)  # validates the location and size
    if not (math.isfinite(extend_m) and extend_m > 0):
        raise InvalidInput(f"extend must be a positive number of metres, got {extend_m}")
    if extend_m > settings.chip_background_max_extent_m:
        limit = settings.chip_background_max_extent_m
        raise LimitExceeded(f"extend {extend_m:g} m exceeds the limit of {limit:g} m "
                            "(CBM_CHIP_BACKGROUND_MAX_EXTENT_M)")
    fmt = iformat.strip().lower()
    if fmt not in FORMATS:
        raise InvalidInput(f"iformat must be one of {', '.join(FORMATS)}, got {iformat!r}")
    return "tif" if fmt == "tiff" else fmt


def _producer(
    settings: Settings, source: Source, lon: float, lat: float, chipsize: int, extend_m: float,
    conn: q.Conn | None,
) -> tuple[Produce, object] | None:
    """How to read the chip from this source, and what besides the request identifies its pixels."""
    if source.kind == "xyz":
        xml = wms_description(settings, source.href)
        bounds = _square(WEB_MERCATOR, lon, lat, extend_m)
        return (lambda: render.read_part(xml, WEB_MERCATOR, bounds, chipsize, chipsize)), xml
    if source.kind == "raster":
        if not _overlaps(settings, source, lon, lat, extend_m):
            return None
        return (lambda: _read_raster(source, lon, lat, chipsize, extend_m)), _stamp(source.href)
    if conn is None:
        with connect(settings) as own:
            row = q.least_cloudy_at(own, lon, lat)
    else:
        row = q.least_cloudy_at(conn, lon, lat)
    if row is None:
        return None
    spec = ChipSpec(lon, lat, chipsize, "truecolor", extent_m=extend_m)
    hrefs = render.hrefs_for(row, spec.bands)
    where = render.place(settings, row, spec, hrefs)
    parts = (row["id"], row["item_hash"], spec.cache_parts(), where.key_parts())
    return (lambda: render.stretched_image(spec, hrefs, where)), parts


def _square(crs: CRS, lon: float, lat: float, extend_m: float) -> tuple[float, float, float, float]:
    """Bounds in ``crs`` of a square of ``extend_m`` ground metres centred on a WGS84 point."""
    xs, ys = warp_transform("EPSG:4326", crs, [lon], [lat])
    half = extend_m / 2
    if crs == WEB_MERCATOR:
        half /= math.cos(math.radians(lat))  # Web Mercator metres per ground metre
    return (xs[0] - half, ys[0] - half, xs[0] + half, ys[0] + half)


def _stamp(href: str) -> object:
    """Size and modification time of a local file, so a replaced orthophoto is not served stale."""
    path = Path(href)
    if path.is_file():
        st = path.stat()
        return (st.st_size, st.st_mtime_ns)
    return None


def _overlaps(settings: Settings, source: Source, lon: float, lat: float, extend_m: float) -> bool:
    """True when the chip around the point overlaps the raster source's extent."""
    try:
        with render.gdal_env(settings), storage.open_raster(source.href) as ds:
            crs = _chip_crs(ds.crs)
            b = _square(crs, lon, lat, extend_m)
            have = transform_bounds(ds.crs, crs, *ds.bounds) if ds.crs != crs else tuple(ds.bounds)
    except (RasterioError, ImageReadError) as exc:
        raise _unreadable(source, exc) from None
    return not (b[0] >= have[2] or b[2] <= have[0] or b[1] >= have[3] or b[3] <= have[1])


def _chip_crs(crs: CRS | None) -> CRS:
    """A raster's own CRS when projected, else Web Mercator."""
    return crs if crs is not None and crs.is_projected else WEB_MERCATOR


def _read_raster(source: Source, lon: float, lat: float, chipsize: int, extend_m: float) -> ImageData:
    """A chip of an orthophoto file in its own CRS (first three bands, or the only one)."""
    try:
        with storage.open_raster(source.href) as ds, Reader(source.href, dataset=ds) as src:
            crs = _chip_crs(ds.crs)
            indexes = (1, 2, 3) if ds.count >= 3 else (1,)
            return src.part(_square(crs, lon, lat, extend_m), dst_crs=crs, bounds_crs=crs, width=chipsize,
                            height=chipsize, indexes=indexes)
    except (RasterioError, ImageReadError) as exc:
        raise _unreadable(source, exc) from None


def _unreadable(source: Source, exc: Exception) -> ImageReadError:
    """The error for a source that cannot be read: details (href, GDAL's words) only in the log."""
    log.warning("background source %r (%s) cannot be read: %s", source.name, source.href, exc)
    return ImageReadError(f"background source {source.name!r} cannot be read; the server log says why")


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
