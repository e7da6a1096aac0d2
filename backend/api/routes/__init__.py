"""The API's routers.

:data:`HOT_ROUTER` (the JRC ``/query`` parcel and time-series routes) gives the app its own
routes, matched first and directly; :data:`ROUTERS` are included. (FastAPI matches the routes
of an included router twice per request, ~25 us: measurable on the hot routes only.)
"""

from __future__ import annotations

from fastapi import APIRouter

from backend.api.routes import (
    backgrounds,
    chip_batches,
    chips,
    parcels,
    photos,
    qa,
    query,
    reviews,
    status,
    tiles,
)

HOT_ROUTER: APIRouter = query.router
ROUTERS: list[APIRouter] = [chips.router, chip_batches.router, backgrounds.router, parcels.router,
                            status.router, tiles.router, reviews.router, photos.router,
                            qa.router]
