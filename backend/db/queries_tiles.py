"""SQL of the parcel vector tiles (Mapbox Vector Tiles with each parcel's latest colour)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import DictRow

Conn = psycopg.Connection[DictRow]

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
