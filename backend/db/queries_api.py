"""SQL of the REST API (psycopg 3, rows as dicts). Nothing else in ``backend/api`` writes SQL.

Parcel geometries are stored in their set's native CRS (``parcel_sets.srid``); query shapes
arrive in WGS84 and are transformed to the set's CRS so the GiST index on ``parcels.geom`` is used.

The hot JRC queries (parcel by location or id, time series) are ``async``, take the async pool
(a connection is borrowed for the one statement) and the set's key: one statement resolves the
set and fetches the rows (``parcel_sets LEFT JOIN LATERAL``), so a request costs one round trip;
they return None when the set does not exist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool

Conn = psycopg.Connection[DictRow]
AConn = psycopg.AsyncConnection[DictRow]
APool = AsyncConnectionPool[AConn]

def ping(conn: Conn) -> None:
    """Round-trip to the database (raises if it does not answer)."""
    conn.execute("SELECT 1")


# ---------------------------------------------------------------------------- parcel sets
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


def jobs_status(conn: Conn, set_id: int, max_failed: int) -> dict[str, Any]:
    """Extraction-job counts by status and the latest failures of a set."""
    counts = conn.execute("SELECT status, count(*) AS n, coalesce(sum(n_rows), 0) AS n_rows "
                          "FROM extraction_jobs WHERE set_id = %s GROUP BY status", (set_id,)).fetchall()
    failed = conn.execute(
        "SELECT j.id, i.item_id, j.attempts, j.error, j.finished_at FROM extraction_jobs j "
        "JOIN images i ON i.id = j.image_id WHERE j.set_id = %s AND j.status = 'failed' "
        "ORDER BY j.finished_at DESC NULLS LAST LIMIT %s", (set_id, max_failed)).fetchall()
    return {"counts": {r["status"]: r["n"] for r in counts},
            "rows": sum(int(r["n_rows"]) for r in counts), "failed": failed}


# ---------------------------------------------------------------------------- batch runs
def batch_runs(conn: Conn, aois: list[str] | None, limit: int) -> list[dict[str, Any]]:
    """Latest batch runs; ``aois`` restricts to runs whose ``aoi`` parameter is granted."""
    return conn.execute(
        "SELECT id, notebook, parameters, status, started_by, started_at, finished_at, n_chunks, "
        "rows_written FROM batch_runs WHERE %(all)s OR parameters->>'aoi' = ANY(%(aois)s) "
        "ORDER BY started_at DESC LIMIT %(limit)s",
        {"all": aois is None, "aois": aois or [], "limit": limit}).fetchall()


def batch_run(conn: Conn, run_id: str) -> dict[str, Any] | None:
    """One batch run with its chunks, or None."""
    run = conn.execute("SELECT * FROM batch_runs WHERE id = %s", (run_id,)).fetchone()
    if run is not None:
        run["chunks"] = conn.execute(
            "SELECT chunk, status, attempts, rows_written, error, started_at, finished_at "
            "FROM batch_chunks WHERE run_id = %s ORDER BY chunk", (run_id,)).fetchall()
    return run


# ---------------------------------------------------------------------------- parcels
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


# ---------------------------------------------------------------------------- time series
# provenance columns after (date_part, bands, stats, hist): see backend.extraction.timeseries
_PROVENANCE = ("i.item_id, i.provider, i.collection, i.platform, i.orbit_state, i.relative_orbit, i.mask, "
               "extract(epoch FROM i.start_datetime)::float8, extract(epoch FROM i.end_datetime)::float8")
_FILTERS = """
  AND (%(orbit)s::text IS NULL OR i.orbit_state = %(orbit)s)
  AND (%(collection)s::text IS NULL OR i.collection = %(collection)s)
  AND (%(provider)s::text IS NULL OR i.provider = %(provider)s)"""
NO_FILTER = {"orbit": None, "collection": None, "provider": None}

_SERIES = f"""
SELECT extract(epoch FROM i.datetime)::float8 AS date_part, i.bands, g.stats, g.hist, {_PROVENANCE}
FROM parcels p
JOIN signatures g ON g.set_id = p.set_id AND g.parcel_id = p.id
JOIN images i ON i.id = g.image_id
WHERE p.set_id = %(set_id)s AND g.set_id = %(set_id)s AND p.pid = %(pid)s AND i.kind = %(kind)s
  AND i.datetime >= %(start)s AND i.datetime < %(end)s{_FILTERS}
ORDER BY i.datetime, i.id"""


_SET_SERIES = f"""
SELECT s.id, r.*
FROM parcel_sets s LEFT JOIN LATERAL (
  SELECT extract(epoch FROM i.datetime)::float8 AS date_part, i.bands, g.stats, g.hist, {_PROVENANCE},
         i.datetime AS _datetime, i.id AS _id
  FROM parcels p
  JOIN signatures g ON g.set_id = p.set_id AND g.parcel_id = p.id
  JOIN images i ON i.id = g.image_id
  WHERE p.set_id = s.id AND g.set_id = s.id AND p.pid = %(pid)s AND i.kind = %(kind)s
    AND i.datetime >= %(start)s AND i.datetime < %(end)s{_FILTERS}) r ON true
