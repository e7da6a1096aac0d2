"""SQL of the parcel read side: parcel sets, the JRC parcel queries, peers (psycopg 3, dict rows).

Parcel geometries are stored in their set's native CRS (``parcel_sets.srid``); query shapes
arrive in WGS84 and are transformed to the set's CRS so the GiST index on ``parcels.geom`` is used.

The hot JRC queries (parcel by location or id) are ``async``, take the async pool (a connection
is borrowed for the one statement) and the set's key: one statement resolves the set and
fetches the rows (``parcel_sets LEFT JOIN LATERAL``), so a request costs one round trip; they
return None when the set does not exist. The writer side is ``queries_parcels``.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool

Conn = psycopg.Connection[DictRow]
AConn = psycopg.AsyncConnection[DictRow]
APool = AsyncConnectionPool[AConn]


def list_sets(conn: Conn) -> list[dict[str, Any]]:
    """All parcel sets, newest year first."""
    return conn.execute(
        "SELECT aoi, year, ptype, srid, n_parcels, imported_at FROM parcel_sets "
        "ORDER BY aoi, year DESC, ptype").fetchall()


def example_pids(conn: Conn, n: int = 5) -> list[dict[str, Any]]:
    """Every parcel set with its first ``n`` parcel ids (from the (set, pid) index), and has it weather."""
    return conn.execute(
        "SELECT s.aoi, s.year, s.ptype, ARRAY(SELECT p.pid FROM parcels p WHERE p.set_id = s.id "
        "ORDER BY p.pid LIMIT %s) AS pids, EXISTS (SELECT 1 FROM weather_sources w WHERE w.set_id = s.id) "
        "AS weather FROM parcel_sets s ORDER BY s.aoi, s.year DESC, s.ptype",
        (n,)).fetchall()


def set_summary(conn: Conn, set_id: int) -> dict[str, Any]:
    """Counts of a parcel set: parcels, crops, extraction jobs, images, decisions."""
    row = conn.execute("""
        SELECT s.aoi, s.year, s.ptype, s.srid, s.n_parcels, s.source, s.imported_at,
               CASE WHEN s.extent IS NULL THEN NULL ELSE ARRAY[ST_XMin(s.extent), ST_YMin(s.extent),
                    ST_XMax(s.extent), ST_YMax(s.extent)] END AS bbox,
          (SELECT coalesce(jsonb_object_agg(c, n), '{}') FROM (SELECT coalesce(cropcode, '') AS c,
              count(*) AS n FROM parcels WHERE set_id = s.id GROUP BY 1 ORDER BY 2 DESC LIMIT 100) c)
              AS crops,
          (SELECT coalesce(jsonb_object_agg(status, n), '{}') FROM (SELECT status, count(*) AS n
              FROM extraction_jobs WHERE set_id = s.id GROUP BY 1) j) AS jobs,
          (SELECT coalesce(jsonb_object_agg(kind, n), '{}') FROM (SELECT i.kind, count(*) AS n
              FROM extraction_jobs j JOIN images i ON i.id = j.image_id
              WHERE j.set_id = s.id AND j.status = 'done' GROUP BY 1) k) AS images_done,
          (SELECT coalesce(sum(n_parcels), 0) FROM extraction_jobs WHERE set_id = s.id
              AND status = 'done') AS signatures,
          (SELECT coalesce(jsonb_object_agg(colour, n), '{}') FROM (SELECT colour, count(*) AS n
              FROM decisions WHERE set_id = s.id AND run_id = (SELECT max(run_id) FROM decisions
              WHERE set_id = s.id) GROUP BY 1) d) AS decisions
        FROM parcel_sets s WHERE s.id = %s""", (set_id,)).fetchone()
    assert row is not None
    return row


_PARCEL_SELECT = """
SELECT p.pid, coalesce(p.cropname, (SELECT ct.cropname FROM crop_tables ct JOIN parcel_sets ps
         ON ps.aoi = ct.aoi AND ps.year = ct.year WHERE ps.id = p.set_id AND ct.cropcode = p.cropcode
       )) AS cropname, p.cropcode, {srid} AS srid, round(p.area_m2)::bigint AS area,
       ST_X(c.pt) AS clon, ST_Y(c.pt) AS clat,
       CASE WHEN %(with_geom)s THEN ST_AsGeoJSON(CASE WHEN %(wgs84)s
            THEN ST_Transform(p.geom, 4326) ELSE p.geom END) END AS geom{extra}
FROM parcels p CROSS JOIN LATERAL (SELECT ST_Transform(ST_Centroid(p.geom), 4326) AS pt) c{join}
WHERE p.set_id = {set_id} AND """
_PARCEL_COLUMNS = _PARCEL_SELECT.format(srid="%(srid)s::int", set_id="%(set_id)s", extra="", join="")
# parcelByID adds the parcel's terrain (issue 24), rounded to 0.01 m / 0.01 degree, when the set has some
TERRAIN_COLUMNS = ("elevation", "slope_mean", "slope_max", "aspect")
_TERRAIN_EXTRA = "".join(f", round(t.{n}::numeric, 2)::float8 AS {n}" for n in TERRAIN_COLUMNS)
_TERRAIN_JOIN = " LEFT JOIN parcel_terrain t ON t.set_id = p.set_id AND t.parcel_id = p.id"
# one row per parcel found, or one row of nulls (but set_id) when the set exists and none is found
_SET_PARCELS = """
SELECT s.id AS set_id, {flags}r.* FROM parcel_sets s
  LEFT JOIN LATERAL ({select} {where} ORDER BY p.pid LIMIT 10) r ON true
