"""JRC CbM chip endpoints (``/query/chipsByLocation`` ...) and the signed ``/files`` route.

Chip files are rendered into the chip cache and handed out as short-lived signed URLs
(``/files/<token>/<name>``), because the JRC client downloads them without credentials.
Everything but ``/files`` needs a user with a grant on an AOI whose parcel set covers the
location (admins: anywhere); raw GeoTIFF chips need the analyst role.
"""

from __future__ import annotations

import json
import time
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from backend import chips
from backend.accounts import User
from backend.api.deps import AnalystUser, Conn, CurrentUser, ReadableSet, SettingsDep
from backend.api.errors import ERROR_RESPONSES
from backend.api.params import flag
from backend.api.routes.chip_errors import RawChipRoute
from backend.chips.cache import resolve
from backend.chips.gallery import gallery_html
from backend.chips.parcel import ParcelFrame, parcel_png_chips
from backend.chips.service import check_size
from backend.db import queries_chips as q
from backend.errors import Forbidden, InvalidInput, ParcelNotFound
from backend.parcels.sets import ParcelSetKey, set_not_found
from backend.settings import Settings

router = APIRouter(tags=["JRC CbM compatible: chips"], responses=ERROR_RESPONSES)

Lon = Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False, description="Longitude, WGS84.",
                             examples=[5.6641])]
Lat = Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False, description="Latitude, WGS84.",
                             examples=[52.6943])]
Start = Annotated[date, Query(description="First date (YYYY-MM-DD, inclusive).", examples=["2025-06-01"])]
End = Annotated[date, Query(description="Last date (YYYY-MM-DD, inclusive).", examples=["2025-06-30"])]
ChipSize = Annotated[int, Query(ge=1, description="Chip side in pixels of the first band "
                                "(limit: api_max_chip_size).", examples=[256])]
MaxCloud = Annotated[float | None, Query(ge=0, le=100, allow_inf_nan=False,
                                         description="Maximum scene cloud cover (%).")]
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {403: {"description": "Invalid or expired link."},
                                                   404: {"description": "File no longer cached."}}


def require_location(user: User, conn: Conn, lon: float, lat: float) -> None:
    """Refuse (403) users without a grant on an AOI whose parcel set covers the point."""
    if "*" in user.aois or any(user.can_read(aoi) for aoi in q.aois_at(conn, lon, lat)):
        return
    raise Forbidden("no access to this location: ask an administrator for a grant on its AOI")


def located_user(user: CurrentUser, conn: Conn, lon: Lon, lat: Lat) -> User:
    """The current user, allowed at ``lon``/``lat``."""
    require_location(user, conn, lon, lat)
    return user


def located_analyst(user: AnalystUser, conn: Conn, lon: Lon, lat: Lat) -> User:
    """The current user (analyst or admin), allowed at ``lon``/``lat``."""
    require_location(user, conn, lon, lat)
    return user


LocatedUser = Annotated[User, Depends(located_user)]
LocatedAnalyst = Annotated[User, Depends(located_analyst)]


def file_url(settings: Settings, file: chips.ChipFile) -> str:
    """Path (relative to the API root) of a signed, short-lived URL of a cached file."""
    return f"/files/{chips.sign(settings, file.path, settings.chip_url_ttl_s, stable_s=60)}/{file.name}"


def raw_columns(settings: Settings, found: list[chips.Chip], with_bands: bool) -> dict[str, list[str]]:
    """The JRC raw-chip JSON: ``dates`` and ``chips`` (and ``bands``) columns."""
    out = {"dates": [c.compact_date for c in found], "chips": [file_url(settings, c.file) for c in found]}
    return {**out, "bands": [c.band or "" for c in found]} if with_bands else out


