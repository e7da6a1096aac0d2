"""The search window of an import (bounding box, date range, maximum cloud cover) and date parsing.

:func:`check_date_span` is the one check of a request's date range (chips and time series).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import shapely
from shapely.geometry import box, shape

from backend.catalogue.items import StacItem
from backend.errors import InvalidInput, LimitExceeded

DateLike = dt.date | dt.datetime | str


def to_datetime(value: DateLike | None, *, end: bool = False) -> dt.datetime | None:
    """Parse a date or datetime (ISO string accepted) to an aware UTC datetime.

    A plain date is the start of that day, or the end of it when ``end`` is true.

    Raises:
        InvalidInput: the string is not an ISO date or datetime.
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = (dt.date.fromisoformat(value) if len(value) == 10
                     else dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            raise InvalidInput(f"not an ISO date or datetime: {value!r}") from None
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time.max if end else dt.time.min)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def check_date_span(first: dt.datetime, last: dt.datetime, max_days: int | None) -> None:
    """Refuse an inclusive date range that ends before it starts or spans more than ``max_days`` days.

    Raises:
        InvalidInput: ``last`` is before ``first``.
        LimitExceeded: the range is longer than ``max_days`` (the setting ``api_max_date_span_days``).
    """
    if last < first:
        raise InvalidInput(f"end_date {_shown(last)} is before start_date {_shown(first)}: give an end_date "
                           "on or after the start_date")
    days = (last - first).total_seconds() / 86400
    if max_days is not None and days > max_days:
        raise LimitExceeded(f"date range of {days:.0f} days exceeds the limit "
                            f"CBM_API_MAX_DATE_SPAN_DAYS={max_days} days: ask for a shorter range")


def _shown(value: dt.datetime) -> str:
    """A day bound as its date, another time as ISO datetime."""
    return value.date().isoformat() if value.time() in (dt.time.min, dt.time.max) else value.isoformat()


@dataclass(frozen=True)
class ItemFilter:
    """Which items to import. Every bound is optional; validated on construction.

    Attributes:
        bbox: (west, south, east, north) in degrees.
        start: first acquisition time (inclusive).
        end: last acquisition time (inclusive).
        max_cloud: maximum ``eo:cloud_cover`` (0..100); items without one pass.
    """

    bbox: tuple[float, float, float, float] | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    max_cloud: float | None = None

    def __post_init__(self) -> None:
        if self.bbox is not None:
            if len(self.bbox) != 4:
                raise InvalidInput("bbox needs 4 numbers: west south east north")
            w, s, e, n = self.bbox
            if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
                raise InvalidInput(f"bbox {self.bbox} is not west<east, south<north in degrees")
        if self.start and self.end and self.start > self.end:
            raise InvalidInput(f"start {self.start:%Y-%m-%d} is after end {self.end:%Y-%m-%d}")
        if self.max_cloud is not None and not 0 <= self.max_cloud <= 100:
            raise InvalidInput(f"max_cloud must be within 0..100, not {self.max_cloud}")

    @classmethod
    def build(
        cls,
        bbox: Sequence[float] | None = None,
        start: DateLike | None = None,
        end: DateLike | None = None,
        max_cloud: float | None = None,
    ) -> ItemFilter:
        """Build a filter from loose user input (ISO strings, dates, lists)."""
        return cls(
            bbox=tuple(float(v) for v in bbox) if bbox is not None else None,  # type: ignore[arg-type]
            start=to_datetime(start),
            end=to_datetime(end, end=True),
            max_cloud=float(max_cloud) if max_cloud is not None else None,
        )

    @property
    def datetime_range(self) -> str | None:
        """The STAC API ``datetime`` parameter, or None when unbounded."""
        if self.start is None and self.end is None:
            return None
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        start = self.start.strftime(fmt) if self.start else ".."
        end = self.end.strftime(fmt) if self.end else ".."
        return f"{start}/{end}"

    def accepts(self, item: StacItem) -> bool:
        """True if the item is inside the window (items are checked again after a search).

        A composite (start/end interval) is inside when its interval meets the date range.
        """
        first, last = _interval(item)
        if (self.start and last is not None and last < self.start) \
                or (self.end and first is not None and first > self.end):
            return False
        cloud = item.properties.get("eo:cloud_cover")
        if self.max_cloud is not None and isinstance(cloud, int | float) \
                and cloud > self.max_cloud:
            return False
        if self.bbox is not None and item.geometry is not None:
            try:
                return bool(shapely.intersects(shape(item.geometry), box(*self.bbox)))
            except (ValueError, TypeError, AttributeError, shapely.errors.ShapelyError):
                return True  # let validation report the bad geometry
        return True


def _interval(item: StacItem) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(first, last) time of an item: its datetime, or the start/end of a composite."""
    if item.datetime is not None:
        when = to_datetime(item.datetime)
        return when, when
    try:
        return (to_datetime(item.properties.get("start_datetime")),
                to_datetime(item.properties.get("end_datetime")))
    except InvalidInput:
        return None, None  # validation reports it
