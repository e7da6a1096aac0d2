"""Parameter types shared by the routes: AOI, year, ptype and pid parameters and the JRC flags.

The values they build (set keys, date ranges, query polygons) validate themselves where they
are defined: :mod:`backend.parcels.sets`, :mod:`backend.extraction.timeseries`,
:mod:`backend.parcels.query`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

AOI_PATTERN = r"^[a-z][a-z0-9_]{1,31}$"
PTYPE_PATTERN = r"^[a-z0-9_]{0,16}$"
AoiQuery = Annotated[str, Query(pattern=AOI_PATTERN, description="AOI code, e.g. `nl`.", examples=["nl"])]
AoiPath = Annotated[str, Path(pattern=AOI_PATTERN, description="AOI code, e.g. `nl`.", examples=["nl"])]
YearQuery = Annotated[int, Query(ge=1990, le=2100, description="Year of the parcel set.", examples=[2025])]
YearPath = Annotated[int, Path(ge=1990, le=2100, description="Year of the parcel set.", examples=[2025])]
PtypeQuery = Annotated[str, Query(pattern=PTYPE_PATTERN, description="Parcel-set variant (usually empty).")]
PidQuery = Annotated[str, Query(min_length=1, max_length=128, pattern=r"^[^\x00]*$", examples=["NL-000123"],
                                description="Agency parcel id (any text but NUL).")]
Flag = Annotated[str | None, Query(description="`True`/`true` to enable.", examples=["True"],
                                   max_length=8)]


def flag(value: str | None) -> bool:
    """The JRC boolean convention: ``True``/``true``/``1`` are true, anything else false."""
    return value is not None and value.strip().lower() in ("true", "1", "yes")