@router.get("/query/chipsByLocation", summary="PNG chips at a location for a date range")
def chips_by_location(
    request: Request, user: LocatedUser, conn: Conn, settings: SettingsDep, lon: Lon, lat: Lat,
    start_date: Start, end_date: End, chipsize: ChipSize = 256,
    band: Annotated[str, Query(max_length=40, description="`B08_B04_B03` (three bands, first sets the "
                               "resolution), `truecolor`, `falsecolor`, `ndvi`, or one band (`B04`, `VV`).",
                               examples=["B08_B04_B03"])] = "B08_B04_B03",
    lut: Annotated[str | None, Query(max_length=40, description="Stretch: percentiles `5_95`, or values "
                                     "`minmax:0_3000`; default per style.", examples=["5_95"])] = None,
    max_cloud: MaxCloud = None,
) -> Any:
    """JSON list of ``{date, url, image, cloud_fraction}`` (HTML gallery for ``Accept: text/html``)."""
    check_size(settings, chipsize)
    spec = chips.ChipSpec(lon, lat, chipsize, style=band, lut=lut)
    found = chips.png_chips(settings, conn, spec, start_date, end_date, max_cloud=max_cloud)
    items = [{"date": c.datetime.isoformat(), "url": file_url(settings, c.file), "image": c.item_id,
              "cloud_fraction": c.cloud_fraction} for c in found]
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(gallery_html(items, request.scope.get("root_path", ""), spec))
    return items


raw = APIRouter(route_class=RawChipRoute)
ChipMetres = Annotated[float, Query(gt=0, allow_inf_nan=False, examples=[1280], description=(
    "Chip side on the ground in **metres** (JRC: 1280 = 128 px of a 10 m band, 64 px of a 20 m band); "
    "limit: api_max_chip_size px of 10 m."))]
RawBand = Annotated[str, Query(max_length=16, description="One band: `B04`, `SCL`, `VV`...",
                               examples=["B04"])]
Plevel = Annotated[str, Query(max_length=16, description="Processing level; `LEVEL2A` (S2 L2A) only.")]
OnlyList = Annotated[str | None, Query(max_length=8, description="`True`: only the dates and image ids, "
                                       "no files.", examples=["True"])]
ParcelPid = Annotated[str, Query(min_length=1, max_length=128, pattern=r"^[^\x00]*$",
                                 description="Agency parcel id.", examples=["NL-000123"])]


def check_plevel(plevel: str) -> None:
    """Refuse processing levels other than S2 L2A (the only one catalogued)."""
    if plevel.strip().upper() not in ("LEVEL2A", "L2A"):
        raise InvalidInput(f"plevel {plevel[:16]!r} is not served; use LEVEL2A")


def raw_answer(settings: Settings, conn: Conn, lon: float, lat: float, start: date, end: date, band: str,
               chipsize: float, plevel: str, onlylist: str | None, max_cloud: float | None
               ) -> dict[str, list[str]]:
    """The raw-chip columns of one band at a point (or only the image list)."""
    check_plevel(plevel)
    if flag(onlylist):
        spec = chips.ChipSpec(lon, lat, 1, style=band)
        rows = chips.select_images(settings, conn, spec, start, end, max_cloud=max_cloud)
        return {"dates": [r["datetime"].strftime("%Y%m%dT%H%M%S") for r in rows],
                "chips": [r["item_id"] for r in rows]}
    found = chips.raw_chips(settings, conn, lon, lat, start, end, [band], chipsize_m=chipsize,
                            max_cloud=max_cloud)
    return raw_columns(settings, found, with_bands=False)


@raw.get("/query/rawChipByLocation", summary="Raw GeoTIFF chips of one band at a location")
def raw_chip_by_location(
    user: LocatedAnalyst, conn: Conn, settings: SettingsDep, lon: Lon, lat: Lat, start_date: Start,
    end_date: End, band: RawBand, chipsize: ChipMetres = 1280.0, plevel: Plevel = "LEVEL2A",
    onlylist: OnlyList = None, max_cloud: MaxCloud = None,
) -> dict[str, list[str]]:
    """``{"dates": ["YYYYMMDDTHHMMSS", ...], "chips": ["/files/<token>/<item>.<BAND>.tif", ...]}``.

    Errors keep their status but answer ``{"dates": [], "chips": [], "detail": "..."}``.
    """
    return raw_answer(settings, conn, lon, lat, start_date, end_date, band, chipsize, plevel, onlylist,
                      max_cloud)


