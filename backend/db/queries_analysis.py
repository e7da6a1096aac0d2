"""SQL of the analyst helpers (:mod:`backend.analysis`): read-only summaries of a parcel set."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import DictRow

Conn = psycopg.Connection[DictRow]


def crops(conn: Conn, set_id: int) -> list[dict[str, Any]]:
    """Parcels and area (ha) per declared crop, most frequent first."""
    return conn.execute(
        "SELECT coalesce(cropcode, '') AS cropcode, coalesce(max(cropname), '') AS cropname, "
        "count(*) AS parcels, round((sum(area_m2) / 1e4)::numeric, 2)::float AS area_ha "
        "FROM parcels WHERE set_id = %s GROUP BY 1 ORDER BY 3 DESC, 1", (set_id,)).fetchall()


def observations_per_month(conn: Conn, set_id: int) -> list[dict[str, Any]]:
    """Per image kind and month: images, parcel observations, mean valid-pixel fraction, usable ones."""
    return conn.execute(
        "SELECT i.kind, to_char(i.datetime AT TIME ZONE 'UTC', 'YYYY-MM') AS month, "
        "count(DISTINCT i.id) AS images, count(*) AS observations, "
        "round(avg(s.valid_frac)::numeric, 3)::float AS mean_valid_frac, "
        "count(*) FILTER (WHERE s.valid_frac >= %s) AS usable "
        "FROM signatures s JOIN images i ON i.id = s.image_id WHERE s.set_id = %s "
        "GROUP BY 1, 2 ORDER BY 1, 2", (0.5, set_id)).fetchall()


def parcel_layer(conn: Conn, set_id: int, min_valid: float) -> list[dict[str, Any]]:
    """Each parcel with its WGS84 GeoJSON geometry and S2 statistics.

    The statistics: observations, clear ones (valid fraction >= ``min_valid``), mean valid fraction.
    """
    return conn.execute(
        "SELECT p.pid, p.cropcode, p.cropname, ST_AsGeoJSON(ST_Transform(p.geom, 4326), 6) AS geometry, "
        "count(s.image_id) AS s2_observations, "
        "count(s.image_id) FILTER (WHERE s.valid_frac >= %(v)s) AS s2_clear, "
        "coalesce(round(avg(s.valid_frac)::numeric, 3)::float, 0) AS mean_valid_frac "
        "FROM parcels p LEFT JOIN (signatures s JOIN images i ON i.id = s.image_id AND i.kind = 's2') "
        "ON s.set_id = p.set_id AND s.parcel_id = p.id WHERE p.set_id = %(s)s "
        "GROUP BY p.set_id, p.id ORDER BY p.id", {"s": set_id, "v": min_valid}).fetchall()
