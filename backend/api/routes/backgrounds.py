"""JRC CbM background endpoints: ``/query/backgroundByLocation`` and ``/query/backgroundByParcelID``.

The answer is plain text, the absolute signed URL of the image, whose last segment is
``<tms>.tif`` (or ``.png``): the JRC client saves it under that name and its display code opens
``<tms lowercased>.tif``. ``{}`` when the source has no image at the point; an unconfigured
``tms`` is 422 with the list of configured sources.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse

from backend import chips
from backend.api.deps import Conn, CurrentUser, ReadableSet, SettingsDep
from backend.api.errors import ERROR_RESPONSES
from backend.api.params import flag
from backend.api.routes.chips import Lat, LocatedUser, Lon, ParcelPid, file_url, parcel_or_404
from backend.settings import Settings

router = APIRouter(tags=["JRC CbM compatible: chips"], responses=ERROR_RESPONSES)

BgSize = Annotated[int, Query(ge=1, description="Image side in **pixels** (limit: "
                              "api_max_chip_size).", examples=[256])]
Extend = Annotated[float, Query(gt=0, allow_inf_nan=False, examples=[256],
                                description="Image side on the ground in **metres** (limit: "
                                            "chip_background_max_extent_m).")]
Tms = Annotated[str, Query(min_length=1, max_length=40, examples=["demo_ortho"],
                           description="Background source name (case-insensitive); see `/query/info`.")]
Iformat = Annotated[str, Query(max_length=8, description="`tif` (GeoTIFF) or `png`.")]
WithGeometry = Annotated[str | None, Query(alias="withGeometry", max_length=8, examples=["True"],
                                           description="`True`: draw the parcel outline in yellow.")]


def url_answer(request: Request, settings: Settings, file: chips.ChipFile | None) -> PlainTextResponse:
    """The absolute signed URL of a file as plain text, or ``{}``."""
    if file is None:
        return PlainTextResponse("{}")
    return PlainTextResponse(str(request.base_url).rstrip("/") + file_url(settings, file))


@router.get("/query/backgroundByLocation", summary="Background image around a location",
            response_class=PlainTextResponse)
def background_by_location(
    request: Request, user: LocatedUser, conn: Conn, settings: SettingsDep, lon: Lon, lat: Lat,
    chipsize: BgSize = 256, extend: Extend = 256.0, tms: Tms = "Google", iformat: Iformat = "tif",
) -> PlainTextResponse:
    """Plain text: the absolute (signed, short-lived) URL of ``<tms>.<iformat>``, or ``{}``."""
    file = chips.background(settings, lon, lat, chipsize, extend, tms, iformat, conn=conn)
    return url_answer(request, settings, file)


@router.get("/query/backgroundByParcelID", summary="Background image around a parcel",
            response_class=PlainTextResponse)
def background_by_parcel_id(
    request: Request, key: ReadableSet, user: CurrentUser, conn: Conn, settings: SettingsDep,
    pid: ParcelPid, chipsize: BgSize = 256, extend: Extend = 256.0, tms: Tms = "Google",
    iformat: Iformat = "tif", with_geometry: WithGeometry = None,
) -> PlainTextResponse:
    """As ``backgroundByLocation`` at the parcel's centroid; ``withGeometry=True`` outlines the parcel."""
    parcel = parcel_or_404(conn, key, pid)
    outline = json.loads(parcel["geom"]) if flag(with_geometry) else None
    file = chips.background(settings, parcel["clon"], parcel["clat"], chipsize, extend, tms, iformat,
                            conn=conn, outline=outline)
    return url_answer(request, settings, file)
