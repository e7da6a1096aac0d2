"""The FastAPI application factory: ``create_app(settings)``.

The lifespan opens two psycopg connection pools per process with the same options (autocommit,
``statement_timeout`` = ``api_request_timeout_s``): an async one for the hot ``async def`` routes
and a sync one for the routes that run in the threadpool. It creates the admin account from
settings when no admin exists; the app builds the in-memory authentication state (see
``backend.api.security``). ``/docs`` and ``/redoc`` are served with local assets (``docs.py``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from fastapi import FastAPI
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from backend.accounts import ensure_admin
from backend.api import docs, errors
from backend.api.body_limit import BodyLimitMiddleware, parts_in_memory
from backend.api.middleware import RequestContextMiddleware, install_log_record_factory
from backend.api.routes import HOT_ROUTER, ROUTERS
from backend.api.security import AuthState
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


def _pool_options(settings: Settings) -> dict[str, Any]:
    timeout_ms = int(settings.api_request_timeout_s * 1000)
    return {"conninfo": database_url(settings), "min_size": settings.api_pool_min,
            "max_size": settings.api_pool_max, "timeout": settings.api_request_timeout_s, "open": False,
            "kwargs": {"row_factory": dict_row, "autocommit": True, "connect_timeout": 10,
                       "options": f"-c statement_timeout={timeout_ms} "
                                  "-c idle_in_transaction_session_timeout=60000"}}


def _pool(settings: Settings) -> ConnectionPool[psycopg.Connection[DictRow]]:
    return ConnectionPool(connection_class=psycopg.Connection[DictRow], name="cbm-api",
                          **_pool_options(settings))


def _apool(settings: Settings) -> AsyncConnectionPool[psycopg.AsyncConnection[DictRow]]:
    return AsyncConnectionPool(connection_class=psycopg.AsyncConnection[DictRow], name="cbm-api-async",
                               **_pool_options(settings))


def create_app(settings: Settings) -> FastAPI:
    """Build the API for these settings (the pool opens when the app starts)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool, apool = _pool(settings), _apool(settings)
        pool.open(wait=True, timeout=30)
        try:
            await apool.open(wait=True, timeout=30)
            with pool.connection() as conn:
                ensure_admin(conn, settings)
            app.state.pool, app.state.apool = pool, apool
            yield
        finally:
            await apool.close()
            pool.close()

    install_log_record_factory()
    app = FastAPI(title="CbM API", version="1.0", description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None, routes=list(HOT_ROUTER.routes))
    app.state.settings = settings
    app.state.auth = AuthState.from_settings(settings)
    errors.register(app)
    for router in ROUTERS:  # after the hot routes: routes are matched in order
        app.include_router(router)
    docs.install(app, swagger_ui_parameters={"persistAuthorization": True})
    app.add_middleware(BodyLimitMiddleware, settings=settings)  # inside the request id and access log
    parts_in_memory(settings)  # bodies are bounded by the middleware: no temporary files for uploads
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
