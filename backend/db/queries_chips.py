"""SQL of image chips: which catalogued images cover a location."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.rows import DictRow

Conn = psycopg.Connection[DictRow]

_COLUMNS = "id, item_id, collection, kind, datetime, cloud_cover, epsg, bands, item, item_hash"

_AT_LOCATION = f"""
SELECT {_COLUMNS}
FROM images
WHERE kind = ANY(%(kinds)s)
  AND ST_Intersects(footprint, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))
  AND datetime >= %(start)s AND datetime <= %(end)s
  AND (%(max_cloud)s::real IS NULL OR cloud_cover IS NULL OR cloud_cover <= %(max_cloud)s)
ORDER BY datetime, collection, item_id
LIMIT %(limit)s
"""

_LEAST_CLOUDY = f"""
SELECT {_COLUMNS}
FROM images
WHERE kind = %(kind)s
  AND ST_Intersects(footprint, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))
ORDER BY cloud_cover ASC NULLS LAST, datetime DESC, id
LIMIT 1
"""

_AOIS_AT = """
SELECT DISTINCT aoi FROM parcel_sets
WHERE extent IS NOT NULL AND ST_Intersects(extent, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))
"""


def aois_at(conn: Conn, lon: float, lat: float) -> list[str]:
    """AOI codes of the parcel sets whose extent holds the point."""
    return [r["aoi"] for r in conn.execute(_AOIS_AT, {"lon": lon, "lat": lat}).fetchall()]


def images_at(
    conn: Conn, lon: float, lat: float, start: dt.datetime, end: dt.datetime, *,
    kinds: Sequence[str], max_cloud: float | None, limit: int,
) -> list[dict[str, Any]]:
    """Images of ``kinds`` whose footprint holds the point, in a time range, oldest first."""
    params = {"kinds": list(kinds), "lon": lon, "lat": lat, "start": start, "end": end,
              "max_cloud": max_cloud, "limit": limit}
    return conn.execute(_AT_LOCATION, params).fetchall()


def least_cloudy_at(conn: Conn, lon: float, lat: float, kind: str = "s2") -> dict[str, Any] | None:
    """The least cloudy image of a kind holding the point (latest among equals), or None."""
    return conn.execute(_LEAST_CLOUDY, {"kind": kind, "lon": lon, "lat": lat}).fetchone()


_BY_ITEM_IDS = f"""
SELECT {_COLUMNS}
FROM images
WHERE item_id = ANY(%(ids)s) AND kind = ANY(%(kinds)s)
  AND ST_Intersects(footprint, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))
ORDER BY datetime, collection, item_id
"""


def images_by_item_ids(conn: Conn, lon: float, lat: float, item_ids: Sequence[str], *,
                       kinds: Sequence[str]) -> list[dict[str, Any]]:
    """Images with these STAC item ids, of ``kinds``, whose footprint holds the point, oldest first."""
    return conn.execute(_BY_ITEM_IDS, {"ids": list(item_ids), "kinds": list(kinds), "lon": lon,
                                       "lat": lat}).fetchall()


def parcel_at_pid(conn: Conn, aoi: str, year: int, ptype: str, pid: str) -> dict[str, Any] | None:
    """Centroid (WGS84 ``clon``, ``clat``) and WGS84 GeoJSON ``geom`` of a parcel, or None.

    The result has ``set_id`` None when no such parcel set exists, ``clon`` None when the set
    has no such parcel.
    """
    return conn.execute("""
        SELECT s.id AS set_id, ST_X(c.pt) AS clon, ST_Y(c.pt) AS clat,
               ST_AsGeoJSON(ST_Transform(p.geom, 4326)) AS geom
        FROM (SELECT 1) one
        LEFT JOIN parcel_sets s ON s.aoi = %(aoi)s AND s.year = %(year)s AND s.ptype = %(ptype)s
        LEFT JOIN parcels p ON p.set_id = s.id AND p.pid = %(pid)s
        LEFT JOIN LATERAL (SELECT ST_Transform(ST_Centroid(p.geom), 4326) AS pt) c ON true""",
        {"aoi": aoi, "year": year, "ptype": ptype, "pid": pid}).fetchone()
