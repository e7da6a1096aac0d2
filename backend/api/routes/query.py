"""JRC CbM compatible ``/query/...`` parcel and time-series endpoints (``../shared/jrc-api.md``).

Responses are column-oriented JSON; "nothing found" is 200 with empty columns. Chip endpoints
live in ``routes/chips.py``. The hot routes (parcel by location or id, time series) are
``async def`` on the async pool (``APool``): no threadpool hop, one SQL round trip.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from backend.api.deps import APool, Conn, CurrentUser, ReadableSet, SettingsDep
from backend.api.errors import ERROR_RESPONSES
from backend.api.fastroute import LeanRoute
from backend.api.params import Flag, PidQuery, flag
from backend.api.responses import ColumnsResponse
from backend.extraction import timeseries
from backend.extraction.timeseries import DateRange, stored_band
from backend.parcels import query
from backend.parcels.query import GeomOptions

router = APIRouter(prefix="/query", tags=["JRC CbM compatible"], responses=ERROR_RESPONSES,
                   route_class=LeanRoute)

Lon = Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False, description="Longitude, WGS84.",
                             examples=[5.6641])]
Lat = Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False, description="Latitude, WGS84.",
                             examples=[52.6943])]
WithGeometry = Annotated[str | None, Query(alias="withGeometry", max_length=8, examples=["True"],
                                           description="`True`: add `geom` (GeoJSON text).")]
Wgs84 = Annotated[str | None, Query(max_length=8, examples=["True"],
                                    description="`True`: `geom` in WGS84, else in the set's CRS.")]
TsType = Annotated[Literal["s2", "bs", "c6"], Query(description="`s2`, `bs` (S1 backscatter) or "
                                                    "`c6` (S1 6-day coherence).")]
Band = Annotated[str | None, Query(max_length=16, description="One band, e.g. `B04` (`B4`), `VVb`, `VHc`.",
                                   examples=["B08"])]
DateQuery = Annotated[date | None, Query(description="YYYY-MM-DD, inclusive.", examples=["2025-06-01"])]
Orbit = Annotated[Literal["ascending", "descending"] | None, Query(
    description="Only images of this orbit direction (S1 ascending/descending passes).")]
CollectionFilter = Annotated[str | None, Query(max_length=100, description="Only images of this STAC "
                                               "collection, e.g. `sentinel-2-c1-l2a`.")]
ProviderFilter = Annotated[str | None, Query(max_length=100, description="Only images of this provider, "
                                             "e.g. `cdse`, `earth-search`, `planetary-computer`.")]
Provenance = Annotated[str | None, Query(max_length=8, description="`True`: add the columns `image_id "
                                         "provider collection platform orbit relative_orbit mask "
                                         "start_date_part end_date_part` after the JRC ones.")]
PARCEL_EXAMPLE = {"pid": ["NL-000123"], "cropname": ["Grassland"], "cropcode": ["265"], "srid": [28992],
                  "area": [53217], "clon": [5.6641], "clat": [52.6943]}


@router.get("/info", summary="Service description: readable AOIs/years, time-series types, bands")
def info(user: CurrentUser, conn: Conn, settings: SettingsDep) -> dict[str, Any]:
    """What this user can query: AOIs (years, variants, example pids), tstypes, bands, ``tms`` sources."""
    from backend.chips.sources import configured

    return query.info(conn, user.aois, [s.describe() for s in configured(settings).values()])


@router.get("/parcelByLocation", summary="Parcel containing a WGS84 point",
            responses={200: {"content": {"application/json": {"example": PARCEL_EXAMPLE}}}})
async def parcel_by_location(key: ReadableSet, lon: Lon, lat: Lat, pool: APool,
                             with_geometry: WithGeometry = None, wgs84: Wgs84 = None) -> ColumnsResponse:
    """Parcel columns (``pid cropname cropcode srid area clon clat [geom]``); empty lists when none."""
    opts = GeomOptions(flag(with_geometry), flag(wgs84))
    return ColumnsResponse(await query.by_location(pool, key, lon, lat, opts))


@router.get("/parcelByID", summary="Parcel by agency id",
            responses={200: {"content": {"application/json": {"example": PARCEL_EXAMPLE}}}})
async def parcel_by_id(key: ReadableSet, pid: PidQuery, pool: APool, with_geometry: WithGeometry = None,
                       wgs84: Wgs84 = None) -> ColumnsResponse:
    """Parcel columns of the parcel with this ``pid``; empty lists when none."""
    opts = GeomOptions(flag(with_geometry), flag(wgs84))
    return ColumnsResponse(await query.by_pid(pool, key, pid, opts))


@router.get("/parcelsByPolygon", summary="Parcels intersecting a WGS84 polygon")
def parcels_by_polygon(
    key: ReadableSet, conn: Conn, settings: SettingsDep,
    polygon: Annotated[str, Query(min_length=7, max_length=50_000, examples=[
        "POLYGON((5.66 52.69, 5.67 52.69, 5.67 52.70, 5.66 52.69))"],
        description="WKT polygon, or `lon lat, lon lat, ...` (WGS84); limits: api_max_polygon_km2, "
                    "api_max_polygon_vertices, api_max_rows.")],
    only_ids: Flag = None, with_geometry: WithGeometry = None, wgs84: Wgs84 = None,
) -> ColumnsResponse:
    """``{"pid": [...]}`` with ``only_ids=True``, else parcel columns of every intersecting parcel."""
    opts = GeomOptions(flag(with_geometry), flag(wgs84))
    return ColumnsResponse(query.by_polygon(conn, settings, key, polygon, opts, flag(only_ids)))


@router.get("/parcelPeers", summary="Same-crop parcels near a parcel, nearest first",
            responses={200: {"content": {"application/json": {"example": {
                "pids": ["NL-000124"], "distance": [0.0]}}}}})
def parcel_peers(
    key: ReadableSet, pid: PidQuery, conn: Conn, settings: SettingsDep,
    distance: Annotated[float, Query(gt=0, le=50_000, allow_inf_nan=False,
                                     description="Search radius in metres.")] = 2000.0,
    max_peers: Annotated[int, Query(alias="max", ge=1, description="Maximum peers (≤ api_max_rows).")] = 10,
) -> ColumnsResponse:
    """``{"pids": [...], "distance": [...]}``; distance 0.0 for touching parcels."""
    return ColumnsResponse(query.peers(conn, settings, key, pid, distance, max_peers))


@router.get("/parcelTimeSeries", summary="Time series of a parcel's signatures",
            responses={200: {"content": {"application/json": {"example": {
                "date_part": [1748772631.0], "band": ["B04"], "count": [196], "mean": [512.3],
                "std": [40.1], "min": [420.0], "p25": [480.0], "p50": [510.0], "p75": [540.0],
                "max": [640.0], "hist": [{"4": 49}]}}}}})
async def parcel_time_series(key: ReadableSet, pid: PidQuery, pool: APool, settings: SettingsDep,
                             tstype: TsType = "s2", band: Band = None, start_date: DateQuery = None,
                             end_date: DateQuery = None, orbit: Orbit = None,
                             collection: CollectionFilter = None, provider: ProviderFilter = None,
                             provenance: Provenance = None) -> ColumnsResponse:
    """Columns ``date_part band count mean std min p25 p50 p75 max`` (+ ``hist`` for s2).

    Rows are ordered by date, then band; ``provenance=True`` adds which image each row is from.
    """
    dates = DateRange.build(start_date, end_date, year=key.year, max_days=settings.api_max_date_span_days)
    stored = stored_band(tstype, band) if band else None
    filters = {"orbit": orbit, "collection": collection, "provider": provider}
    return ColumnsResponse(await timeseries.series_async(pool, key, pid, tstype, stored, dates,
                                                         filters=filters, provenance=flag(provenance)))


@router.get("/weatherTimeSeries", summary="Daily weather of a parcel (none imported: `{}`)")
async def weather_time_series(key: ReadableSet, pid: PidQuery, pool: APool) -> ColumnsResponse:
    """``date_part date`` + one column per variable (mm/day, °C, ...), one row per day."""
    return ColumnsResponse(await query.weather(pool, key, pid))