@raw.get("/query/rawChipByParcelID", summary="Raw GeoTIFF chips of one band at a parcel's centroid")
def raw_chip_by_parcel_id(
    key: ReadableSet, user: AnalystUser, conn: Conn, settings: SettingsDep, pid: ParcelPid,
    start_date: Start, end_date: End, band: RawBand, chipsize: ChipMetres = 1280.0,
    plevel: Plevel = "LEVEL2A", onlylist: OnlyList = None, max_cloud: MaxCloud = None,
) -> dict[str, list[str]]:
    """As ``rawChipByLocation`` at the centroid of parcel ``pid`` of the set ``aoi``/``year``/``ptype``."""
    parcel = parcel_or_404(conn, key, pid)
    return raw_answer(settings, conn, parcel["clon"], parcel["clat"], start_date, end_date, band, chipsize,
                      plevel, onlylist, max_cloud)


def parcel_or_404(conn: Conn, key: ParcelSetKey, pid: str) -> dict[str, Any]:
    """Centroid and WGS84 geometry of a parcel of a readable set.

    Raises:
        ParcelSetNotFound: no such set.
        ParcelNotFound: no such parcel in the set.
    """
    row = q.parcel_at_pid(conn, key.aoi, key.year, key.ptype, pid)
    if row is None or row["set_id"] is None:
        raise set_not_found(key)
    if row["clon"] is None:
        raise ParcelNotFound(f"no parcel {pid[:64]!r} in aoi={key.aoi} year={key.year}")
    return row


router.include_router(raw)
Style = Annotated[str, Query(max_length=40, description="`truecolor`, `falsecolor`, `ndvi`, three bands "
                             "joined by `_`, or one band (`VH`).", examples=["truecolor"])]
Lut = Annotated[str | None, Query(max_length=40, description="Stretch (as chipsByLocation).")]
Slots = Annotated[int | None, Query(ge=1, description="At most this many chips (default and limit: "
                                    "api_max_chips): over a longer range the clearest view of the parcel "
                                    "in each equal time slot.", examples=[12])]


@router.get("/parcels/chips", summary="PNG chips of a parcel: centred, sized to it, outlined, over a season",
            tags=["parcels"])
def parcel_chips(
    key: ReadableSet, conn: Conn, settings: SettingsDep, pid: ParcelPid, start_date: Start, end_date: End,
    style: Style = "truecolor", chipsize: ChipSize = 128, lut: Lut = None, slots: Slots = None,
    max_cloud: MaxCloud = None,
) -> dict[str, Any]:
    """``{pid, lon, lat, extent_m, chips: [{date, url, image, cloud_fraction, nodata_fraction}]}``.

    ``cloud_fraction`` is the share of the parcel's pixels with data that SCL marks cloudy
    (null without SCL or without data), ``nodata_fraction`` the share of its pixels without data.
    """
    frame = ParcelFrame.of(json.loads(parcel_or_404(conn, key, pid)["geom"]))
    found = parcel_png_chips(settings, conn, frame, start_date, end_date, style=style, size=chipsize, lut=lut,
                             slots=slots, max_cloud=max_cloud)
    items = [{"date": c.datetime.isoformat(), "url": file_url(settings, c.file), "image": c.item_id,
              "cloud_fraction": c.cloud_fraction, "nodata_fraction": c.nodata_fraction} for c in found]
    return {"pid": pid, "lon": frame.lon, "lat": frame.lat, "extent_m": frame.extent_m, "chips": items}


@router.get("/files/{token}/{name}", summary="A signed chip file (no credentials)",
            response_class=FileResponse, responses=FILE_RESPONSES)
def signed_file(settings: SettingsDep, token: str, name: str) -> FileResponse:
    """The file a signed token grants, while the token is valid (403 otherwise)."""
    rel, expiry = chips.verify(settings, token)
    path = resolve(settings, rel)
    media = "image/png" if path.suffix == ".png" else "image/tiff"
    max_age = max(0, int(expiry - time.time()))
    return FileResponse(path, media_type=media, filename=name, content_disposition_type="inline",
                        headers={"Cache-Control": f"private, max-age={max_age}, immutable"})
