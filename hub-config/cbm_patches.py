"""One small hardening of JupyterHub's ``/user/<name>/...`` fallback handler.

When a user's server is not running, the proxy sends ``/user/<name>/...`` to the hub's
``UserUrlHandler``. Its GET checks ``access:servers`` first (404 without it), but its
POST/PATCH/DELETE answer 424 "server not running, restart it at /hub/spawn/<name>" to anybody,
which tells a consumer that a server could exist. Here they check the same scope first, so a
user without access gets the same 404 for every method. No code can run either way.
"""

from __future__ import annotations

from typing import Any

from jupyterhub.handlers.base import UserUrlHandler
from tornado import web


def refuse_unauthorized_non_get() -> None:
    """Make UserUrlHandler's non-GET methods answer 404 without ``access:servers`` (idempotent)."""
    original = UserUrlHandler.non_get
    if getattr(original, "_cbm_patched", False):
        return

    def non_get(self: Any, user_name: str, user_path: str) -> None:
        if not self.current_user or not self.has_scope(f"access:servers!server={user_name}/"):
            raise web.HTTPError(404, "No access to resources or resources not found")
        return original(self, user_name, user_path)

    non_get._cbm_patched = True  # type: ignore[attr-defined]
    UserUrlHandler.non_get = UserUrlHandler.post = UserUrlHandler.patch = UserUrlHandler.delete = non_get
