"""Parameter value objects shared by the routes: JRC flags, set keys, geometry options, query polygons.

Each validates itself and raises :class:`InvalidInput` or :class:`LimitExceeded` with a message
naming the parameter (or the limit setting) and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import shapely
from fastapi import Path, Query
from pyproj import Geod
from shapely.geometry.base import BaseGeometry

from backend.errors import InvalidInput, LimitExceeded
from backend.settings import Settings

AOI_PATTERN = r"^[a-z][a-z0-9_]{1,31}$"
PTYPE_PATTERN = r"^[a-z0-9_]{0,16}$"
AoiQuery = Annotated[str, Query(pattern=AOI_PATTERN, description="AOI code, e.g. `nl`.", examples=["nl"])]
AoiPath = Annotated[str, Path(pattern=AOI_PATTERN, description="AOI code, e.g. `nl`.", examples=["nl"])]
YearQuery = Annotated[int, Query(ge=1990, le=2100, description="Year of the parcel set.", examples=[2025])]
YearPath = Annotated[int, Path(ge=1990, le=2100, description="Year of the parcel set.", examples=[2025])]
PtypeQuery = Annotated[str, Query(pattern=PTYPE_PATTERN, description="Parcel-set variant (usually empty).")]
PidQuery = Annotated[str, Query(min_length=1, max_length=128, pattern=r"^[^\x00]*$", examples=["NL-000123"],
                                description="Agency parcel id (any text but NUL).")]
Flag = Annotated[str | None, Query(description="`True`/`true` to enable.", examples=["True"],
                                   max_length=8)]
_geod = Geod(ellps="WGS84")


def flag(value: str | None) -> bool:
    """The JRC boolean convention: ``True``/``true``/``1`` are true, anything else false."""
    return value is not None and value.strip().lower() in ("true", "1", "yes")


@dataclass(frozen=True)
class SetKey:
    """Selects a parcel set: AOI code, year and optional variant."""

    aoi: str
    year: int
    ptype: str = ""


@dataclass(frozen=True)
class GeomOptions:
    """Geometry flags of the JRC parcel endpoints."""

    with_geom: bool = False
    wgs84: bool = False


def _coordinate_list(text: str) -> str:
    """``lon lat, lon lat, ...`` (or the JRC client's ``lon_lat-lon_lat``) as polygon WKT."""
    pairs = text.split(",") if "," in text else text.split("-")
    coords = []
    for pair in pairs:
        parts = pair.replace("_", " ").split()
        if len(parts) != 2:
            raise InvalidInput(f"polygon: cannot read the coordinate pair {pair.strip()[:40]!r}; "
                               "give WKT or 'lon lat, lon lat, ...' in WGS84")
        coords.append(" ".join(parts))
    if coords and coords[0] != coords[-1]:
        coords.append(coords[0])
    return f"POLYGON(({', '.join(coords)}))"


def parse_polygon(text: str, settings: Settings) -> BaseGeometry:
    """Parse and check a WGS84 query polygon (WKT or coordinate list) against the limits.

    Raises:
        InvalidInput: malformed, not a polygon, invalid, or coordinates outside WGS84 bounds.
        LimitExceeded: more vertices than ``api_max_polygon_vertices`` or an area above
            ``api_max_polygon_km2``.
    """
    text = text.strip()
    wkt = text if text[:1].isalpha() else _coordinate_list(text)
    if wkt.count(",") + 1 > settings.api_max_polygon_vertices:
        raise LimitExceeded(f"polygon has more than api_max_polygon_vertices="
                            f"{settings.api_max_polygon_vertices} vertices")
    try:
        geom = shapely.from_wkt(wkt)
    except shapely.errors.ShapelyError as exc:
        raise InvalidInput(f"polygon is not valid WKT: {str(exc)[:120]}") from None
    if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise InvalidInput("polygon must be a non-empty POLYGON or MULTIPOLYGON in WGS84 (lon lat)")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise InvalidInput("polygon coordinates must be WGS84 lon in [-180, 180], lat in [-90, 90]")
    if not geom.is_valid:
        raise InvalidInput(f"polygon is not valid: {shapely.is_valid_reason(geom)[:120]}")
    km2 = abs(_geod.geometry_area_perimeter(geom)[0]) / 1e6
    if km2 > settings.api_max_polygon_km2:
        raise LimitExceeded(f"polygon area {km2:.1f} km² exceeds the limit api_max_polygon_km2="
                            f"{settings.api_max_polygon_km2:g}")
    return geom
