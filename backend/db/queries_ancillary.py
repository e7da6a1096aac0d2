"""SQL of ancillary data per parcel set: weather sources, series and parcel links.

The caller owns the transaction: an import either commits whole or leaves the database as it
was. Series are stored per cell and variable as float32 bytes (one value per day).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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


def load_stations(conn: Conn, rows: Iterable[tuple[int, float, float]], *, srid: int, set_srid: int) -> None:
    """Fill the transaction's temporary ``weather_cells_tmp`` with stations (cell, x, y in ``srid``).

    Their points are stored in the set's CRS, indexed for :func:`link_nearest`.
    """
    conn.execute("CREATE TEMP TABLE weather_cells_raw (cell integer, x float8, y float8) ON COMMIT DROP")
    with conn.cursor().copy("COPY weather_cells_raw FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    conn.execute("CREATE TEMP TABLE weather_cells_tmp ON COMMIT DROP AS SELECT cell, "
                 "ST_Transform(ST_SetSRID(ST_MakePoint(x, y), %(srid)s), %(set_srid)s) AS geom "
                 "FROM weather_cells_raw", {"srid": srid, "set_srid": set_srid})
    conn.execute("CREATE INDEX ON weather_cells_tmp USING gist (geom)")
    conn.execute("ANALYZE weather_cells_tmp")


# Each parcel's bounding box in the grid's CRS, in cells (each OFFSET 0: computed once per parcel);
# pid and geometry kept only for the parcels not inside one cell, the few that need more work.
_PLACE = """
    CREATE TEMP TABLE weather_placed ON COMMIT DROP AS
    SELECT id, ix0, ix1, iy0, iy1, one_cell, CASE WHEN NOT one_cell THEN pid END AS pid,
           CASE WHEN NOT one_cell THEN geom END AS geom
    FROM (SELECT id, pid, geom, ix0, ix1, iy0, iy1,
                 ix0 = ix1 AND iy0 = iy1 AND ix0 BETWEEN 0 AND %(nx)s - 1 AND iy0 BETWEEN 0 AND %(ny)s - 1
                     AS one_cell
          FROM (SELECT id, pid, geom, floor(least(xa, xb))::int AS ix0, floor(greatest(xa, xb))::int AS ix1,
                       floor(least(ya, yb))::int AS iy0, floor(greatest(ya, yb))::int AS iy1
                FROM (SELECT id, pid, geom,
                             (ST_XMin(b) - %(x0)s) / %(dx)s AS xa, (ST_XMax(b) - %(x0)s) / %(dx)s AS xb,
                             (ST_YMin(b) - %(y0)s) / %(dy)s AS ya, (ST_YMax(b) - %(y0)s) / %(dy)s AS yb
                      FROM (SELECT id, pid, geom, Box2D(ST_Transform(geom, %(srid)s)) AS b FROM parcels
                            WHERE set_id = %(set)s OFFSET 0) t) u) v OFFSET 0) w"""
_ONE_CELL = """
    INSERT INTO weather_links (source_id, parcel_id, cell, weight)
    SELECT %(src)s, id, iy0 * %(nx)s + ix0, 1.0 FROM weather_placed WHERE one_cell"""
# The others: per cell of the grid under the box, the parcel's piece (clipped in the grid's CRS,
# measured in the set's) over its area.
_SHARES = """
    INSERT INTO weather_links (source_id, parcel_id, cell, weight)
    SELECT %(src)s, id, cell, w FROM (
        SELECT c.id, iy * %(nx)s + ix AS cell,
               ST_Area(ST_Transform(ST_ClipByBox2D(ST_Transform(c.geom, %(srid)s),
                                                   ST_MakeBox2D(ST_Point(e.xa, e.ya), ST_Point(e.xb, e.yb))),
                                    %(set_srid)s)) / ST_Area(c.geom) AS w
        FROM weather_placed c
        CROSS JOIN LATERAL generate_series(greatest(c.ix0, 0), least(c.ix1, %(nx)s - 1)) ix
        CROSS JOIN LATERAL generate_series(greatest(c.iy0, 0), least(c.iy1, %(ny)s - 1)) iy
        CROSS JOIN LATERAL (SELECT %(x0)s + ix * %(dx)s AS xa, %(x0)s + (ix + 1) * %(dx)s AS xb,
                                   %(y0)s + iy * %(dy)s AS ya, %(y0)s + (iy + 1) * %(dy)s AS yb) e
        WHERE NOT c.one_cell OFFSET 0) s
    WHERE w > 1e-9"""


def link_grid(conn: Conn, source_id: int, set_id: int, grid: Mapping[str, float], *, srid: int,
              set_srid: int) -> None:
    """Link every parcel to the cells of a regular grid it overlaps, weighted by area share.

    ``grid`` is (x0, dx, nx, y0, dy, ny) in ``srid`` (:class:`~backend.ancillary.weather_read.GridSpec`).
    No spatial join: each parcel's bounding box in the grid's CRS gives its cells by arithmetic
    (``floor((x - x0) / dx)``). A parcel inside one cell (most of them) gets weight 1; one
    crossing cell borders or the grid's edge gets, per cell of the grid it touches, the area of
    its piece in that cell over its area (exact: cells are the grid's own rectangles, not their
    corners transformed). Leaves the placement in ``weather_placed`` for :func:`uncovered_grid`.
    """
    p = {**grid, "src": source_id, "set": set_id, "srid": srid, "set_srid": set_srid}
    conn.execute("SET LOCAL jit = off")  # nothing to compile in PostGIS calls: 0.4 s per statement
    conn.execute(_PLACE, p)
    conn.execute("ANALYZE weather_placed")
    conn.execute(_ONE_CELL, p)
    conn.execute(_SHARES, p)
    conn.execute("ANALYZE weather_links")


def uncovered_grid(conn: Conn, source_id: int, limit: int = 5) -> tuple[int, list[str]]:
    """After :func:`link_grid`: parcels whose linked cells cover less than 99.9 % of their area.

    Only parcels not inside one cell of the grid can be short of it: (count, first pids). One
    aggregate row, no ``ORDER BY ... LIMIT``: with it the planner walked all parcels in pid order
    against every candidate (minutes for 500 000 parcels).
    """
    row = conn.execute("""
        SELECT count(*) AS n, (array_agg(c.pid ORDER BY c.pid))[1:%(limit)s] AS pids
        FROM weather_placed c
        LEFT JOIN LATERAL (SELECT sum(weight) AS w FROM weather_links l
                           WHERE l.source_id = %(src)s AND l.parcel_id = c.id) l ON true
        WHERE NOT c.one_cell AND coalesce(l.w, 0) < 0.999""",
        {"src": source_id, "limit": limit}).fetchone()
    return (int(row["n"]), list(row["pids"])) if row and row["n"] else (0, [])


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


async def set_parcel_weather(pool: APool, aoi: str, year: int, ptype: str, pid: str) -> dict[str, Any] | None:
    """One round trip, one row: the set's weather source and the parcel's linked series.

    None: no such set. ``first_day`` NULL: the set has no weather. ``weights`` NULL: no such
    parcel (or no links). Else ``weights`` of the parcel's cells (in cell order) and ``vals``
    their float32 series concatenated, per variable in the source's order, per cell.
    """
    async with pool.connection() as conn:
        cur = await conn.execute("""
            SELECT s.id AS set_id, ws.first_day, ws.n_days, ws.variables, pl.weights, sv.vals
            FROM parcel_sets s
            LEFT JOIN weather_sources ws ON ws.set_id = s.id
            LEFT JOIN LATERAL (
                SELECT array_agg(l.cell ORDER BY l.cell) AS cells,
                       array_agg(l.weight ORDER BY l.cell) AS weights
                FROM parcels p JOIN weather_links l ON l.source_id = ws.id AND l.parcel_id = p.id
                WHERE p.set_id = s.id AND p.pid = %(pid)s) pl ON true
            LEFT JOIN LATERAL (
                SELECT string_agg(w.vals, ''::bytea ORDER BY array_position(ws.variables, w.variable), w.cell)
                       AS vals
                FROM weather_series w WHERE w.source_id = ws.id AND w.cell = ANY (pl.cells)) sv ON true
            WHERE s.aoi = %(aoi)s AND s.year = %(year)s AND s.ptype = %(ptype)s""",
            {"aoi": aoi, "year": year, "ptype": ptype, "pid": pid})
        return await cur.fetchone()
