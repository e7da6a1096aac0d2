"""What a photo's EXIF says: GPS position, local time and offset, compass bearing, accuracy.

Pillow reads the EXIF block without decoding any pixel. Values a camera cannot have produced
(a latitude beyond 90°, a bearing of 400°, a time in the future...) are refused with
:class:`ImpossibleExif`, so a photo never enters the system with a position or time that is
silently wrong.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from PIL import ExifTags, Image

from backend.errors import InvalidInput

_GPS = ExifTags.GPS
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")
EARLIEST = datetime(1990, 1, 1)


class ImpossibleExif(InvalidInput):
    """The EXIF block holds a value no camera produces (refused; nothing is stored)."""


@dataclass(frozen=True)
class PhotoMeta:
    """The facts read from a photo's EXIF (None where the photo does not say)."""

    has_exif: bool
    lon: float | None = None
    lat: float | None = None
    taken_local: datetime | None = None  # camera wall clock, naive
    utc_offset: str | None = None  # "+02:00" (OffsetTimeOriginal)
    bearing: float | None = None  # degrees clockwise from north
    bearing_ref: str | None = None  # "T" true or "M" magnetic north
    accuracy_m: float | None = None  # GPSHPositioningError

    @property
    def has_position(self) -> bool:
        """True when the photo carries a GPS position."""
        return self.lon is not None and self.lat is not None

    @property
    def taken_utc(self) -> datetime | None:
        """The time in UTC when the offset is known."""
        if self.taken_local is None or self.utc_offset is None:
            return None
        return _with_offset(self.taken_local, self.utc_offset).astimezone(UTC)


def _with_offset(local: datetime, offset: str) -> datetime:
    m = _OFFSET.match(offset)
    assert m is not None
    delta = timedelta(hours=int(m[2]), minutes=int(m[3]))
    return local.replace(tzinfo=timezone(delta if m[1] == "+" else -delta))


def _num(value: Any, what: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        raise ImpossibleExif(f"EXIF {what} is not a number ({value!r})") from None
    if not math.isfinite(out):
        raise ImpossibleExif(f"EXIF {what} is not a finite number ({value!r})")
    return out


def _degrees(dms: Any, ref: Any, what: str, limit: float, negative: str) -> float:
    parts = [_num(v, what) for v in (dms if isinstance(dms, tuple | list) else (dms,))]
    if not 1 <= len(parts) <= 3 or any(p < 0 for p in parts) or any(p >= 60 for p in parts[1:]):
        raise ImpossibleExif(f"EXIF {what} {tuple(parts)} is not degrees, minutes, seconds")
    value = sum(p / 60**i for i, p in enumerate(parts))
    if value > limit:
        raise ImpossibleExif(f"EXIF {what} {value:.6f}° is beyond {limit:g}°")
    ref = str(ref or "").strip().upper()[:1]
    if ref not in ("", "N", "S", "E", "W"):
        raise ImpossibleExif(f"EXIF {what} reference {ref!r} is not N, S, E or W")
    return -value if ref == negative else value


def _position(gps: dict[int, Any]) -> tuple[float | None, float | None]:
    if _GPS.GPSLatitude not in gps or _GPS.GPSLongitude not in gps:
        return None, None
    lat = _degrees(gps[_GPS.GPSLatitude], gps.get(_GPS.GPSLatitudeRef), "GPS latitude", 90, "S")
    lon = _degrees(gps[_GPS.GPSLongitude], gps.get(_GPS.GPSLongitudeRef), "GPS longitude", 180, "W")
    return lon, lat


def _bearing(gps: dict[int, Any]) -> tuple[float | None, str | None]:
    if _GPS.GPSImgDirection not in gps:
        return None, None
    value = _num(gps[_GPS.GPSImgDirection], "GPS image direction")
    if not 0 <= value <= 360:
        raise ImpossibleExif(f"EXIF GPS image direction {value:g}° is outside 0-360°")
    ref = str(gps.get(_GPS.GPSImgDirectionRef) or "T").strip().upper()[:1]
    if ref not in ("T", "M"):
        raise ImpossibleExif(f"EXIF GPS image direction reference {ref!r} is not T or M")
    return value % 360, ref


def _accuracy(gps: dict[int, Any]) -> float | None:
    if _GPS.GPSHPositioningError not in gps:
        return None
    value = _num(gps[_GPS.GPSHPositioningError], "GPS horizontal positioning error")
    if value < 0:
        raise ImpossibleExif(f"EXIF GPS horizontal positioning error {value:g} m is negative")
    return value


def _time(sub: dict[int, Any], now: datetime) -> tuple[datetime | None, str | None]:
    raw = sub.get(ExifTags.Base.DateTimeOriginal)
    if raw is None or not str(raw).strip(" \x00:"):
        return None, None  # absent, or the blank value some cameras write
    try:
        local = datetime.strptime(str(raw).strip(" \x00"), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        raise ImpossibleExif(f"EXIF DateTimeOriginal {raw!r} is not a date 'YYYY:MM:DD HH:MM:SS'") from None
    offset = sub.get(ExifTags.Base.OffsetTimeOriginal)
    offset = str(offset).strip(" \x00") if offset else None
    if offset is not None and not _OFFSET.match(offset):
        raise ImpossibleExif(f"EXIF OffsetTimeOriginal {offset!r} is not '+HH:MM' or '-HH:MM'")
    if local < EARLIEST:
        raise ImpossibleExif(f"EXIF DateTimeOriginal {local:%Y-%m-%d %H:%M:%S} is before {EARLIEST:%Y}")
    # without an offset the wall clock may be up to 14 h ahead of UTC
    latest = now + timedelta(hours=14 if offset is None else 0, minutes=10)
    aware = _with_offset(local, offset) if offset else local.replace(tzinfo=UTC)
    if aware > latest:
        raise ImpossibleExif(f"EXIF DateTimeOriginal {local:%Y-%m-%d %H:%M:%S}{offset or ''} lies in the "
                             "future")
    return local, offset


def read_meta(img: Image.Image, *, now: datetime | None = None) -> PhotoMeta:
    """The EXIF facts of an opened image (no pixels decoded).

    Raises:
        ImpossibleExif: a value is out of range or malformed.
    """
    exif = img.getexif()
    if not exif:
        return PhotoMeta(has_exif=False)
    gps = dict(exif.get_ifd(ExifTags.IFD.GPSInfo))
    sub = dict(exif.get_ifd(ExifTags.IFD.Exif))
    lon, lat = _position(gps)
    bearing, ref = _bearing(gps)
    local, offset = _time(sub, now or datetime.now(UTC))
    return PhotoMeta(True, lon, lat, local, offset, bearing, ref, _accuracy(gps))
