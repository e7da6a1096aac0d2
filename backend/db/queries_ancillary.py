"""SQL of ancillary data per parcel set: weather sources, series and parcel links.

The caller owns the transaction: an import either commits whole or leaves the database as it
was. Series are stored per cell and variable as float32 bytes (one value per day).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

Conn = psycopg.Connection[DictRow]
APool = AsyncConnectionPool[psycopg.AsyncConnection[DictRow]]


def weather_source(conn: Conn, set_id: int) -> dict[str, Any] | None:
    """The weather source of a parcel set (id, source, kind, first_day, n_days, variables, units)."""
    return conn.execute("SELECT id, source, kind, first_day, n_days, variables, units "
                        "FROM weather_sources WHERE set_id = %s", (set_id,)).fetchone()


def delete_weather(conn: Conn, set_id: int) -> None:
    """Delete the weather of a set (its series and links cascade)."""
    conn.execute("DELETE FROM weather_sources WHERE set_id = %s", (set_id,))


def insert_source(conn: Conn, set_id: int, source: str, kind: str, first_day: Any, n_days: int,
                  variables: Sequence[str], units: dict[str, str]) -> int:
    """Insert a weather source; returns its id."""
    row = conn.execute(
        "INSERT INTO weather_sources (set_id, source, kind, first_day, n_days, variables, units) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (set_id, source, kind, first_day, n_days, list(variables), Jsonb(units))).fetchone()
    assert row is not None
    return int(row["id"])


def load_cells(conn: Conn, rows: Iterable[tuple[float, ...]], *, srid: int,
               set_srid: int, points: bool) -> None:
    """Fill the transaction's temporary ``weather_cells_tmp`` with cells in the set's CRS.

    ``rows`` are (cell, xmin, ymin, xmax, ymax) in ``srid`` (points: x, y twice).
    """
    conn.execute("CREATE TEMP TABLE weather_cells_raw (cell integer, x0 float8, y0 float8, "
                 "x1 float8, y1 float8) ON COMMIT DROP")
    with conn.cursor().copy("COPY weather_cells_raw FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    shape = ("ST_SetSRID(ST_MakePoint(x0, y0), %(srid)s)" if points
             else "ST_MakeEnvelope(x0, y0, x1, y1, %(srid)s)")
    conn.execute(f"CREATE TEMP TABLE weather_cells_tmp ON COMMIT DROP AS SELECT cell, "
                 f"ST_Transform({shape}, %(set_srid)s) AS geom FROM weather_cells_raw",
                 {"srid": srid, "set_srid": set_srid})
    conn.execute("CREATE INDEX ON weather_cells_tmp USING gist (geom)")
    conn.execute("ANALYZE weather_cells_tmp")


def link_grid(conn: Conn, source_id: int, set_id: int) -> None:
    """Link every parcel to the cells it overlaps, weighted by the share of its area in each."""
    conn.execute("""
        INSERT INTO weather_links (source_id, parcel_id, cell, weight)
        SELECT %(src)s, id, cell, w FROM (
            SELECT p.id, c.cell,
                   CASE WHEN ST_CoveredBy(p.geom, c.geom) THEN 1.0
                        ELSE ST_Area(ST_Intersection(p.geom, c.geom)) / ST_Area(p.geom) END AS w
            FROM parcels p JOIN weather_cells_tmp c ON ST_Intersects(p.geom, c.geom)
            WHERE p.set_id = %(set)s) s
        WHERE w > 1e-9""", {"src": source_id, "set": set_id})


def link_nearest(conn: Conn, source_id: int, set_id: int) -> None:
    """Link every parcel to its nearest station (from a point on the parcel)."""
    conn.execute("""
        INSERT INTO weather_links (source_id, parcel_id, cell, weight)
        SELECT %(src)s, p.id, s.cell, 1.0 FROM parcels p
        CROSS JOIN LATERAL (SELECT cell FROM weather_cells_tmp c
                            ORDER BY c.geom <-> ST_PointOnSurface(p.geom) LIMIT 1) s
        WHERE p.set_id = %(set)s""", {"src": source_id, "set": set_id})


def uncovered(conn: Conn, source_id: int, set_id: int, limit: int = 5) -> tuple[int, list[str]]:
    """Parcels whose linked cells cover less than 99.9 % of their area: (count, first pids).

    The links just inserted are analysed first: without statistics the planner took them for a
    few rows and joined 500 000 parcels by nested loop (minutes instead of a second).
    """
    conn.execute("ANALYZE weather_links")
    rows = conn.execute("""
        SELECT p.pid, count(*) OVER () AS n FROM parcels p
        LEFT JOIN (SELECT parcel_id, sum(weight) AS w FROM weather_links WHERE source_id = %(src)s
                   GROUP BY parcel_id) l ON l.parcel_id = p.id
        WHERE p.set_id = %(set)s AND coalesce(l.w, 0) < 0.999
        ORDER BY p.pid LIMIT %(limit)s""", {"src": source_id, "set": set_id, "limit": limit}).fetchall()
    return (int(rows[0]["n"]) if rows else 0), [r["pid"] for r in rows]


def linked_cells(conn: Conn, source_id: int) -> list[int]:
    """The cells some parcel is linked to, in order."""
    rows = conn.execute("SELECT DISTINCT cell FROM weather_links WHERE source_id = %s ORDER BY cell",
                        (source_id,)).fetchall()
    return [int(r["cell"]) for r in rows]


def copy_series(conn: Conn, rows: Iterable[tuple[int, int, str, bytes]]) -> None:
    """COPY (source_id, cell, variable, float32 bytes) rows into ``weather_series``."""
    with conn.cursor().copy("COPY weather_series (source_id, cell, variable, vals) FROM STDIN "
                            "(FORMAT BINARY)") as copy:
        copy.set_types(["int4", "int4", "text", "bytea"])
        for row in rows:
            copy.write_row(row)


def count_links(conn: Conn, source_id: int) -> int:
    """Number of (parcel, cell) links of a weather source."""
    row = conn.execute("SELECT count(*) AS n FROM weather_links WHERE source_id = %s",
                       (source_id,)).fetchone()
    return int(row["n"]) if row else 0


def parcel_weather(conn: Conn, set_id: int, pid: str) -> list[dict[str, Any]]:
    """The linked series of one parcel: rows of (variable, weight, vals), with its source."""
    return conn.execute("""
        SELECT s.first_day, s.n_days, s.variables, s.units, w.variable, l.weight, w.vals
        FROM parcels p
        JOIN weather_sources s ON s.set_id = p.set_id
        JOIN weather_links l ON l.source_id = s.id AND l.parcel_id = p.id
        JOIN weather_series w ON w.source_id = s.id AND w.cell = l.cell
        WHERE p.set_id = %s AND p.pid = %s
        ORDER BY w.variable, l.cell""", (set_id, pid)).fetchall()


# ---------------------------------------------------------------------------- terrain
def terrain_source(conn: Conn, set_id: int) -> dict[str, Any] | None:
    """The terrain source of a parcel set (source, crs, pixel_m, imported_at), or None."""
    return conn.execute("SELECT source, crs, pixel_m, imported_at FROM terrain_sources WHERE set_id = %s",
                        (set_id,)).fetchone()


def parcel_geoms(conn: Conn, set_id: int) -> list[dict[str, Any]]:
    """Every parcel of a set: (id, pid, wkb) in the set's CRS, by id."""
    return conn.execute("SELECT id, pid, ST_AsBinary(geom) AS wkb FROM parcels WHERE set_id = %s ORDER BY id",
                        (set_id,)).fetchall()


