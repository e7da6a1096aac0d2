"""Annual quality assessment endpoints: samples, blind inspections, estimates, the stored report.

Any user with a grant on the AOI (admins everywhere) reads the samples; only the inspectors of a
sample (``cbm qa assign``) record its inspections; others get 403 whether the AOI exists or not.
The units of a sample come without the system's decision until they are inspected (blind
inspection), and the other routes hide it from the inspectors meanwhile (``backend.api.blind``).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Path, Query, Response, UploadFile
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from backend.api.deps import Conn, CurrentUser, ReadableSetPath, SettingsDep
from backend.api.errors import ERROR_RESPONSES
from backend.qa import attachments, inspections, measure, report, samples

router = APIRouter(prefix="/sets/{aoi}/{year}/qa", tags=["quality assessment"], responses=ERROR_RESPONSES)
SampleQuery = Annotated[int, Query(ge=1, le=2**31 - 1, description="QA sample id.")]
InspectionId = Annotated[int, Path(ge=1, le=2**62, description="Inspection id (POST .../inspections "
                                                              "answers it; the units list carries it).")]
AttachmentFile = Annotated[UploadFile, File(description="The evidence: a JPEG, PNG, TIFF or PDF file.")]
OptionalPid = Annotated[str | None, Query(min_length=1, max_length=128, pattern=r"^[^\x00]*$",
                                          description="One parcel's units; all when absent.")]


class InspectionBody(BaseModel):
    """The true situation of a sampled parcel for one condition, as established by an inspector."""

    model_config = ConfigDict(extra="forbid")
    sample_id: int = Field(ge=1, le=2**31 - 1)
    pid: str = Field(min_length=1, max_length=128, pattern=r"^[^\x00]*$", examples=["P000123"])
    condition: str = Field(min_length=1, max_length=64, examples=["grassland_mown"])
    truth: Literal["compliant", "not_compliant", "cannot_tell"]
    method: Literal["field_visit", "vhr_image", "photo"]
    inspector: str | None = Field(None, min_length=2, max_length=64,
                                  description="Who inspected; the logged-in user when absent.")
    inspected_on: date
    comment: str = Field("", max_length=2000)


@router.get("/samples", summary="QA samples of a parcel set")
def list_samples(key: ReadableSetPath, conn: Conn) -> dict[str, Any]:
    """Every sample drawn for the set (oldest first) with its design summary and inspection progress."""
    return {"aoi": key.aoi, "year": key.year, "samples": samples.list_samples(conn, key)}


@router.get("/units", summary="Sampled parcels to inspect (blind)")
def units(key: ReadableSetPath, sample: SampleQuery, conn: Conn, pid: OptionalPid = None) -> dict[str, Any]:
    """Sampled units; ``colour``, ``stratum`` and ``incl_prob`` only once a unit is inspected."""
    return inspections.list_units(conn, key, sample, pid)


@router.post("/inspections", status_code=201, summary="Record an inspection of a sampled parcel")
def inspect(key: ReadableSetPath, body: InspectionBody, user: CurrentUser, conn: Conn) -> dict[str, Any]:
    """Append an inspection (the sample's inspectors only); the answer reveals the system's decision."""
    fields = body.model_dump(exclude={"sample_id"})
    item = inspections.InspectionInput(**{**fields, "inspector": body.inspector or user.username})
    return inspections.record(conn, key, body.sample_id, item, user.username, user_id=user.id)


@router.post("/inspections/{inspection_id}/attachments", status_code=201,
             summary="Attach evidence (VHR clip, field sheet, photo) to an inspection",
             responses={409: {"description": "The inspection already has this file."},
                        413: {"description": "More bytes than CBM_PHOTO_MAX_BYTES."}})
def attach(key: ReadableSetPath, inspection_id: InspectionId, file: AttachmentFile, user: CurrentUser,
           conn: Conn, settings: SettingsDep) -> dict[str, Any]:
    """Store a file with the inspection (who recorded it only); the type is read from its bytes."""
    data = file.file.read(settings.photo_max_bytes + 1)
    return attachments.attach(conn, settings, key, inspection_id, file.filename, data, user=user.username,
                              user_id=user.id)


@router.get("/inspections/{inspection_id}/attachments", summary="The evidence attached to an inspection")
def list_attachments(key: ReadableSetPath, inspection_id: InspectionId, conn: Conn) -> dict[str, Any]:
    """Name, type, size, SHA-256, who and when of each attachment, oldest first, with its URL."""
    return {"inspection_id": inspection_id, "attachments": attachments.attachments(conn, key, inspection_id)}


@router.get("/inspections/{inspection_id}/attachments/{attachment_id}", summary="One attached file",
            response_class=Response, responses={200: {"content": {m: {} for m in attachments.MEDIA_TYPES}}})
def attachment_file(key: ReadableSetPath, inspection_id: InspectionId,
                    attachment_id: Annotated[int, Path(ge=1, le=2**62)], conn: Conn,
                    settings: SettingsDep) -> Response:
    """The file as uploaded, named ``<aoi>_<year>_<pid>_<its name>``."""
    data, row = attachments.attachment_file(conn, settings, key, inspection_id, attachment_id)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{key.aoi}_{key.year}_{row['pid']}_{row['filename']}")
    return Response(data, media_type=row["media_type"], headers={
        "Content-Disposition": f'attachment; filename="{name}"', "X-Content-SHA256": row["sha256"]})


@router.get("/estimates", summary="Quality estimates of a sample")
def estimates(key: ReadableSetPath, sample: SampleQuery, conn: Conn,
              confidence: Annotated[float | None, Query(ge=0.5, lt=1)] = None) -> dict[str, Any]:
    """Per condition: agreement, wrong green/red rates, yellow share with intervals; confusion table."""
    return measure.measure(conn, key, sample, confidence)


@router.get("/report.html", summary="The newest stored QA report (HTML)", response_class=HTMLResponse)
def report_html(key: ReadableSetPath, sample: SampleQuery, conn: Conn) -> Response:
    """The report as stored by ``cbm qa report`` (an audit record: never re-rendered here)."""
    row = report.stored(conn, key, sample)
    return HTMLResponse(row["html"], headers={"X-Report-SHA256": row["sha256"]})


@router.get("/report.pdf", summary="The newest stored QA report (PDF)", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
def report_pdf(key: ReadableSetPath, sample: SampleQuery, conn: Conn) -> Response:
    """The stored report printed to PDF."""
    row = report.stored(conn, key, sample)
    name = f"{key.aoi}_{key.year}_qa_sample{sample}_report{row['id']}.pdf"
    return Response(report.to_pdf(row["html"]), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
