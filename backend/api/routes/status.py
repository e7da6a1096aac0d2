"""Service, account, parcel-set, catalogue, extraction-job and batch-run endpoints."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from backend import accounts
from backend.api.blind import SetDecisionsPath
from backend.api.deps import AdminUser, AnalystUser, Conn, CurrentUser, ReadableSetPath, SettingsDep
from backend.api.errors import ERROR_RESPONSES
from backend.batch import records
from backend.catalogue.overview import catalogue_summary as summarise_catalogue
from backend.db import queries_batch as q
from backend.extraction import jobs
from backend.markers import results
from backend.parcels import sets as parcel_sets
from backend.qa import inspectors

router = APIRouter(responses=ERROR_RESPONSES)
Colour = Literal["green", "yellow", "red"]
RunId = Annotated[str, Path(min_length=1, max_length=128, description="Batch run id.")]


@router.get("/health", tags=["service"], summary="Liveness and database check (no login)")
def health(conn: Conn) -> dict[str, str]:
    """``{"status": "ok"}`` when the database answers."""
    q.ping(conn)
    return {"status": "ok"}


@router.get("/me", tags=["service"], summary="The logged-in user, role, AOI grants and QA samples to inspect")
def me(user: CurrentUser, conn: Conn) -> dict[str, Any]:
    """Who you are: username, role, granted AOIs (``*`` = all) and the QA samples you inspect."""
    return {"username": user.username, "role": user.role, "aois": sorted(user.aois),
            "qa_inspections": inspectors.samples_of(conn, user.id, user.can_read)}


@router.get("/sets", tags=["parcel sets"], summary="Parcel sets you may read")
def sets(user: CurrentUser, conn: Conn) -> list[dict[str, Any]]:
    """AOI, year, variant, CRS and parcel count of each readable parcel set."""
    return parcel_sets.list_sets(conn, user)


@router.get("/sets/{aoi}/{year}", tags=["parcel sets"], summary="Summary of a parcel set")
def set_summary(key: ReadableSetPath, conn: Conn) -> dict[str, Any]:
    """Parcels, crop counts, extraction progress, images done per kind, latest decision colours."""
    return parcel_sets.set_summary(conn, key)


@router.get("/sets/{aoi}/{year}/jobs", tags=["parcel sets"], summary="Extraction-job status (analyst)")
def set_jobs(key: ReadableSetPath, user: AnalystUser, conn: Conn) -> dict[str, Any]:
    """Job counts by status, rows written, and the latest failures with their errors."""
    return jobs.set_status(conn, key)


@router.get("/sets/{aoi}/{year}/decisions", tags=["parcel sets"],
            summary="Page through the traffic-light decisions of a set (latest run)")
def set_decisions(key: SetDecisionsPath, conn: Conn, settings: SettingsDep,
                  colour: Annotated[Colour | None, Query(description="green, yellow or red.")] = None,
                  condition: Annotated[str | None, Query(max_length=64, description="Condition id.")] = None,
                  crop: Annotated[str | None, Query(max_length=64, description="Crop code or name.")] = None,
                  offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
                  limit: Annotated[int, Query(ge=1, le=1000, description="Rows (≤ api_max_rows).")] = 20,
                  ) -> dict[str, Any]:
    """Counts per condition and colour, and a page of decisions (red first) with pid, crop and reason."""
    return results.decision_page(conn, key, colour=colour, condition=condition, crop=crop, offset=offset,
                                 limit=min(limit, settings.api_max_rows))


@router.get("/catalogue/summary", tags=["catalogue"], summary="Image catalogue summary (analyst)")
def catalogue_summary(user: AnalystUser, conn: Conn) -> list[dict[str, Any]]:
    """Images per collection and kind with date range and extraction-job counts."""
    return summarise_catalogue(conn)


@router.get("/batch/runs", tags=["batch"], summary="Latest batch runs (analyst)")
def batch_runs(user: AnalystUser, conn: Conn) -> list[dict[str, Any]]:
    """Runs for AOIs you may read (admins: all), newest first."""
    return records.visible_runs(conn, user)


@router.get("/batch/runs/{run_id}", tags=["batch"], summary="One batch run with its chunks (analyst)")
def batch_run(run_id: RunId, user: AnalystUser, conn: Conn) -> dict[str, Any]:
    """Run status, parameters, and per-chunk status, attempts, rows and errors."""
    return records.visible_run(conn, user, run_id)


@router.get("/admin/users", tags=["admin"], summary="User accounts (admin)")
def admin_users(user: AdminUser, conn: Conn) -> list[dict[str, Any]]:
    """Usernames, roles, state and grants (never password hashes)."""
    return accounts.list_users(conn)
