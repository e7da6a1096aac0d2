"""The FastAPI application factory: ``create_app(settings)``.

The lifespan opens one psycopg connection pool per process (autocommit, ``statement_timeout`` =
``api_request_timeout_s``), creates the admin account from settings when no admin exists, and
builds the in-memory authentication state (see ``backend.api.security``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from fastapi import FastAPI
from psycopg.rows import DictRow, dict_row
from psycopg_pool import ConnectionPool

from backend.api import errors
from backend.api.middleware import RequestContextMiddleware, install_log_record_factory
from backend.api.routes import ROUTERS
from backend.api.security import AuthState
from backend.api.services.users import ensure_admin
from backend.db import database_url
from backend.settings import Settings

log = logging.getLogger(__name__)

DESCRIPTION = """
Checks by Monitoring REST API.

* `/query/...`: the JRC CbM API (same names, parameters and column-oriented JSON), so existing
  JRC clients work unchanged.
* `/parcels/...`, `/sets/...`, `/tiles/...`, `/catalogue/...`, `/batch/...`: markers, decisions,
  downloads, summaries, run status and vector tiles.

Every endpoint except `/health` needs HTTP Basic credentials; parcel data needs a grant on its
AOI (403 otherwise). Limits (polygon area and vertices, date span, rows, chips, request rate)
answer 422/429 with the name of the limit setting and the allowed value.
"""


def _pool(settings: Settings) -> ConnectionPool[psycopg.Connection[DictRow]]:
    timeout_ms = int(settings.api_request_timeout_s * 1000)
    return ConnectionPool(
        database_url(settings), connection_class=psycopg.Connection[DictRow],
        min_size=settings.api_pool_min, max_size=settings.api_pool_max,
        timeout=settings.api_request_timeout_s, open=False, name="cbm-api",
        kwargs={"row_factory": dict_row, "autocommit": True, "connect_timeout": 10,
                "options": f"-c statement_timeout={timeout_ms} -c idle_in_transaction_session_timeout=60000"})


def create_app(settings: Settings) -> FastAPI:
    """Build the API for these settings (the pool opens when the app starts)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = _pool(settings)
        pool.open(wait=True, timeout=30)
        with pool.connection() as conn:
            ensure_admin(conn, settings)
        app.state.pool = pool
        try:
            yield
        finally:
            pool.close()

    install_log_record_factory()
    app = FastAPI(title="CbM API", version="1.0", description=DESCRIPTION, lifespan=lifespan,
                  swagger_ui_parameters={"persistAuthorization": True})
    app.state.settings = settings
    app.state.auth = AuthState.from_settings(settings)
    errors.register(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(RequestContextMiddleware, timeout_s=settings.api_request_timeout_s)
    return app


def app_from_env() -> Any:
    """ASGI factory for ``uvicorn --factory backend.api.app:app_from_env`` (settings from CBM_*)."""
    from backend.settings import get_settings

    return create_app(get_settings())


def iter_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app serves, HEAD excluded, including routes of included routers."""
    found: list[tuple[str, str]] = []
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        for r in contexts() if contexts else [route]:
            path = str(getattr(r, "path", ""))
            found += [(m, path) for m in sorted(getattr(r, "methods", None) or ()) if m != "HEAD"]
    return found
