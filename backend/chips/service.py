"""Chips for a location and date range: image selection from the catalogue, limits, rendering."""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from backend.catalogue.filters import DateLike, check_date_span, to_datetime
from backend.chips import render
from backend.chips.cache import relative
from backend.chips.spec import ChipSpec, band_kind, normalise_band
from backend.db import queries_chips as q
from backend.errors import CbmError, InvalidInput, LimitExceeded
from backend.progress import with_progress
from backend.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
OnError = Callable[[Mapping[str, Any], CbmError], None]
FINEST_RES_M = 10.0
"""Pixel size of the finest S2/S1 bands: the raw-chip limit in metres is api_max_chip_size of them."""
DEFAULT_RAW_CHIP_M = 1280.0
"""The JRC default raw chip: 1280 m, 128 px of a 10 m band."""


@dataclass(frozen=True)
class ChipFile:
    """A rendered file in the chip cache.

    Attributes:
        path: path relative to the cache root (what a signed URL grants).
        name: file name for downloads (``<item id>.<band>.tif``).
        media_type: MIME type.
    """

    path: str
    name: str
    media_type: str


@dataclass(frozen=True)
class Chip:
    """One chip of one image (and one band, for raw chips)."""

    image_id: int
    item_id: str
    datetime: dt.datetime
    file: ChipFile
    band: str | None = None
    cloud_fraction: float | None = None
    nodata_fraction: float | None = None

    @property
    def compact_date(self) -> str:
        """Acquisition time as ``YYYYMMDDTHHMMSS`` (UTC), as the JRC client expects."""
        return self.datetime.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S")


def check_size(settings: Settings, size: int) -> None:
    """Refuse chips larger than ``api_max_chip_size``."""
    if size > settings.api_max_chip_size:
        raise LimitExceeded(f"chipsize {size} px exceeds the limit CBM_API_MAX_CHIP_SIZE = "
                            f"{settings.api_max_chip_size} px")


def date_range(settings: Settings, start: DateLike, end: DateLike) -> tuple[dt.datetime, dt.datetime]:
    """Parse an inclusive date range and refuse one longer than ``api_max_date_span_days``.

    Raises:
        InvalidInput: unparsable dates or end before start.
        LimitExceeded: the range is too long.
    """
    first, last = to_datetime(start), to_datetime(end, end=True)
    assert first is not None and last is not None
    check_date_span(first, last, settings.api_max_date_span_days)
    return first, last


def select_images(
    settings: Settings, conn: q.Conn, spec: ChipSpec, start: DateLike, end: DateLike, *,
    max_cloud: float | None = None, chips_per_image: int = 1,
) -> list[dict[str, Any]]:
    """Catalogued images of the spec's kind covering its location in a date range.

    Raises:
        LimitExceeded: the request would make more than ``api_max_chips`` chips.
    """
    if max_cloud is not None and not 0 <= max_cloud <= 100:
        raise InvalidInput(f"max_cloud must be within 0..100, got {max_cloud}")
    check_size(settings, spec.size)
    first, last = date_range(settings, start, end)
    limit = settings.api_max_chips // chips_per_image
    rows = q.images_at(conn, spec.lon, spec.lat, first, last, kinds=[spec.kind], max_cloud=max_cloud,
                       limit=limit + 1)
    if len(rows) > limit:
        raise LimitExceeded(f"more than {len(rows) - 1} images x {chips_per_image} band(s) match; the limit "
                            f"CBM_API_MAX_CHIPS is {settings.api_max_chips} chips per request: "
                            "shorten the date range or set max_cloud")
    return rows


def png_chips(
    settings: Settings, conn: q.Conn, spec: ChipSpec, start: DateLike, end: DateLike, *,
    max_cloud: float | None = None, progress: bool | Any = False, on_error: OnError | None = None,
) -> list[Chip]:
    """PNG chips of every image covering the location in the date range, oldest first.

    Args:
        settings: backend settings.
        conn: database connection (catalogue).
        spec: location, size, style.
        start: first date (inclusive).
        end: last date (inclusive; a date means the whole day).
        max_cloud: maximum scene cloud cover (percent).
        progress: True for a tqdm bar, or a tqdm-like object to ``update(1)`` per image.
        on_error: called with (image row, error) for an image that cannot be rendered; it is
            skipped. Default: log a warning.
    """
    chips = []
    for row in with_progress(select_images(settings, conn, spec, start, end, max_cloud=max_cloud), progress,
                             desc="chips", unit="image"):
        try:
            path = render.chip_png_file(settings, row, spec)
            cloud = render.cloud_fraction(settings, row, spec)
        except CbmError as exc:
            (on_error or _log_error)(row, exc)
            continue
        file = ChipFile(relative(settings, path), f"{row['item_id']}.{spec.style}.png", "image/png")
        chips.append(Chip(row["id"], row["item_id"], row["datetime"], file, cloud_fraction=cloud))
    return chips


