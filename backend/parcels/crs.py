"""The CRS a parcel set is stored in.

A set keeps the file's projected CRS (its EPSG code is the set's ``srid``). Geographic input
(e.g. EPSG:4326 GeoJSON) is reprojected to the WGS 84 / UTM zone (EPSG:326xx north, 327xx
south) of the median parcel location, so areas and distances are in metres. A file without a
CRS is refused: the user must say what its coordinates are with ``--crs``. ``--crs`` never
overrides a CRS the file declares (a different one is refused); ``--force-crs`` does, for files
known to declare a wrong CRS, with a warning in the report.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from backend.errors import InvalidInput

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NativeCrs:
    """The set's CRS: EPSG code, square metres per square unit, and the CRS read from file."""

    srid: int
    m2_per_unit2: float
    source_crs: str
    reprojected: bool
    warning: str | None = None  # set when --force-crs replaced the file's CRS


def _crs_name(crs: CRS) -> str:
    epsg = crs.to_epsg(min_confidence=70)
    return f"EPSG:{epsg}" if epsg else str(crs.name)


def parse_crs(text: str, option: str = "--crs") -> CRS:
    """Parse a user CRS such as ``EPSG:28992`` or ``28992``.

    Raises:
        InvalidInput: the text is not a CRS pyproj knows.
    """
    try:
        return CRS.from_user_input(int(text) if text.strip().isdigit() else text)
    except CRSError:
        raise InvalidInput(f"{option} {text!r} is not a known CRS; use e.g. EPSG:28992") from None


def to_native_crs(gdf: gpd.GeoDataFrame, crs: str | None, source: str, *, force: bool = False
                  ) -> tuple[gpd.GeoDataFrame, NativeCrs]:
    """Set the declared CRS and reproject geographic coordinates to UTM.

    Args:
        gdf: the features as read.
        crs: CRS of the coordinates given by the user, for a file without one.
        source: file name, for messages.
        force: ``crs`` replaces the CRS the file declares (``--force-crs``).

    Raises:
        InvalidInput: no CRS at all, ``crs`` conflicting with the file's CRS (without
            ``force``), or a projected CRS without an EPSG code.
    """
    warning = None
    if crs is not None:
        declared = parse_crs(crs, "--force-crs" if force else "--crs")
        if gdf.crs is not None and not gdf.crs.equals(declared):
            if not force:
                raise InvalidInput(
                    f"{source} declares CRS {_crs_name(gdf.crs)}, which --crs {crs} contradicts: "
                    "drop --crs (it is only for files without a CRS), or pass --force-crs "
                    f"{crs} if the file's CRS is known to be wrong")
            warning = f"--force-crs {crs} replaced the CRS the file declares ({_crs_name(gdf.crs)})"
            log.warning("%s: %s", source, warning)
        gdf = gdf.set_crs(declared, allow_override=True)
    if gdf.crs is None:
        raise InvalidInput(f"{source} has no CRS (missing .prj or crs metadata): pass --crs "
                           "with the CRS of its coordinates, e.g. --crs EPSG:28992")
    source_crs = gdf.crs.to_string()
    reprojected = False
    if gdf.crs.is_geographic:
        _check_degrees(gdf, source, source_crs)
        utm = utm_crs(gdf.geometry.values)
        log.info("%s: geographic CRS %s reprojected to %s", source, source_crs, utm)
        gdf = gdf.to_crs(utm)
        reprojected = True
    elif not gdf.crs.is_projected:
        raise InvalidInput(f"{source}: CRS {source_crs} is neither projected nor geographic; "
                           "pass --crs with the CRS of its coordinates")
    epsg = gdf.crs.to_epsg(min_confidence=70)
    if epsg is None:
        raise InvalidInput(f"{source}: CRS {gdf.crs.name!r} has no EPSG code; pass --crs "
                           "EPSG:<code> with the equivalent EPSG CRS")
    factor = gdf.crs.axis_info[0].unit_conversion_factor if gdf.crs.axis_info else 1.0
    return gdf, NativeCrs(epsg, float(factor) ** 2, source_crs, reprojected, warning)


def _check_degrees(gdf: gpd.GeoDataFrame, source: str, source_crs: str) -> None:
    """Refuse coordinates outside lon/lat range under a geographic CRS (a wrong CRS label)."""
    minx, miny, maxx, maxy = gdf.total_bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InvalidInput(f"{source}: coordinates ({minx:.6g}, {miny:.6g}) .. ({maxx:.6g}, {maxy:.6g}) "
                           f"are not degrees, but the CRS is {source_crs}: pass --crs with the CRS of "
                           "its coordinates, e.g. --crs EPSG:28992")


def utm_crs(geoms: np.ndarray) -> CRS:
    """WGS 84 / UTM zone of the median location of lon/lat geometries (nulls ignored).

    Raises:
        InvalidInput: no geometry has coordinates.
    """
    bounds = shapely.bounds(geoms)
    bounds = bounds[np.isfinite(bounds).all(axis=1)]
    if len(bounds) == 0:
        raise InvalidInput("no feature has a geometry: nothing to import")
    lon = float(np.median((bounds[:, 0] + bounds[:, 2]) / 2))
    lat = float(np.median((bounds[:, 1] + bounds[:, 3]) / 2))
    zone = int(np.clip(np.floor((lon + 180.0) / 6.0) + 1, 1, 60))
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)
