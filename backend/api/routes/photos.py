"""Geotagged photos: upload (``POST /photos``), a parcel's photos with their checks, signed files.

Uploading and listing need a user with a grant on the AOI (admins everywhere); the files are
fetched through short-lived signed URLs (``/photos/files/<token>/<name>``) handed out by the
listing and the upload answer, so a browser can show them without credentials.
"""

from __future__ import annotations

import re
import time
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Response, UploadFile

from backend.api.deps import Conn, CurrentUser, ReadableSetPath, SettingsDep
from backend.api.errors import ERROR_RESPONSES
from backend.api.params import AOI_PATTERN, PTYPE_PATTERN
from backend.photos import Target, add_photo, list_photos, signed_file

router = APIRouter(tags=["photos"], responses=ERROR_RESPONSES)

PhotoFile = Annotated[UploadFile, File(description="The photo (JPEG or HEIC, EXIF as the phone wrote it).")]
AoiForm = Annotated[str | None, Form(pattern=AOI_PATTERN, description="AOI; found from the GPS position "
                                                                       "when absent.")]
YearForm = Annotated[int | None, Form(ge=1990, le=2100, description="Year of the parcel set.")]
PidForm = Annotated[str | None, Form(min_length=1, max_length=128, pattern=r"^[^\x00]*$",
                                     description="Declared parcel; the parcel holding the position when "
                                     "absent.")]
ConditionForm = Annotated[str | None, Form(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$",
                                           description="Condition whose time window the photo is checked "
                                           "against.")]
PtypeForm = Annotated[str, Form(pattern=PTYPE_PATTERN, description="Parcel-set variant (usually empty).")]
FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/jpeg": {}, "image/heic": {}}}, 403: {"description": "Invalid or expired link."},
    404: {"description": "The file is gone from the store."}}


@router.post("/photos", status_code=201, summary="Upload a geotagged photo of a parcel",
             responses={409: {"description": "The same photo is already stored in the set."},
                        413: {"description": "More bytes or pixels than the limits."}})
def upload_photo(file: PhotoFile, user: CurrentUser, conn: Conn, settings: SettingsDep, aoi: AoiForm = None,
                 year: YearForm = None, pid: PidForm = None, condition: ConditionForm = None,
                 ptype: PtypeForm = "") -> dict[str, Any]:
    """Read the EXIF position, time, bearing and accuracy, run the checks, store and link the photo."""
    data = file.file.read(settings.photo_max_bytes + 1)
    return add_photo(conn, settings, data, Target(aoi, year, pid, condition, ptype), uploader=user.username,
                     can_read=user.can_read)


OptionalPid = Annotated[str | None, Query(min_length=1, max_length=128, pattern=r"^[^\x00]*$",
                                          description="Agency parcel id; all the set's photos when absent.")]


@router.get("/sets/{aoi}/{year}/photos", summary="A parcel's (or the set's) photos with their checks")
def parcel_photos(key: ReadableSetPath, conn: Conn, settings: SettingsDep, pid: OptionalPid = None,
                  offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
                  limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> dict[str, Any]:
    """Photos in the order taken with position, bearing, checks and signed URLs (original, thumbnail).

    Without ``pid``: every photo of the set (e.g. points with direction wedges on a map), paged.
    """
    return list_photos(conn, settings, key, pid, offset=offset, limit=min(limit, settings.api_max_rows))


@router.get("/photos/files/{token}/{name}", summary="A signed photo file (no credentials)",
            response_class=Response, responses=FILE_RESPONSES)
def photo_file(settings: SettingsDep, token: str, name: str) -> Response:
    """The original or the EXIF-free thumbnail a signed token grants, while it is valid (403 otherwise)."""
    data, media_type, expiry = signed_file(settings, token)
    max_age = max(0, int(expiry - time.time()))
    return Response(data, media_type=media_type, headers={
        "Cache-Control": f"private, max-age={max_age}, immutable",
        "Content-Disposition": f'inline; filename="{re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:120]}"'})
