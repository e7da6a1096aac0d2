"""Per-parcel endpoints beyond the JRC API: markers, decisions with evidence, time-series downloads."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from backend.api.blind import ParcelDecisions
from backend.api.deps import Conn, ReadableSet, SettingsDep
from backend.api.errors import ERROR_RESPONSES
from backend.api.params import PidQuery
from backend.api.routes.query import Band, DateQuery, TsType
from backend.extraction import timeseries
from backend.extraction.timeseries import DateRange, stored_band
from backend.markers import results

router = APIRouter(prefix="/parcels", tags=["parcels"], responses=ERROR_RESPONSES)


def _download(content: bytes | str, media_type: str, name: str) -> Response:
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/markers", summary="Marker results of a parcel with their evidence")
def markers(key: ParcelDecisions, pid: PidQuery, conn: Conn) -> dict[str, Any]:
    """Markers of the latest marker run for this parcel (``markers: []`` when none); 404 if no parcel."""
    return results.markers(conn, key, pid)


@router.get("/decisions", summary="Traffic-light decisions of a parcel with their evidence")
def decisions(key: ParcelDecisions, pid: PidQuery, conn: Conn) -> dict[str, Any]:
    """Decisions of the latest run per condition and the worst ``colour``; empty when none."""
    return results.decisions(conn, key, pid)


@router.get("/timeseries.csv", summary="Time series as CSV", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def timeseries_csv(key: ReadableSet, pid: PidQuery, conn: Conn, settings: SettingsDep, tstype: TsType = "s2",
                   band: Band = None, start_date: DateQuery = None, end_date: DateQuery = None) -> Response:
    """The ``parcelTimeSeries`` rows as CSV with an ISO ``date`` column."""
    dates = DateRange.build(start_date, end_date, year=key.year, max_days=settings.api_max_date_span_days)
    data = timeseries.series(conn, key, pid, tstype, stored_band(tstype, band) if band else None, dates)
    return _download(timeseries.to_csv(data), "text/csv", f"{key.aoi}_{key.year}_{tstype}.csv")


@router.get("/timeseries.gpkg", summary="Parcel and time series as GeoPackage", response_class=Response,
            responses={200: {"content": {"application/geopackage+sqlite3": {}}}})
def timeseries_gpkg(key: ReadableSet, pid: PidQuery, conn: Conn, settings: SettingsDep,
                          tstype: TsType = "s2", band: Band = None, start_date: DateQuery = None,
                          end_date: DateQuery = None) -> Response:
    """Layer ``parcel`` (WGS84 geometry, crop, area) and table ``timeseries``; 404 if no parcel."""
    dates = DateRange.build(start_date, end_date, year=key.year, max_days=settings.api_max_date_span_days)
    stored = stored_band(tstype, band) if band else None
    gpkg = timeseries.to_geopackage(conn, key, pid, tstype, stored, dates)
    return _download(gpkg, "application/geopackage+sqlite3", f"{key.aoi}_{key.year}_{tstype}.gpkg")
