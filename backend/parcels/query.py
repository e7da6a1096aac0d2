"""JRC-compatible parcel queries (the read side of the parcel sets): parcels, polygons, peers, info.

"Nothing found" is every column with an empty list (HTTP 200), as the JRC client expects.
A missing parcel set (AOI/year/ptype) is :class:`ParcelSetNotFound` (404) — callers must have
checked the user's AOI grant first so that 404 never leaks to users without access.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from pyproj import Geod
from shapely.geometry.base import BaseGeometry

from backend.catalogue.overview import imagery
from backend.db import queries_parcel_reads as q
from backend.errors import InvalidInput, LimitExceeded
from backend.extraction import timeseries
from backend.parcels.sets import ParcelSetKey, resolve_set, set_not_found
from backend.settings import Settings

PARCEL_COLUMNS = ("pid", "cropname", "cropcode", "srid", "area", "clon", "clat")
_geod = Geod(ellps="WGS84")


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


def columns(rows: Sequence[dict[str, Any]], names: Iterable[str]) -> dict[str, list[Any]]:
    """Turn rows into the column-oriented JSON shape ``{name: [values...]}``."""
    return {n: [r[n] for r in rows] for n in names}


def _parcel_columns(rows: Sequence[dict[str, Any]], opts: GeomOptions) -> dict[str, list[Any]]:
    return columns(rows, (*PARCEL_COLUMNS, "geom") if opts.with_geom else PARCEL_COLUMNS)


async def by_location(pool: q.APool, key: ParcelSetKey, lon: float, lat: float,
                      opts: GeomOptions) -> dict[str, list[Any]]:
    """Parcel columns of the parcel(s) containing a WGS84 point (one SQL statement).

    Raises:
        ParcelSetNotFound: no set for this AOI, year and ptype.
    """
    rows = await q.set_parcels_at(pool, key.aoi, key.year, key.ptype, lon, lat, with_geom=opts.with_geom,
                                  wgs84=opts.wgs84)
    if rows is None:
        raise set_not_found(key)
    return _parcel_columns(rows, opts)


async def by_pid(pool: q.APool, key: ParcelSetKey, pid: str, opts: GeomOptions) -> dict[str, list[Any]]:
    """Parcel columns of the parcel with this agency id (one SQL statement).

    A set with terrain adds ``elevation slope_mean slope_max aspect`` (m, degrees; aspect None
    where the parcel is flat).

    Raises:
        ParcelSetNotFound: no set for this AOI, year and ptype.
    """
    found = await q.set_parcel_by_pid(pool, key.aoi, key.year, key.ptype, pid, with_geom=opts.with_geom,
                                      wgs84=opts.wgs84)
    if found is None:
        raise set_not_found(key)
    rows, has_terrain = found
    out = _parcel_columns(rows, opts)
    return {**out, **columns(rows, q.TERRAIN_COLUMNS)} if has_terrain else out


def by_polygon(conn: q.Conn, settings: Settings, key: ParcelSetKey, polygon: str, opts: GeomOptions,
               only_ids: bool) -> dict[str, list[Any]]:
    """Parcels intersecting a WGS84 polygon: ``{"pid": [...]}`` or full parcel columns.

    Raises:
        InvalidInput: malformed polygon.
        LimitExceeded: polygon too large or complex, or more than ``api_max_rows`` parcels.
    """
    geom = parse_polygon(polygon, settings)
    pset = resolve_set(conn, key)
    limit = settings.api_max_rows
    rows = q.parcels_by_polygon(conn, pset, geom.wkt, limit + 1, only_ids=only_ids,
                                with_geom=opts.with_geom, wgs84=opts.wgs84)
    if len(rows) > limit:
        raise LimitExceeded(f"more than api_max_rows={limit} parcels in the polygon; use a smaller one")
    return columns(rows, ("pid",)) if only_ids else _parcel_columns(rows, opts)


async def weather(pool: q.APool, key: ParcelSetKey, pid: str) -> dict[str, list[Any]]:
    """A parcel's daily weather columns (``{}`` when the set has none imported; one SQL statement).

    Raises:
        ParcelSetNotFound: no set for this AOI, year and ptype.
    """
    from backend.ancillary.weather_series import weather_columns_async

    out = await weather_columns_async(pool, key.aoi, key.year, key.ptype, pid)
    if out is None:
        raise set_not_found(key)
    return out


def peers(conn: q.Conn, settings: Settings, key: ParcelSetKey, pid: str, distance: float,
          max_peers: int) -> dict[str, list[Any]]:
    """Same-crop parcels within ``distance`` metres, nearest first: ``{"pids": [], "distance": []}``.

    Raises:
        LimitExceeded: ``max`` above ``api_max_rows``.
    """
    if max_peers > settings.api_max_rows:
        raise LimitExceeded(f"max={max_peers} exceeds the limit api_max_rows={settings.api_max_rows}")
    pset = resolve_set(conn, key)
    rows = q.parcel_peers(conn, pset["id"], pid, distance, max_peers)
    return {"pids": [r["pid"] for r in rows], "distance": [float(r["distance"]) for r in rows]}


def info(conn: q.Conn, user_aois: frozenset[str],
         backgrounds: Sequence[dict[str, str]] = ()) -> dict[str, Any]:
    """Describe the service: readable parcel sets, time-series types, band names, background sources.

    Each AOI has, as the JRC server's, ``years`` and one ``id_examples_<year>[_<ptype>]`` list of
    a few parcel ids per set (the JRC client's GUI needs one), and ``tms`` (background names).
    """
    sets = [s for s in q.example_pids(conn) if "*" in user_aois or s["aoi"] in user_aois]
    aois: dict[str, dict[str, Any]] = {}
    for s in sets:
        names = [b["name"] for b in backgrounds]
        entry = aois.setdefault(s["aoi"], {"years": [], "ptypes": [], "tms": names})
        if s["year"] not in entry["years"]:
            entry["years"].append(s["year"])
        if s["ptype"] and s["ptype"] not in entry["ptypes"]:
            entry["ptypes"].append(s["ptype"])
        entry[f"id_examples_{s['year']}" + (f"_{s['ptype']}" if s["ptype"] else "")] = list(s["pids"])
    return {"service": "cbm", "api": "JRC CbM compatible /query endpoints", "aois": aois,
            "tstypes": {k: list(v) for k, v in timeseries.TS_BANDS.items()},
            "weather": any(s["weather"] for s in sets),
            "backgrounds": list(backgrounds), "imagery": imagery(conn)}
