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
