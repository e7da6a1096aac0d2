"""The checks agencies rely on, as pure functions of what was read and measured.

Each check is ``{"check": name, "status": "pass" | "fail" | "unknown", "detail": plain words}``
and is stored with the photo as it was when the photo came in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from backend.photos.exif import PhotoMeta

MIN_VIEW_IN_M = 10.0  # the sight line must run this far inside the parcel to "point into" it


@dataclass(frozen=True)
class Context:
    """Where the photo was linked and what it is checked against."""

    pid: str
    year: int
    near_m: float
    view_m: float
    inside: bool | None = None
    distance_m: float | None = None
    ray_in_m: float | None = None
    others: tuple[str, ...] = ()  # other parcels holding the position
    condition: str | None = None
    window: tuple[date, date] | None = None


def _check(name: str, status: str, detail: str) -> dict[str, str]:
    return {"check": name, "status": status, "detail": detail}


def exif_checks(meta: PhotoMeta) -> list[dict[str, str]]:
    """EXIF present, GPS position present."""
    out = [_check("exif", "pass", "the photo carries EXIF metadata") if meta.has_exif else
           _check("exif", "fail", "no EXIF metadata: position, time and direction cannot be checked")]
    if meta.has_position:
        acc = f" (accuracy {meta.accuracy_m:g} m)" if meta.accuracy_m is not None else ""
        out.append(_check("gps", "pass", f"GPS position {meta.lat:.6f}, {meta.lon:.6f}{acc}"))
    else:
        out.append(_check("gps", "fail", "no GPS position (stripped or never recorded)"))
    return out


def position_check(meta: PhotoMeta, ctx: Context) -> dict[str, str]:
    """Inside the parcel, or within ``near_m`` of it."""
    if not meta.has_position or ctx.distance_m is None:
        return _check("position", "unknown", "no GPS position to compare with the parcel")
    if ctx.inside:
        also = f"; it also lies in {', '.join(ctx.others)}" if ctx.others else ""
        return _check("position", "pass", f"taken inside parcel {ctx.pid}{also}")
    where = f"{ctx.distance_m:.1f} m outside parcel {ctx.pid}"
    if ctx.others:
        where += f", inside {', '.join(ctx.others)}"
    if ctx.distance_m <= ctx.near_m:
        return _check("position", "pass", f"{where} (within the {ctx.near_m:g} m tolerance)")
    return _check("position", "fail", f"{where} (more than the {ctx.near_m:g} m tolerance)")


def time_checks(meta: PhotoMeta, ctx: Context) -> list[dict[str, str]]:
    """Taken in the season (the set's year) and, with a condition, inside its window."""
    if meta.taken_local is None:
        out = [_check("season", "unknown", "no EXIF DateTimeOriginal: when the photo was taken is unknown")]
        if ctx.condition:
            out.append(_check("window", "unknown", f"no time to compare with the window of {ctx.condition}"))
        return out
    day = meta.taken_local.date()
    if day.year < ctx.year:
        out = [_check("season", "fail", f"taken on {day}, older than the {ctx.year} season")]
    elif day.year > ctx.year:
        out = [_check("season", "fail", f"taken on {day}, after the {ctx.year} season")]
    else:
        out = [_check("season", "pass", f"taken on {day}, in the {ctx.year} season")]
    if ctx.condition:
        out.append(_window_check(day, ctx))
    return out


def _window_check(day: date, ctx: Context) -> dict[str, str]:
    if ctx.window is None:
        return _check("window", "unknown", f"condition {ctx.condition} has no time window")
    start, end = ctx.window
    words = f"taken on {day}; window of {ctx.condition}: {start} to {end}"
    return _check("window", "pass" if start <= day <= end else "fail", words)


def direction_check(meta: PhotoMeta, ctx: Context) -> dict[str, str]:
    """The camera's bearing points into the parcel within ``view_m``."""
    if meta.bearing is None:
        return _check("direction", "unknown", "no GPSImgDirection: the camera's bearing is unknown")
    if ctx.ray_in_m is None:
        return _check("direction", "unknown", "no GPS position to follow the bearing from")
    north = "magnetic" if meta.bearing_ref == "M" else "true"
    words = (f"bearing {meta.bearing:.0f}° ({north} north): the sight line runs {ctx.ray_in_m:.0f} m "
             f"inside parcel {ctx.pid} within {ctx.view_m:g} m")
    return _check("direction", "pass" if ctx.ray_in_m >= MIN_VIEW_IN_M else "fail", words)


def all_checks(meta: PhotoMeta, ctx: Context) -> list[dict[str, Any]]:
    """Every check in a fixed order; ``duplicate`` passes (duplicates are refused before)."""
    return [*exif_checks(meta), position_check(meta, ctx), *time_checks(meta, ctx),
            direction_check(meta, ctx),
            _check("duplicate", "pass", "no other photo with the same content in this parcel set")]
