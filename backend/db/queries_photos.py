"""SQL of geotagged photos (table ``photos``, migration 0090): linking to parcels, storing, listing."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

Conn = psycopg.Connection[DictRow]

_POINT = "ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)"


def sets_at(conn: Conn, lon: float, lat: float, year: int | None, margin_m: float) -> list[dict[str, Any]]:
    """Parcel sets whose extent lies within ``margin_m`` of a WGS84 position (one year, or all)."""
    return conn.execute(
        f"SELECT id, aoi, year, ptype, srid FROM parcel_sets WHERE ST_DWithin(extent::geography, "
        f"{_POINT}::geography, %(m)s) AND (%(year)s::int IS NULL OR year = %(year)s) "
        "ORDER BY year DESC, aoi, ptype",
        {"lon": lon, "lat": lat, "year": year, "m": margin_m}).fetchall()


def parcels_at(conn: Conn, set_id: int, srid: int, lon: float, lat: float) -> list[dict[str, Any]]:
    """Parcels of a set whose geometry (in the set's CRS) holds a WGS84 position, smallest first."""
    return conn.execute(
        f"SELECT id, pid FROM parcels WHERE set_id = %(s)s AND ST_Intersects(geom, ST_Transform({_POINT}, "
        "%(srid)s)) ORDER BY area_m2, pid", {"s": set_id, "srid": srid, "lon": lon, "lat": lat}).fetchall()


def relation(conn: Conn, set_id: int, parcel_id: int, lon: float, lat: float,
             ray_end: tuple[float, float] | None) -> dict[str, Any]:
    """How a position relates to a parcel: ``inside``, ``distance_m`` and ``ray_in_m``.

    ``distance_m`` is geodesic (0 inside); ``ray_in_m`` is the length of the sight line from the
    position to ``ray_end`` that runs inside the parcel (None without ``ray_end``).
    """
    ray = ("ST_Length(ST_Transform(ST_Intersection(p.geom, ST_Transform(ST_SetSRID(ST_MakeLine("
           "ST_MakePoint(%(lon)s, %(lat)s), ST_MakePoint(%(lon2)s, %(lat2)s)), 4326), s.srid)), "
           "4326)::geography)"
           if ray_end else "NULL::float8")
    row = conn.execute(
        f"SELECT ST_Intersects(p.geom, ST_Transform({_POINT}, s.srid)) AS inside, "
        f"ST_Distance(ST_Transform(p.geom, 4326)::geography, {_POINT}::geography) AS distance_m, "
        f"{ray} AS ray_in_m FROM parcels p JOIN parcel_sets s ON s.id = p.set_id "
        "WHERE p.set_id = %(s)s AND p.id = %(p)s",
        {"s": set_id, "p": parcel_id, "lon": lon, "lat": lat,
         "lon2": ray_end[0] if ray_end else None, "lat2": ray_end[1] if ray_end else None}).fetchone()
    assert row is not None
    return row


def condition_window(conn: Conn, set_id: int, parcel_id: int, condition: str) -> list[str] | bool | None:
    """The window ``[start, end]`` of a condition in the parcel's latest decision on it.

    Returns False when the parcel has no decision for the condition, None when the condition
    has no window.
    """
    row = conn.execute(
        "SELECT evidence -> 'condition' -> 'window' AS window FROM decisions WHERE set_id = %s AND "
        "parcel_id = %s AND condition = %s ORDER BY run_id DESC LIMIT 1",
        (set_id, parcel_id, condition)).fetchone()
    if row is None:
        return False
    window = row["window"]
    return list(window) if isinstance(window, list) and len(window) == 2 else None


def conditions_of(conn: Conn, set_id: int, parcel_id: int) -> list[str]:
    """Condition ids the parcel has decisions for."""
    rows = conn.execute("SELECT DISTINCT condition FROM decisions WHERE set_id = %s AND parcel_id = %s "
                        "ORDER BY condition", (set_id, parcel_id)).fetchall()
    return [r["condition"] for r in rows]


def photo_by_hash(conn: Conn, set_id: int, sha256: str) -> dict[str, Any] | None:
    """The photo of a set with this content hash (id, parcel's pid), or None."""
    return conn.execute("SELECT f.id, p.pid FROM photos f JOIN parcels p ON p.set_id = f.set_id AND "
                        "p.id = f.parcel_id WHERE f.set_id = %s AND f.sha256 = %s",
                        (set_id, sha256)).fetchone()


_COLUMNS = ("set_id", "parcel_id", "sha256", "media_type", "bytes", "width", "height", "original_key",
            "thumb_key", "lon", "lat", "taken_local", "utc_offset", "bearing", "bearing_ref", "accuracy_m",
            "declared_pid", "inside", "distance_m", "condition", "checks", "uploaded_by")


def insert_photo(conn: Conn, row: dict[str, Any]) -> dict[str, Any] | None:
    """Insert a photo row; returns ``id`` and ``uploaded_at``, or None when the set already holds its hash."""
    values = {**row, "checks": Jsonb(row["checks"])}
    return conn.execute(
        f"INSERT INTO photos ({', '.join(_COLUMNS)}) VALUES ({', '.join(f'%({c})s' for c in _COLUMNS)}) "
        "ON CONFLICT (set_id, sha256) DO NOTHING RETURNING id, uploaded_at", values).fetchone()


_PHOTO_COLUMNS = ("f.id, p.pid, f.sha256, f.media_type, f.bytes, f.width, f.height, f.original_key, "
                  "f.thumb_key, f.lon, f.lat, f.taken_local, f.utc_offset, f.bearing, f.bearing_ref, "
                  "f.accuracy_m, f.declared_pid, f.inside, f.distance_m, f.condition, f.checks, "
                  "f.uploaded_by, f.uploaded_at")


def photos(conn: Conn, set_id: int, parcel_id: int | None, offset: int, limit: int) -> list[dict[str, Any]]:
    """A parcel's photos (or the set's, ``parcel_id`` None) in the order taken (undated last), then by id.

    Each row has ``total``, the number of photos matched before paging.
    """
    return conn.execute(
        f"SELECT {_PHOTO_COLUMNS}, count(*) OVER () AS total FROM photos f JOIN parcels p ON "
        "p.set_id = f.set_id AND p.id = f.parcel_id WHERE f.set_id = %(s)s AND "
        "(%(p)s::int IS NULL OR f.parcel_id = %(p)s) ORDER BY f.taken_local NULLS LAST, f.id "
        "OFFSET %(o)s LIMIT %(l)s", {"s": set_id, "p": parcel_id, "o": offset, "l": limit}).fetchall()


def parcels_of_photos(conn: Conn, set_id: int, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The parcel (``parcel_id``, ``pid``) of each of these photo ids found in the set."""
    rows = conn.execute("SELECT f.id, f.parcel_id, p.pid FROM photos f JOIN parcels p ON p.set_id = f.set_id "
                        "AND p.id = f.parcel_id WHERE f.set_id = %s AND f.id = ANY(%s)",
                        (set_id, ids)).fetchall()
    return {int(r["id"]): r for r in rows}


def count_photos(conn: Conn) -> int:
    """All stored photos (tests: nothing stored after a refusal)."""
    row = conn.execute("SELECT count(*) AS n FROM photos").fetchone()
    return int(row["n"]) if row else 0
