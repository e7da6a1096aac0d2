"""JRC-compatible parcel queries: column-oriented results for parcels, polygons and peers.

"Nothing found" is every column with an empty list (HTTP 200), as the JRC client expects.
A missing parcel set (AOI/year/ptype) is :class:`ParcelSetNotFound` (404) — callers must have
checked the user's AOI grant first so that 404 never leaks to users without access.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from backend.api.params import GeomOptions, SetKey, parse_polygon
from backend.db import queries_api as q
from backend.errors import LimitExceeded, ParcelSetNotFound
from backend.settings import Settings

PARCEL_COLUMNS = ("pid", "cropname", "cropcode", "srid", "area", "clon", "clat")


def columns(rows: Sequence[dict[str, Any]], names: Iterable[str]) -> dict[str, list[Any]]:
    """Turn rows into the column-oriented JSON shape ``{name: [values...]}``."""
    return {n: [r[n] for r in rows] for n in names}


def set_not_found(key: SetKey) -> ParcelSetNotFound:
    """The error for a key that names no parcel set."""
    variant = f" ptype={key.ptype}" if key.ptype else ""
    return ParcelSetNotFound(f"no parcel set for aoi={key.aoi} year={key.year}{variant}")


def resolve_set(conn: q.Conn, key: SetKey) -> dict[str, Any]:
    """The parcel set (id, srid) of a key.

    Raises:
        ParcelSetNotFound: no set for this AOI, year and ptype.
    """
    row = q.parcel_set(conn, key.aoi, key.year, key.ptype)
    if row is None:
        raise set_not_found(key)
    return row


def _parcel_columns(rows: Sequence[dict[str, Any]], opts: GeomOptions) -> dict[str, list[Any]]:
    return columns(rows, (*PARCEL_COLUMNS, "geom") if opts.with_geom else PARCEL_COLUMNS)


async def by_location(pool: q.APool, key: SetKey, lon: float, lat: float,
                      opts: GeomOptions) -> dict[str, list[Any]]:
    """Parcel columns of the parcel(s) containing a WGS84 point (one SQL statement).

    Raises:
        ParcelSetNotFound: no set for this AOI, year and ptype.
    """
    rows = await q.set_parcels_at(pool, key.aoi, key.year, key.ptype, lon, lat, with_geom=opts.with_geom,
                                  wgs84=opts.wgs84)
    if rows is None:
        raise set_not_found(key)
    return _parcel_columns(rows, opts)


async def by_pid(pool: q.APool, key: SetKey, pid: str, opts: GeomOptions) -> dict[str, list[Any]]:
    """Parcel columns of the parcel with this agency id (one SQL statement).

    A set with terrain adds ``elevation slope_mean slope_max aspect`` (m, degrees; aspect None
    where the parcel is flat).

    Raises:
        ParcelSetNotFound: no set for this AOI, year and ptype.
    """
    found = await q.set_parcel_by_pid(pool, key.aoi, key.year, key.ptype, pid, with_geom=opts.with_geom,
                                      wgs84=opts.wgs84)
    if found is None:
        raise set_not_found(key)
    rows, has_terrain = found
    out = _parcel_columns(rows, opts)
    return {**out, **columns(rows, q.TERRAIN_COLUMNS)} if has_terrain else out


def by_polygon(conn: q.Conn, settings: Settings, key: SetKey, polygon: str, opts: GeomOptions,
               only_ids: bool) -> dict[str, list[Any]]:
    """Parcels intersecting a WGS84 polygon: ``{"pid": [...]}`` or full parcel columns.

    Raises:
        InvalidInput: malformed polygon.
        LimitExceeded: polygon too large or complex, or more than ``api_max_rows`` parcels.
    """
    geom = parse_polygon(polygon, settings)
    pset = resolve_set(conn, key)
    limit = settings.api_max_rows
    rows = q.parcels_by_polygon(conn, pset, geom.wkt, limit + 1, only_ids=only_ids,
                                with_geom=opts.with_geom, wgs84=opts.wgs84)
    if len(rows) > limit:
        raise LimitExceeded(f"more than api_max_rows={limit} parcels in the polygon; use a smaller one")
    return columns(rows, ("pid",)) if only_ids else _parcel_columns(rows, opts)


def weather(conn: q.Conn, key: SetKey, pid: str) -> dict[str, list[Any]]:
    """A parcel's daily weather columns (``{}`` when the set has none imported)."""
    from backend.ancillary.weather_series import weather_columns

    return weather_columns(conn, resolve_set(conn, key)["id"], pid)


def peers(conn: q.Conn, settings: Settings, key: SetKey, pid: str, distance: float,
          max_peers: int) -> dict[str, list[Any]]:
    """Same-crop parcels within ``distance`` metres, nearest first: ``{"pids": [], "distance": []}``.

    Raises:
        LimitExceeded: ``max`` above ``api_max_rows``.
    """
    if max_peers > settings.api_max_rows:
        raise LimitExceeded(f"max={max_peers} exceeds the limit api_max_rows={settings.api_max_rows}")
    pset = resolve_set(conn, key)
    rows = q.parcel_peers(conn, pset["id"], pid, distance, max_peers)
    return {"pids": [r["pid"] for r in rows], "distance": [float(r["distance"]) for r in rows]}


def info(conn: q.Conn, user_aois: frozenset[str],
         backgrounds: Sequence[dict[str, str]] = ()) -> dict[str, Any]:
    """Describe the service: readable parcel sets, time-series types, band names, background sources.

    Each AOI has, as the JRC server's, ``years`` and one ``id_examples_<year>[_<ptype>]`` list of
    a few parcel ids per set (the JRC client's GUI needs one), and ``tms`` (background names).
    """
    from backend.extraction.timeseries import TS_BANDS

    sets = [s for s in q.example_pids(conn) if "*" in user_aois or s["aoi"] in user_aois]
    aois: dict[str, dict[str, Any]] = {}
    for s in sets:
        names = [b["name"] for b in backgrounds]
        entry = aois.setdefault(s["aoi"], {"years": [], "ptypes": [], "tms": names})
        if s["year"] not in entry["years"]:
            entry["years"].append(s["year"])
        if s["ptype"] and s["ptype"] not in entry["ptypes"]:
            entry["ptypes"].append(s["ptype"])
        entry[f"id_examples_{s['year']}" + (f"_{s['ptype']}" if s["ptype"] else "")] = list(s["pids"])
    return {"service": "cbm", "api": "JRC CbM compatible /query endpoints", "aois": aois,
            "tstypes": {k: list(v) for k, v in TS_BANDS.items()},
            "weather": any(s["weather"] for s in sets),
            "backgrounds": list(backgrounds), "imagery": imagery(conn)}


def imagery(conn: q.Conn) -> list[dict[str, Any]]:
    """What the catalogue holds, per tstype, provider and collection.

    Each entry: the image count, the bands the images have (JRC names, in band order) and
    their masks (``SCL`` or ``none``); duplicate copies are left out.
    """
    from backend.extraction.timeseries import STORED_TO_JRC

    out = []
    for r in q.catalogue_bands(conn):
        names = STORED_TO_JRC.get(r["kind"], {})
        out.append({"tstype": r["kind"], "provider": r["provider"], "collection": r["collection"],
                    "images": r["n_images"], "masks": list(r["masks"]),
                    "bands": [n for stored, n in names.items() if stored in set(r["bands"] or ())]})
    return out
