"""The dependency vocabulary of the API: ``SettingsDep``, ``Conn``, ``APool``, ``CurrentUser``, role guards.

Routes read like the domain::

    @router.get("/sets/{aoi}/{year}")
    def set_summary(aoi: AoiPath, year: int, user: CurrentUser, conn: Conn) -> dict:
        require_aoi(user, aoi)
        return sets.summary(conn, aoi, year)

``require_aoi`` must be called (or ``AoiUser`` used) by every route that touches an AOI: a
user without a grant gets 403 whether the AOI exists or not, so nothing leaks.

Hot routes are ``async def`` and take ``APool`` (psycopg's async pool): together with the async
dependencies below they run on the event loop without a threadpool hop. ``Conn`` (sync pool)
is for the other routes, which FastAPI runs in its threadpool.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

import psycopg
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool

from backend.accounts import User, verify_password
from backend.api.params import AoiPath, AoiQuery, PtypeQuery, YearPath, YearQuery
from backend.api.security import AuthState
from backend.db import queries_accounts as q
from backend.errors import AuthError, Forbidden
from backend.parcels.sets import ParcelSetKey
from backend.settings import Settings

log = logging.getLogger(__name__)

_basic = HTTPBasic(auto_error=False, realm="cbm",
                   description="HTTP Basic: CbM username and password (argon2-hashed on the server).")


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with (async: no threadpool hop)."""
    settings: Settings = request.app.state.settings
    return settings


def get_conn(request: Request) -> Iterator[psycopg.Connection[DictRow]]:
    """A pooled connection (autocommit, statement timeout) for the duration of the request."""
    with request.app.state.pool.connection() as conn:
        yield conn


async def get_apool(request: Request) -> AsyncConnectionPool[psycopg.AsyncConnection[DictRow]]:
    """The async pool (same options as ``Conn``'s) for ``async def`` routes.

    The service borrows a connection just for its statement (``async with pool.connection()``):
    cheaper than a generator dependency, and the connection is back in the pool before the
    response is encoded and sent.
    """
    pool: AsyncConnectionPool[psycopg.AsyncConnection[DictRow]] = request.app.state.apool
    return pool


SettingsDep = Annotated[Settings, Depends(get_settings)]
Conn = Annotated[psycopg.Connection[DictRow], Depends(get_conn)]
APool = Annotated[AsyncConnectionPool[psycopg.AsyncConnection[DictRow]], Depends(get_apool)]


def _load_user(request: Request, username: str, password: str) -> User | None:
    with request.app.state.pool.connection() as conn:
        row = q.user_by_name(conn, username)
    if not verify_password(password, row["password_hash"] if row and row["active"] else None):
        return None
    assert row is not None
    aois = frozenset(row["aois"]) | ({"*"} if row["role"] == "admin" else set())
    return User(row["id"], row["username"], row["role"], aois)


async def current_user(
    request: Request, credentials: Annotated[HTTPBasicCredentials | None, Depends(_basic)]
) -> User:
    """Authenticate the request (HTTP Basic), then apply the per-user rate limit.

    Raises:
        AuthError: no or wrong credentials (401).
        LoginLocked: too many failed logins from this address (429).
        TooManyRequests: the user's request rate is exceeded (429).
    """
    if credentials is None:
        raise AuthError("authentication required: send HTTP Basic credentials")
    auth: AuthState = request.app.state.auth
    ip = request.client.host if request.client else "-"
    name, password = credentials.username, credentials.password
    auth.throttle.check(name, ip)
    key = auth.cache.key(name, password)
    user = auth.cache.get(key) or await _verify(request, auth, key, name, password, ip)
    request.scope.setdefault("state", {})["user"] = user.username
    auth.rate.take(user.username)
    return user


async def _verify(request: Request, auth: AuthState, key: bytes, name: str, password: str, ip: str) -> User:
    """Check a password not in the cache, one check per username at a time."""
    async with auth.login_lock(name):
        auth.throttle.check(name, ip)  # guesses queued behind failures see the lockout
        user = auth.cache.get(key)  # a concurrent first login may have verified it meanwhile
        if user is None:
            user = await run_in_threadpool(_load_user, request, name, password)
            if user is None:
                auth.throttle.failed(name, ip)
                log.warning("failed login for user %r from %s", name[:64], ip)
                raise AuthError("wrong username or password")
            auth.throttle.succeeded(name, ip)
            auth.cache.put(key, user)
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_aoi(user: User, aoi: str) -> None:
    """Refuse (403) a user without a grant on ``aoi``; the message reveals nothing about it."""
    if not user.can_read(aoi):
        raise Forbidden(f"no access to AOI {aoi!r}: ask an administrator for a grant")


def require_role(role: str) -> Callable[[User], Awaitable[User]]:
    """A dependency that lets through users whose role is at least ``role``."""

    async def guard(user: CurrentUser) -> User:
        if not user.has_role(role):
            raise Forbidden(f"this needs the {role} role (you are {user.role})")
        return user

    guard.__name__ = f"require_{role}"
    return guard


AnalystUser = Annotated[User, Depends(require_role("analyst"))]
AdminUser = Annotated[User, Depends(require_role("admin"))]


def _readable_set(user: User, aoi: str, year: int, ptype: str) -> ParcelSetKey:
    require_aoi(user, aoi)
    return ParcelSetKey(aoi, year, ptype)


async def readable_set_query(user: CurrentUser, aoi: AoiQuery, year: YearQuery,
                             ptype: PtypeQuery = "") -> ParcelSetKey:
    """The parcel set named by the ``aoi``, ``year``, ``ptype`` query parameters, grant checked."""
    return _readable_set(user, aoi, year, ptype)


async def readable_set_path(user: CurrentUser, aoi: AoiPath, year: YearPath,
                            ptype: PtypeQuery = "") -> ParcelSetKey:
    """The parcel set named by ``{aoi}/{year}`` in the path (``ptype`` query), grant checked."""
    return _readable_set(user, aoi, year, ptype)


ReadableSet = Annotated[ParcelSetKey, Depends(readable_set_query)]
ReadableSetPath = Annotated[ParcelSetKey, Depends(readable_set_path)]
