"""Review workflow endpoints: verdicts on decisions, the review queue, decision exports, evidence sheet.

Any user with a grant on the AOI (consumers, analysts; admins everywhere) may read and review;
others get 403 whether the AOI exists or not. A QA inspector does not see the decisions of the
parcels still to inspect (``backend.api.blind``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from backend.api.blind import ParcelDecisions, ParcelDecisionsPath, SetDecisionsPath
from backend.api.deps import Conn, CurrentUser, SettingsDep
from backend.api.errors import ERROR_RESPONSES
from backend.api.params import PidQuery
from backend.reviews import export, service

router = APIRouter(tags=["reviews"], responses=ERROR_RESPONSES)
Colour = Literal["green", "yellow", "red"]
OptionalPid = Annotated[str | None, Query(min_length=1, max_length=128, pattern=r"^[^\x00]*$",
                                          description="Agency parcel id; all parcels when absent.")]


class ReviewBody(BaseModel):
    """A verdict on one parcel's decision for one condition."""

    model_config = ConfigDict(extra="forbid")
    pid: str = Field(min_length=1, max_length=128, pattern=r"^[^\x00]*$", examples=["P000123"])
    condition: str = Field(min_length=1, max_length=64, examples=["grassland_mown"])
    verdict: Literal["confirm", "override", "field_visit"]
    colour: Literal["green", "red"] | None = Field(None, description="The overriding colour (override only).")
    reason: str = Field("", max_length=2000, description="Why the automatic decision is wrong (override).")
    comment: str = Field("", max_length=2000)
    photo_ids: list[Annotated[int, Field(ge=1)]] = Field(
        [], max_length=50, description="Photos of this parcel cited as the reason of the verdict "
        "(ids from GET /sets/{aoi}/{year}/photos).")


def queue_query(settings: SettingsDep,
                condition: Annotated[str | None, Query(max_length=64, description="Condition id.")] = None,
                colour: Annotated[Colour | None,
                                  Query(description="Worst colour, or the condition's.")] = None,
                crop: Annotated[str | None,
                                Query(max_length=64, description="Part of crop name/code.")] = None,
                reviewed: Annotated[bool | None, Query(description="true/false; any when absent.")] = None,
                sort: service.SortName = "colour", order: Literal["asc", "desc"] = "asc",
                offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
                limit: Annotated[int, Query(ge=1, le=1000)] = 50,
                geometry: Annotated[bool, Query(description="Add each parcel's WGS84 GeoJSON.")] = False,
                ) -> service.QueueQuery:
    """Filters, order and page of the review queue from the query string."""
    return service.QueueQuery(condition, colour, crop or None, reviewed, sort, order == "desc", offset,
                              min(limit, settings.api_max_rows), geometry)


Queue = Annotated[service.QueueQuery, Depends(queue_query)]


def _download(content: bytes | str, media_type: str, name: str) -> Response:
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/sets/{aoi}/{year}/reviews", status_code=201, summary="Record a verdict on a decision")
def add_review(key: SetDecisionsPath, body: ReviewBody, user: CurrentUser, conn: Conn) -> dict[str, Any]:
    """Append a verdict (never overwrites the decision); an override needs ``colour`` and ``reason``."""
    fields = {**body.model_dump(), "photo_ids": tuple(body.photo_ids)}
    return service.record(conn, key, user, service.ReviewInput(**fields))


@router.get("/sets/{aoi}/{year}/reviews", summary="Review history of a parcel")
def reviews(key: ParcelDecisionsPath, pid: PidQuery, conn: Conn) -> dict[str, Any]:
    """Verdicts on the parcel's decisions (latest run), newest first, and the latest per condition."""
    return service.history(conn, key, pid)


@router.get("/sets/{aoi}/{year}/queue", summary="Review queue: one row per parcel")
def queue(key: SetDecisionsPath, query: Queue, conn: Conn) -> dict[str, Any]:
    """Parcels with their worst colour and conditions, filtered, sorted (then by pid) and paged."""
    return service.queue(conn, key, query)


@router.get("/sets/{aoi}/{year}/queue/neighbours", summary="Previous and next parcel in the queue")
def neighbours(key: SetDecisionsPath, pid: PidQuery, query: Queue, conn: Conn) -> dict[str, Any]:
    """``previous``/``next`` pid (null at the ends) and ``position`` of ``pid`` with the same filters."""
    return service.neighbours(conn, key, pid, query)


@router.get("/sets/{aoi}/{year}/decisions.csv", summary="Decisions with reviews as CSV",
            response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def decisions_csv(key: ParcelDecisionsPath, conn: Conn, pid: OptionalPid = None) -> Response:
    """One row per decision of the latest run (one parcel with ``pid``) with its latest review."""
    name = export.file_name(key, pid, "decisions", "csv")
    return _download(export.to_csv(conn, key, pid), "text/csv", name)


@router.get("/sets/{aoi}/{year}/decisions.gpkg", summary="Decisions with reviews as GeoPackage",
            response_class=Response, responses={200: {"content": {"application/geopackage+sqlite3": {}}}})
def decisions_gpkg(key: ParcelDecisionsPath, conn: Conn, pid: OptionalPid = None) -> Response:
    """Layer ``decisions``: WGS84 parcel polygon per decision with its latest review."""
    return _download(export.to_geopackage(conn, key, pid), "application/geopackage+sqlite3",
                     export.file_name(key, pid, "decisions", "gpkg"))


@router.get("/parcels/evidence.html", summary="Printable evidence sheet of a parcel",
            response_class=HTMLResponse)
def evidence_sheet(key: ParcelDecisions, pid: PidQuery, conn: Conn, settings: SettingsDep,
                   download: bool = False) -> Response:
    """HTML case file: outline, decisions with their reviews, review history, markers, photos."""
    page = export.evidence_sheet(conn, key, pid, settings)
    if download:
        return _download(page, "text/html", export.file_name(key, pid, "evidence", "html"))
    return HTMLResponse(page)
