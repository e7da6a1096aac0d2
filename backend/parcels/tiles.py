"""Vector tiles of a parcel set (``ST_AsMVT``): parcels with their latest decision colour."""

from __future__ import annotations

from backend.db import queries_tiles as q
from backend.errors import NotFound
from backend.parcels.sets import ParcelSetKey, resolve_set

TILE_MAX_FEATURES = 200_000


def tile(conn: q.Conn, key: ParcelSetKey, z: int, x: int, y: int, min_zoom: int) -> bytes:
    """The MVT tile of a set (empty below ``min_zoom``, where it would hold too many parcels).

    Raises:
        NotFound: tile coordinates outside the zoom level's grid.
    """
    if not (0 <= x < 2 ** z and 0 <= y < 2 ** z):
        raise NotFound(f"tile {z}/{x}/{y} does not exist: x and y must be in [0, {2 ** z - 1}]")
    pset = resolve_set(conn, key)
    if z < min_zoom:
        return b""
    return q.tile(conn, pset, z, x, y, TILE_MAX_FEATURES)
