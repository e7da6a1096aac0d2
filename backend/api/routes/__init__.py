"""The API's routers; :data:`ROUTERS` is the one list the app includes."""

from __future__ import annotations

from fastapi import APIRouter

from backend.api.routes import chips, parcels, query, status, tiles

ROUTERS: list[APIRouter] = [query.router, chips.router, parcels.router, status.router, tiles.router]
