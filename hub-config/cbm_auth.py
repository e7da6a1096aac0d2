"""JupyterHub authentication backed by the API's user store (one account per person).

The hub and the REST API read the same ``users`` / ``aoi_grants`` tables through the same
functions (:func:`backend.db.queries_accounts.user_by_name`,
:func:`backend.accounts.verify_password`): argon2 hashes, roles, AOI grants and the
``active`` flag mean the same thing in both. Accounts are managed with ``cbm users ...``.

Role -> hub group: ``admin`` -> ``admins`` (also hub admin), ``analyst`` -> ``analysts``,
``consumer`` -> ``consumers``. ``jupyterhub_config.py`` gives each group its scopes.

For production behind an agency's OAuth/OIDC provider, ``CBM_HUB_AUTHENTICATOR=oidc`` uses
oauthenticator's ``GenericOAuthenticator`` for the login and :func:`roles_from_store` as its
``post_auth_hook``: the person must still exist, active, in the user store (same username),
which keeps supplying the role and AOI grants.

Both authenticators also register :class:`ScopedUserUrlHandler` (``Authenticator.get_handlers``,
whose routes the hub matches before its own): requests to ``/user/<name>/...`` that reach the
hub (the server is not running) answer 404 for every method without ``access:servers``, where
JupyterHub's own handler (6.x) answers POST/PATCH/DELETE with 424 "restart it at
/hub/spawn/<name>" to anybody, telling a consumer that a server could exist.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hub_settings import get_backend_settings
from jupyterhub.auth import Authenticator
from jupyterhub.handlers.base import UserUrlHandler
from tornado import web
from traitlets import Bool, Instance, default

from backend.accounts import verify_password
from backend.api.security import LoginThrottle
from backend.db import connect
from backend.db import queries_accounts as q
from backend.errors import CbmError

log = logging.getLogger(__name__)

GROUP_OF_ROLE = {"admin": "admins", "analyst": "analysts", "consumer": "consumers"}


def lookup(username: str) -> dict[str, Any] | None:
    """The user-store row of ``username`` (hash, role, active, aois), or None."""
    with connect(get_backend_settings()) as conn:
        return q.user_by_name(conn, username)


def check_password(username: str, password: str) -> dict[str, Any] | None:
    """Verify a login against the store; the row of an active user, else None (constant work)."""
    row = lookup(username)
    usable = row is not None and row["active"]
    if not verify_password(password, row["password_hash"] if usable else None):
        return None
    return row


def auth_model(row: dict[str, Any], password: str | None = None) -> dict[str, Any]:
    """The JupyterHub auth model of a store row: name, admin flag, group, auth_state."""
    aois = sorted(set(row["aois"]) | ({"*"} if row["role"] == "admin" else set()))
    state: dict[str, Any] = {"role": row["role"], "aois": aois}
    if password is not None:  # kept encrypted (auth_state) so notebooks can call the API as this user
        state["api_password"] = password
    return {"name": row["username"], "admin": row["role"] == "admin",
            "groups": [GROUP_OF_ROLE[row["role"]]], "auth_state": state}


class ScopedUserUrlHandler(UserUrlHandler):
    """JupyterHub's ``/user/<name>/...`` fallback, refusing non-GET requests as GET does (404)."""

    def non_get(self, user_name: str, user_path: str) -> None:
        """404 without ``access:servers`` on that server, else JupyterHub's answer (424)."""
        if not self.current_user or not self.has_scope(f"access:servers!server={user_name}/"):
            raise web.HTTPError(404, "No access to resources or resources not found")
        super().non_get(user_name, user_path)

    post = patch = delete = non_get


# the pattern of JupyterHub's own route (jupyterhub.handlers.base.default_handlers)
USER_URL_ROUTE = (r"/user/(?P<user_name>[^/]+)(?P<user_path>/.*)?", ScopedUserUrlHandler)


class ScopedUserUrls:
    """Authenticator mixin registering :data:`USER_URL_ROUTE` ahead of the hub's own handlers."""

    def get_handlers(self, app: Any) -> list[Any]:
        """The scoped ``/user/...`` route, then the authenticator's own (login, logout, ...)."""
        return [USER_URL_ROUTE, *super().get_handlers(app)]  # type: ignore[misc]


def oidc_authenticator() -> type:
    """The ``GenericOAuthenticator`` of oauthenticator with the scoped ``/user/...`` route.

    Configured as ``c.GenericOAuthenticator.*`` (traitlets applies a parent class's section).
    """
    from oauthenticator.generic import GenericOAuthenticator

    return type("CbmOAuthenticator", (ScopedUserUrls, GenericOAuthenticator), {})


class CbmAuthenticator(ScopedUserUrls, Authenticator):
    """Username + password checked against the project user store (argon2 via pwdlib)."""

    manage_groups = Bool(True).tag(config=True)
    throttle = Instance(LoginThrottle)

    @default("throttle")
    def _throttle_default(self) -> LoginThrottle:
        s = get_backend_settings()
        return LoginThrottle(s.api_login_max_failures, s.api_login_lockout_s)

    def normalize_username(self, username: str) -> str:
        """Usernames are case-sensitive in the store: keep them as typed (stripped)."""
        return username.strip()

    async def authenticate(self, handler: Any, data: dict[str, str]) -> dict[str, Any] | None:
        """Check the login form against the store; None refuses the login."""
        name, password = (data.get("username") or "").strip(), data.get("password") or ""
        ip = handler.request.remote_ip if handler is not None else "-"
        if not name or not password:
            return None
        try:
            self.throttle.check(name, ip)
        except CbmError as exc:
            self.log.warning("login refused for %r from %s: %s", name, ip, exc)
            return None
        row = await asyncio.to_thread(check_password, name, password)
        if row is None:
            self.throttle.failed(name, ip)
            self.log.warning("failed login for %r from %s", name, ip)
            return None
        self.throttle.succeeded(name, ip)
        return auth_model(row, password)

    async def refresh_user(self, user: Any, handler: Any = None) -> bool | dict[str, Any]:
        """Re-read role, grants and ``active`` (every ``auth_refresh_age`` s); False logs out."""
        row = await asyncio.to_thread(lookup, user.name)
        if row is None or not row["active"]:
            return False
        old = await user.get_auth_state() or {}
        return auth_model(row, old.get("api_password"))


async def roles_from_store(authenticator: Any, handler: Any, authentication: dict[str, Any]) -> Any:
    """``post_auth_hook`` for an OAuth/OIDC login: role and grants from the store, else refuse."""
    row = await asyncio.to_thread(lookup, authentication["name"])
    if row is None or not row["active"]:
        authenticator.log.warning("OIDC user %r is not an active user of the store", authentication["name"])
        return None
    model = auth_model(row)
    model["auth_state"] = {**(authentication.get("auth_state") or {}), **model["auth_state"]}
    return {**authentication, **model}
