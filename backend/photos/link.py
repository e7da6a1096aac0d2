"""Which parcel set and parcel a photo belongs to, and how its position relates to that parcel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from pyproj import Geod

from backend.db import queries_parcel_reads as qpr
from backend.db import queries_photos as q
from backend.errors import Forbidden, InvalidInput, NotFound, ParcelNotFound
from backend.parcels.sets import ParcelSetKey, resolve_set
from backend.photos.checks import Context
from backend.photos.exif import PhotoMeta
from backend.settings import Settings

_GEOD = Geod(ellps="WGS84")
SET_MARGIN_M = 1000.0  # a photo taken from a road beside the set's outermost parcel still finds the set


@dataclass(frozen=True)
class Target:
    """Where an upload should go: any of these may be left out (then found from the position)."""

    aoi: str | None = None
    year: int | None = None
    pid: str | None = None
    condition: str | None = None
    ptype: str = ""


def _forbidden(aoi: str) -> Forbidden:
    return Forbidden(f"no access to AOI {aoi!r}: ask an administrator for a grant")


def find_set(conn: q.Conn, target: Target, meta: PhotoMeta,
             can_read: Callable[[str], bool]) -> dict[str, Any]:
    """The parcel set (id, aoi, year, ptype, srid) the photo goes to.

    Raises:
        Forbidden: the user has no grant on the named AOI.
        InvalidInput: no set named and no GPS position, or several sets hold the position.
        NotFound: no readable set holds the position, or the named set does not exist.
    """
    if target.aoi is not None:
        if not can_read(target.aoi):
            raise _forbidden(target.aoi)
        if target.year is None:
            raise InvalidInput("give year with aoi (the parcel set is one AOI and year)")
        key = ParcelSetKey(target.aoi, target.year, target.ptype)
        return {**resolve_set(conn, key), "aoi": key.aoi, "year": key.year, "ptype": key.ptype}
    if not meta.has_position:
        raise InvalidInput("the photo has no GPS position: give aoi, year and pid of its parcel")
    assert meta.lon is not None and meta.lat is not None
    sets = [s for s in q.sets_at(conn, meta.lon, meta.lat, target.year, SET_MARGIN_M) if can_read(s["aoi"])]
    if target.year is None and meta.taken_local is not None and len(sets) > 1:
        sets = [s for s in sets if s["year"] == meta.taken_local.year] or sets
    if not sets:
        raise NotFound(f"no parcel set you may read holds the position {meta.lat:.6f}, {meta.lon:.6f}: "
                       "give aoi and year")
    if len(sets) > 1:
        names = ", ".join(f"{s['aoi']} {s['year']}{' ' + s['ptype'] if s['ptype'] else ''}" for s in sets)
        raise InvalidInput(f"several parcel sets hold the photo's position ({names}): give aoi and year")
    return sets[0]


def ray_end(meta: PhotoMeta, view_m: float) -> tuple[float, float] | None:
    """The WGS84 point ``view_m`` metres from the position along the bearing (geodesic)."""
    if meta.bearing is None or meta.lon is None or meta.lat is None:
        return None
    lon, lat, _ = _GEOD.fwd(meta.lon, meta.lat, meta.bearing, view_m)
    return float(lon), float(lat)


def _parcel(conn: q.Conn, pset: dict[str, Any], target: Target, containing: list[dict[str, Any]]) -> dict:
    if target.pid is not None:
        row = qpr.parcel_row(conn, pset["id"], target.pid)
        if row is None:
            raise ParcelNotFound(f"no parcel {target.pid!r} in {pset['aoi']} {pset['year']}")
        return {"id": int(row["id"]), "pid": row["pid"]}
    if not containing:
        raise InvalidInput(f"the photo's position lies in no parcel of {pset['aoi']} {pset['year']}: "
                           "give pid to attach it to a parcel")
    return {"id": int(containing[0]["id"]), "pid": containing[0]["pid"]}


def _window(conn: q.Conn, set_id: int, parcel: dict, condition: str) -> tuple[date, date] | None:
    found = q.condition_window(conn, set_id, parcel["id"], condition)
    if found is False:
        known = ", ".join(q.conditions_of(conn, set_id, parcel["id"])) or "none"
        raise InvalidInput(f"parcel {parcel['pid']} has no decision for condition {condition!r} "
                           f"(its conditions: {known})")
    if not found:
        return None
    assert isinstance(found, list)
    return date.fromisoformat(found[0]), date.fromisoformat(found[1])


def link(conn: q.Conn, settings: Settings, pset: dict[str, Any], target: Target,
         meta: PhotoMeta) -> tuple[dict[str, Any], Context]:
    """The parcel (id, pid) the photo is linked to and the context of its checks.

    Raises:
        ParcelNotFound: the named pid is not in the set.
        InvalidInput: no pid and the position lies in no parcel (or there is no position); the
            parcel has no decision for the named condition.
    """
    if target.pid is None and not meta.has_position:
        raise InvalidInput("the photo has no GPS position: give pid of its parcel")
    containing = (q.parcels_at(conn, pset["id"], pset["srid"], meta.lon, meta.lat)
                  if meta.lon is not None and meta.lat is not None else [])
    parcel = _parcel(conn, pset, target, containing)
    others = tuple(p["pid"] for p in containing if p["pid"] != parcel["pid"])
    rel: dict[str, Any] = {}
    if meta.lon is not None and meta.lat is not None:
        end = ray_end(meta, settings.photo_view_m)
        rel = q.relation(conn, pset["id"], parcel["id"], meta.lon, meta.lat, end)
    window = _window(conn, pset["id"], parcel, target.condition) if target.condition else None
    ctx = Context(parcel["pid"], int(pset["year"]), settings.photo_near_m, settings.photo_view_m,
                  rel.get("inside"), rel.get("distance_m"), rel.get("ray_in_m"), others, target.condition,
                  window)
    return parcel, ctx