WHERE s.aoi = %(aoi)s AND s.year = %(year)s AND s.ptype = %(ptype)s"""
_AT_POINT = "ST_Intersects(p.geom, ST_Transform(ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326), s.srid))"
_SET_PARCELS_AT = _SET_PARCELS.format(select=_PARCEL_SELECT.format(srid="s.srid", set_id="s.id", extra="",
                                                                   join=""), where=_AT_POINT, flags="")
_SET_PARCEL_BY_PID = _SET_PARCELS.format(
    select=_PARCEL_SELECT.format(srid="s.srid", set_id="s.id", extra=_TERRAIN_EXTRA, join=_TERRAIN_JOIN),
    where="p.pid = %(pid)s",
    flags="EXISTS (SELECT 1 FROM terrain_sources ts WHERE ts.set_id = s.id) AS has_terrain, ")


async def _set_parcels(pool: APool, sql: str, params: dict[str, Any]) -> list[dict[str, Any]] | None:
    async with pool.connection() as conn:
        rows = await (await conn.execute(sql, params)).fetchall()
    return [r for r in rows if r["pid"] is not None] if rows else None


async def set_parcels_at(pool: APool, aoi: str, year: int, ptype: str, lon: float, lat: float, *,
                         with_geom: bool, wgs84: bool) -> list[dict[str, Any]] | None:
    """Parcels of a set containing a WGS84 point (at most 10, by pid); None when no such set."""
    return await _set_parcels(pool, _SET_PARCELS_AT, {
        "aoi": aoi, "year": year, "ptype": ptype, "lon": lon, "lat": lat, "with_geom": with_geom,
        "wgs84": wgs84})


async def set_parcel_by_pid(pool: APool, aoi: str, year: int, ptype: str, pid: str, *,
                            with_geom: bool, wgs84: bool) -> tuple[list[dict[str, Any]], bool] | None:
    """The parcel of a set with this agency id (zero or one row) and whether the set has terrain.

    None when no such set. Rows carry ``TERRAIN_COLUMNS`` (None where the set has no terrain).
    """
    async with pool.connection() as conn:
        rows = await (await conn.execute(_SET_PARCEL_BY_PID, {
            "aoi": aoi, "year": year, "ptype": ptype, "pid": pid, "with_geom": with_geom,
            "wgs84": wgs84})).fetchall()
    if not rows:
        return None
    return [r for r in rows if r["pid"] is not None], bool(rows[0]["has_terrain"])


def parcels_by_polygon(conn: Conn, pset: dict[str, Any], wkt: str, limit: int, *, only_ids: bool,
                       with_geom: bool, wgs84: bool) -> list[dict[str, Any]]:
    """Parcels intersecting a WGS84 polygon, by pid, at most ``limit`` rows."""
    where = "ST_Intersects(p.geom, ST_Transform(ST_GeomFromText(%(wkt)s, 4326), %(srid)s))"
    params = {"set_id": pset["id"], "srid": pset["srid"], "wkt": wkt, "limit": limit,
              "with_geom": with_geom, "wgs84": wgs84}
    if only_ids:
        return conn.execute(f"SELECT p.pid FROM parcels p WHERE p.set_id = %(set_id)s AND {where} "
                            "ORDER BY p.pid LIMIT %(limit)s", params).fetchall()
    return conn.execute(_PARCEL_COLUMNS + where + " ORDER BY p.pid LIMIT %(limit)s", params).fetchall()


def parcel_peers(conn: Conn, set_id: int, pid: str, distance: float, limit: int) -> list[dict[str, Any]]:
    """Parcels of the same crop within ``distance`` (set CRS units, metres) of a parcel, nearest first."""
    return conn.execute("""
        SELECT o.pid, ST_Distance(o.geom, t.geom) AS distance
        FROM parcels t JOIN parcels o ON o.set_id = t.set_id AND o.cropcode = t.cropcode AND o.id <> t.id
             AND ST_DWithin(o.geom, t.geom, %(distance)s)
        WHERE t.set_id = %(set_id)s AND t.pid = %(pid)s
        ORDER BY distance, o.pid LIMIT %(limit)s""",
        {"set_id": set_id, "pid": pid, "distance": distance, "limit": limit}).fetchall()


def parcel_row(conn: Conn, set_id: int, pid: str) -> dict[str, Any] | None:
    """Internal id, crop and WGS84 GeoJSON geometry of a parcel, or None."""
    return conn.execute("SELECT id, pid, cropcode, cropname, area_m2, ST_AsGeoJSON(ST_Transform(geom, 4326)) "
                        "AS geojson FROM parcels WHERE set_id = %s AND pid = %s", (set_id, pid)).fetchone()