WHERE s.aoi = %(aoi)s AND s.year = %(year)s AND s.ptype = %(ptype)s
ORDER BY r._datetime, r._id"""


def series(conn: Conn, set_id: int, pid: str, kind: str, start: datetime, end: datetime,
           filters: dict[str, str | None] | None = None) -> list[tuple]:
    """One row per image of a parcel's signatures.

    Rows are (date_part, bands, packed stats, packed hist, item_id, provider, collection,
    platform, orbit_state, relative_orbit, mask, start, end); ``filters`` (``orbit``,
    ``collection``, ``provider``; None = any) keep only matching images.
    """
    with conn.cursor(row_factory=psycopg.rows.tuple_row, binary=True) as cur:
        cur.execute(_SERIES, {"set_id": set_id, "pid": pid, "kind": kind, "start": start, "end": end,
                              **NO_FILTER, **(filters or {})})
        return cur.fetchall()


async def set_series(pool: APool, aoi: str, year: int, ptype: str, pid: str, kind: str, start: datetime,
                     end: datetime, filters: dict[str, str | None] | None = None) -> list[tuple] | None:
    """Like :func:`series` but for a set's key, in one statement; None when no such set."""
    async with pool.connection() as conn, conn.cursor(row_factory=psycopg.rows.tuple_row, binary=True) as cur:
        await cur.execute(_SET_SERIES, {"aoi": aoi, "year": year, "ptype": ptype, "pid": pid, "kind": kind,
                                        "start": start, "end": end, **NO_FILTER, **(filters or {})})
        rows = await cur.fetchall()
    return [r[1:-2] for r in rows if r[1] is not None] if rows else None


def catalogue_bands(conn: Conn) -> list[dict[str, Any]]:
    """Per kind, provider and collection: image count, the bands and masks the images have."""
    return conn.execute(
        "SELECT kind, provider, collection, count(*) AS n_images, "
        "array_agg(DISTINCT mask ORDER BY mask) AS masks, "
        "(SELECT array_agg(DISTINCT b) FROM images j, unnest(j.bands) b WHERE j.kind = i.kind "
        " AND j.provider = i.provider AND j.collection = i.collection) AS bands "
        "FROM images i WHERE duplicate_of IS NULL GROUP BY kind, provider, collection "
        "ORDER BY kind, provider, collection").fetchall()


# ---------------------------------------------------------------------------- markers, decisions
def markers(conn: Conn, set_id: int, parcel_id: int) -> list[dict[str, Any]]:
    """Marker results of a parcel from the latest run that has any, in marker order."""
    return conn.execute("""
        SELECT r.run_id, m.scheme, r.marker, r.seq, r.version, r.start_date, r.end_date, r.value,
               r.confidence, r.evidence
        FROM marker_results r JOIN marker_runs m ON m.id = r.run_id
        WHERE r.set_id = %(s)s AND r.parcel_id = %(p)s AND r.run_id = (SELECT max(run_id)
              FROM marker_results WHERE set_id = %(s)s AND parcel_id = %(p)s)
        ORDER BY r.marker, r.seq""", {"s": set_id, "p": parcel_id}).fetchall()


def decisions(conn: Conn, set_id: int, parcel_id: int) -> list[dict[str, Any]]:
    """Decisions of a parcel from the latest run that has any, by condition."""
    return conn.execute("""
        SELECT d.run_id, m.scheme, m.catalogue_version, d.condition, d.colour, d.reason, d.evidence,
               d.rule_version, d.decided_at
        FROM decisions d JOIN marker_runs m ON m.id = d.run_id
        WHERE d.set_id = %(s)s AND d.parcel_id = %(p)s AND d.run_id = (SELECT max(run_id)
              FROM decisions WHERE set_id = %(s)s AND parcel_id = %(p)s)
        ORDER BY d.condition""", {"s": set_id, "p": parcel_id}).fetchall()


# ---------------------------------------------------------------------------- vector tiles
_TILE = """
WITH env AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS web),
box AS (SELECT web, ST_Transform(web, %(srid)s) AS native FROM env),
f AS (
  SELECT p.id, p.pid, p.cropcode, d.colour,
         ST_AsMVTGeom(ST_Transform(p.geom, 3857), box.web, 4096, 64, true) AS geom
  FROM box JOIN parcels p ON p.set_id = %(set_id)s AND p.geom && box.native
  LEFT JOIN LATERAL (SELECT colour FROM decisions d WHERE d.set_id = p.set_id AND d.parcel_id = p.id
       ORDER BY d.run_id DESC, array_position(ARRAY['red', 'yellow', 'green'], d.colour) LIMIT 1) d ON true
  LIMIT %(limit)s
)
SELECT ST_AsMVT(f, 'parcels', 4096, 'geom', 'id') AS tile FROM f WHERE f.geom IS NOT NULL"""


def tile(conn: Conn, pset: dict[str, Any], z: int, x: int, y: int, limit: int) -> bytes:
    """A Mapbox vector tile (layer ``parcels``: id, pid, cropcode, colour) of a set."""
    row = conn.execute(_TILE, {"z": z, "x": x, "y": y, "srid": pset["srid"], "set_id": pset["id"],
                               "limit": limit}).fetchone()
    return bytes(row["tile"]) if row and row["tile"] is not None else b""