def check_extent(settings: Settings, chipsize_m: float) -> None:
    """Refuse raw chips wider than ``api_max_chip_size`` pixels of the finest (10 m) bands, in metres.

    Raises:
        InvalidInput: not a positive number.
        LimitExceeded: above the limit (the message gives it in metres, the caller's unit).
    """
    if not (math.isfinite(chipsize_m) and chipsize_m > 0):
        raise InvalidInput(f"chipsize is the chip side in metres and must be positive, got {chipsize_m}")
    limit = settings.api_max_chip_size * FINEST_RES_M
    if chipsize_m > limit:
        raise LimitExceeded(f"chipsize {chipsize_m:.10g} m exceeds the limit of {limit:.10g} m "
                            f"(CBM_API_MAX_CHIP_SIZE = {settings.api_max_chip_size} px of "
                            f"{FINEST_RES_M:g} m bands)")


def file_stem(item_id: str) -> str:
    """An item id as a file-name stem without dots (the JRC client splits chip names at dots)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", item_id)


def raw_chips(
    settings: Settings, conn: q.Conn, lon: float, lat: float, start: DateLike, end: DateLike,
    bands: Sequence[str], *, chipsize_m: float = DEFAULT_RAW_CHIP_M, item_ids: Sequence[str] | None = None,
    max_cloud: float | None = None, progress: bool | Any = False, on_error: OnError | None = None,
) -> list[Chip]:
    """Raw GeoTIFF chips of ``bands`` for every image covering the location, by date then band.

    Args:
        settings: backend settings.
        conn: database connection (catalogue).
        lon: longitude (WGS84).
        lat: latitude (WGS84).
        start: first date (inclusive).
        end: last date (inclusive).
        bands: band names of one image kind.
        chipsize_m: chip side on the ground in metres, as the JRC API (1280 m: 128 px of a 10 m
            band, 64 px of a 20 m band); every band covers the window of the first band.
        item_ids: only these catalogue items (the JRC batch's ``tiles``); dates are then ignored.
        max_cloud: maximum scene cloud cover (percent).
        progress: as :func:`png_chips`.
        on_error: as :func:`png_chips`.
    """
    names = _check_bands(bands)
    check_extent(settings, chipsize_m)
    spec = ChipSpec(lon, lat, max(1, math.ceil(chipsize_m / FINEST_RES_M)), style=names[0])
    if item_ids:
        rows = _listed_images(settings, conn, spec, item_ids, len(names))
    else:
        rows = select_images(settings, conn, spec, start, end, max_cloud=max_cloud,
                             chips_per_image=len(names))
    chips = []
    for row in with_progress(rows, progress, desc="chips", unit="image"):
        try:
            row_spec = _metre_spec(settings, row, spec, chipsize_m)
            paths = [(b, render.chip_geotiff_file(settings, row, b, row_spec)) for b in names]
        except LimitExceeded:
            raise  # the request is too large for this image: refuse it, never skip the image silently
        except CbmError as exc:
            (on_error or _log_error)(row, exc)
            continue
        for band, path in paths:
            file = ChipFile(relative(settings, path), f"{file_stem(row['item_id'])}.{band}.tif", "image/tiff")
            chips.append(Chip(row["id"], row["item_id"], row["datetime"], file, band=band))
    return chips


def _metre_spec(settings: Settings, row: Mapping[str, Any], spec: ChipSpec, chipsize_m: float) -> ChipSpec:
    """The spec of an image's chip: ``chipsize_m`` in pixels of its first band."""
    band = spec.bands[0]
    grid = render.grid_of(settings, row, band, render.hrefs_for(row, (band,))[band])
    size = max(1, round(chipsize_m / grid.res))
    check_size(settings, size)
    return ChipSpec(spec.lon, spec.lat, size, style=spec.style)


def _listed_images(settings: Settings, conn: q.Conn, spec: ChipSpec, item_ids: Sequence[str],
                   chips_per_image: int) -> list[dict[str, Any]]:
    ids = list(dict.fromkeys(i.strip() for i in item_ids if i.strip()))
    if len(ids) * chips_per_image > settings.api_max_chips:
        raise LimitExceeded(f"{len(ids)} tiles x {chips_per_image} band(s) exceed the limit "
                            f"CBM_API_MAX_CHIPS = {settings.api_max_chips} chips per request")
    rows = q.images_by_item_ids(conn, spec.lon, spec.lat, ids, kinds=[spec.kind])
    missing = sorted(set(ids) - {r["item_id"] for r in rows})
    if missing:
        raise InvalidInput(f"tiles not catalogued as {spec.kind} images holding the point: "
                           f"{', '.join(m[:80] for m in missing[:5])}")
    return rows


def _check_bands(bands: Sequence[str]) -> list[str]:
    names = list(dict.fromkeys(normalise_band(b) for b in bands if b.strip()))
    if not names:
        raise InvalidInput("give at least one band")
    kinds = {band_kind(b) for b in names}
    if len(kinds) > 1:
        raise InvalidInput(f"bands {', '.join(names)} belong to different image kinds; "
                           "ask for them separately")
    return names


def _log_error(row: Mapping[str, Any], exc: CbmError) -> None:
    log.warning("chip of image %s skipped: %s", row.get("item_id"), exc)
