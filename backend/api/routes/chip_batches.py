"""JRC raw-chip batches: ``/query/rawChipsBatch`` (S2) and ``/query/rawS1ChipsBatch`` (S1).

As the original: a JSON body (POST; GET with the same fields as query parameters works too)
with ``lon``, ``lat``, ``chipsize`` in metres (default 1280), and either the original's
``tiles`` (S2 image ids) / ``dates`` (``[start, end]``, S1) or ``start_date`` + ``end_date``;
``bands`` (S2, default B04 B08) or ``plevel`` (S1: ``CARD-BS`` backscatter VV VH, the default,
or ``CARD-COH6`` 6-day coherence). Errors answer the client-readable body of
:mod:`backend.api.routes.chip_errors`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from backend import chips
from backend.accounts import User
from backend.api.deps import AnalystUser, Conn, SettingsDep
from backend.api.errors import ERROR_RESPONSES
from backend.api.routes.chip_errors import RawChipRoute
from backend.api.routes.chips import check_plevel, raw_columns, require_location
from backend.chips.spec import band_kind, normalise_band
from backend.errors import InvalidInput
from backend.settings import Settings

router = APIRouter(tags=["JRC CbM compatible: chips"], responses=ERROR_RESPONSES, route_class=RawChipRoute)
S1_LEVELS = {"CARD-BS": ["VV", "VH"], "CARD-COH6": ["COH_VV", "COH_VH"]}


class BatchRequest(BaseModel):
    """Raw chips of several bands at one location (JSON body, or query parameters on GET)."""

    lon: float = Field(ge=-180, le=180, allow_inf_nan=False, examples=[5.6641])
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False, examples=[52.6943])
    start_date: date | None = Field(None, examples=["2025-06-01"])
    end_date: date | None = Field(None, examples=["2025-06-30"])
    dates: list[date] | None = Field(None, min_length=2, max_length=2,
                                     description="`[start, end]` (the JRC S1 batch), for start/end_date.")
    tiles: list[Annotated[str, Field(max_length=200)]] | None = Field(
        None, max_length=1000, description="Image (STAC item) ids, as the JRC S2 batch; instead of dates.")
    bands: list[Annotated[str, Field(max_length=16)]] | None = Field(
        None, max_length=16, description="Band names; default B04 B08 (S2) or those of `plevel` (S1).")
    chipsize: float = Field(1280.0, gt=0, allow_inf_nan=False, description="Chip side in metres (JRC).")
    plevel: str | None = Field(None, max_length=16, description="S2: `LEVEL2A`; S1: `CARD-BS` (default) "
                               "or `CARD-COH6`.")
    max_cloud: float | None = Field(None, ge=0, le=100, allow_inf_nan=False)

    def date_range(self) -> tuple[date | None, date | None]:
        """Start and end from ``start_date``/``end_date`` or ``dates``."""
        if self.dates is not None:
            return self.dates[0], self.dates[1]
        return self.start_date, self.end_date


def batch_request(request: Request, body: Annotated[BatchRequest | None, Body()] = None) -> BatchRequest:
    """The JSON body, or the same fields as query parameters (lists comma or ``_`` separated)."""
    if body is not None:
        return body
    params: dict[str, Any] = dict(request.query_params)
    if "bands" in params:
        params["bands"] = [b for b in params["bands"].replace(",", "_").split("_") if b]
    for name in ("tiles", "dates"):
        if name in params:
            params[name] = [t for t in params[name].split(",") if t]
    try:
        return BatchRequest.model_validate(params)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("query", *e["loc"])} for e in exc.errors()]) from None


Batch = Annotated[BatchRequest, Depends(batch_request)]


def _batch(user: User, conn: Conn, settings: Settings, req: BatchRequest, bands: list[str],
           kinds: set[str]) -> dict[str, list[str]]:
    require_location(user, conn, req.lon, req.lat)
    if {band_kind(normalise_band(b)) for b in bands} - kinds:
        raise InvalidInput(f"this endpoint serves {'/'.join(sorted(kinds))} bands, not {', '.join(bands)}")
    start, end = req.date_range()
    if not req.tiles and (start is None or end is None):
        raise InvalidInput("give start_date and end_date (or dates: [start, end]), or tiles (image ids)")
    found = chips.raw_chips(settings, conn, req.lon, req.lat, start or date.min, end or date.max, bands,
                            chipsize_m=req.chipsize, item_ids=req.tiles, max_cloud=req.max_cloud)
    return raw_columns(settings, found, with_bands=True)


@router.get("/query/rawChipsBatch", summary="Raw S2 chips of several bands (JSON body or query)")
@router.post("/query/rawChipsBatch", summary="Raw S2 chips of several bands")
def raw_chips_batch(user: AnalystUser, conn: Conn, settings: SettingsDep, req: Batch) -> dict[str, list[str]]:
    """``{"dates", "bands", "chips"}`` columns: one row per image and band, by date then band."""
    check_plevel(req.plevel or "LEVEL2A")
    return _batch(user, conn, settings, req, req.bands or ["B04", "B08"], {"s2"})


@router.get("/query/rawS1ChipsBatch", summary="Raw S1 chips of several bands (JSON body or query)")
@router.post("/query/rawS1ChipsBatch", summary="Raw S1 chips of several bands")
def raw_s1_chips_batch(user: AnalystUser, conn: Conn, settings: SettingsDep,
                       req: Batch) -> dict[str, list[str]]:
    """As ``rawChipsBatch`` for S1 backscatter (``VV VH``) or coherence (``COH_VV COH_VH``)."""
    level = (req.plevel or "CARD-BS").strip().upper()
    if level not in S1_LEVELS:
        raise InvalidInput(f"plevel {req.plevel!r} is not served; use {' or '.join(S1_LEVELS)}")
    return _batch(user, conn, settings, req, req.bands or S1_LEVELS[level], {"bs", "c6"})
