"""The one exception → HTTP status table of the API, registered once by :func:`register`.

Domain errors (:class:`backend.errors.CbmError`) carry their own ``http_status``; the few
exceptions from libraries are mapped in :data:`STATUS`. Every error body is
``{"detail": <message>}`` (validation errors keep FastAPI's list of ``{loc, msg, type}``).
Unexpected exceptions become a 500 whose body holds only the request id; the traceback goes to
the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import psycopg
import psycopg_pool
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.errors import AuthError, CbmError, LimitExceeded

log = logging.getLogger(__name__)


class TooManyRequests(LimitExceeded):
    """The per-user request rate is exceeded."""

    http_status = 429

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LoginLocked(AuthError):
    """Too many failed logins for this user from this address."""

    http_status = 429

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RequestTimeout(CbmError, TimeoutError):
    """The request took longer than ``api_request_timeout_s``."""

    http_status = 504


# Library exceptions -> (status, public message). Order matters: first match wins.
STATUS: tuple[tuple[type[Exception], int, str], ...] = (
    (psycopg.errors.QueryCanceled, 504, "the query took longer than api_request_timeout_s"),
    # SQLSTATE class 22 (data exception): a parameter the database cannot take, e.g. a NUL byte.
    (psycopg.DataError, 422, "a parameter holds a value the database cannot accept (e.g. a NUL byte)"),
    (psycopg_pool.PoolTimeout, 503, "the server is busy (no database connection free); retry"),
    (psycopg.OperationalError, 503, "the database is not reachable; retry later"),
)


def _headers(exc: BaseException) -> dict[str, str]:
    headers: dict[str, str] = {}
    if isinstance(exc, AuthError) and not isinstance(exc, LoginLocked):
        headers["WWW-Authenticate"] = 'Basic realm="cbm"'
    retry = getattr(exc, "retry_after", None)
    if retry is not None:
        headers["Retry-After"] = str(max(1, round(retry)))
    return headers


def _request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", "-"))


async def _cbm_error(request: Request, exc: Exception) -> JSONResponse:
    status = getattr(exc, "http_status", 500)
    if status >= 500:
        log.error("%s: %s", type(exc).__name__, exc)
    return JSONResponse({"detail": str(exc)}, status_code=status, headers=_headers(exc))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    clean = [{k: e.get(k) for k in ("loc", "msg", "type")} for e in errors]
    return JSONResponse({"detail": jsonable_encoder(clean)}, status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def _library_error(status: int, message: str) -> Callable[[Request, Exception], Any]:
    async def handler(request: Request, exc: Exception) -> JSONResponse:
        log.warning("%s -> %d: %s", type(exc).__name__, status, " ".join(str(exc).split())[:300])
        return JSONResponse({"detail": message}, status_code=status,
                            headers={"Retry-After": "5"} if status == 503 else None)
    return handler


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    rid = _request_id(request)
    log.exception("unhandled error in %s %s (request %s)", request.method, request.url.path, rid)
    # Starlette answers unhandled errors outside our middleware: add its headers here too.
    from backend.api.middleware import _CSP, SECURITY_HEADERS

    headers = {k.decode(): v.decode() for k, v in SECURITY_HEADERS}
    headers.update({"content-security-policy": _CSP.decode(), "cache-control": "no-store",
                    "x-request-id": rid})
    return JSONResponse({"detail": f"internal error; quote request id {rid}"}, status_code=500,
                        headers=headers)


def register(app: FastAPI) -> None:
    """Register the exception handlers (the status table) on an app."""
    app.add_exception_handler(CbmError, _cbm_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for exc_type, status, message in STATUS:
        app.add_exception_handler(exc_type, _library_error(status, message))
    app.add_exception_handler(Exception, _unexpected)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or wrong credentials (`WWW-Authenticate: Basic`)."},
    403: {"description": "The role or the AOI grant does not allow this."},
    422: {"description": "Invalid parameter or a limit exceeded; `detail` says which and what is allowed."},
    429: {"description": "Request rate or failed-login limit hit; see `Retry-After`."},
}