def delete_terrain(conn: Conn, set_id: int) -> None:
    """Delete the terrain of a set (its parcels' rows cascade)."""
    conn.execute("DELETE FROM terrain_sources WHERE set_id = %s", (set_id,))


def insert_terrain(conn: Conn, set_id: int, source: str, crs: str, pixel_m: float,
                   rows: Iterable[tuple[int, float, float, float, float | None, int]]) -> None:
    """Insert a terrain source and COPY its (parcel_id, elevation, slope_mean, slope_max, aspect, n) rows."""
    conn.execute("INSERT INTO terrain_sources (set_id, source, crs, pixel_m) VALUES (%s, %s, %s, %s)",
                 (set_id, source, crs, pixel_m))
    with conn.cursor().copy("COPY parcel_terrain (set_id, parcel_id, elevation, slope_mean, slope_max, "
                            "aspect, n_pixels) FROM STDIN") as copy:
        for row in rows:
            copy.write_row((set_id, *row))


def weighted_series(conn: Conn, source_id: int, variable: str) -> list[dict[str, Any]]:
    """Every parcel link of a source with its cell's series of one variable (parcel_id, weight, vals)."""
    return conn.execute("""
        SELECT l.parcel_id, l.weight, w.vals FROM weather_links l
        JOIN weather_series w ON w.source_id = l.source_id AND w.cell = l.cell
        WHERE l.source_id = %s AND w.variable = %s ORDER BY l.parcel_id, l.cell""",
        (source_id, variable)).fetchall()


async def set_parcel_weather(pool: APool, aoi: str, year: int, ptype: str, pid: str) -> list[dict[str, Any]]:
    """One round trip: the set's weather source and the parcel's linked series.

    No rows: no such set. One row with ``first_day`` NULL: the set has no weather. Rows with
    ``variable`` NULL only: no such parcel (or no links).
    """
    async with pool.connection() as conn:
        cur = await conn.execute("""
            SELECT s.id AS set_id, ws.first_day, ws.n_days, ws.variables, w.variable, l.weight, w.vals
            FROM parcel_sets s
            LEFT JOIN weather_sources ws ON ws.set_id = s.id
            LEFT JOIN parcels p ON p.set_id = s.id AND p.pid = %(pid)s
            LEFT JOIN weather_links l ON l.source_id = ws.id AND l.parcel_id = p.id
            LEFT JOIN weather_series w ON w.source_id = ws.id AND w.cell = l.cell
            WHERE s.aoi = %(aoi)s AND s.year = %(year)s AND s.ptype = %(ptype)s
            ORDER BY w.variable, l.cell""", {"aoi": aoi, "year": year, "ptype": ptype, "pid": pid})
        return await cur.fetchall()
