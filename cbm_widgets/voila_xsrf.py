"""Voilà's kernel shutdown on page close needs the ``_xsrf`` cookie, which Voilà never sets.

When a dashboard page is closed or left, Voilà's page script posts ``voila/api/shutdown/<kernel>``
with the ``_xsrf`` value it reads from the page's cookie. Voilà 0.5 renders its pages without
touching the handler's ``xsrf_token``, so the cookie is never set: the post is refused (403,
voila-dashboards/voila#1458), a console error is logged, and the kernel stays until culled.

:func:`with_xsrf_cookie` wraps an identity provider class (the documented
``Voila.identity_provider_class`` extension point, called once per request with the handler)
so that every ``GET`` sets the cookie; XSRF checking itself stays on.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from typing import Any

from jupyter_server.auth.identity import IdentityProvider, PasswordIdentityProvider


def with_xsrf_cookie(base: type[IdentityProvider]) -> type[IdentityProvider]:
    """A subclass of ``base`` whose ``get_user`` also sets the ``_xsrf`` cookie on ``GET``."""

    class XsrfCookieIdentityProvider(base):  # type: ignore[valid-type, misc]
        def get_user(self, handler: Any) -> Any:
            user = super().get_user(handler)
            if handler.request.method != "GET":
                return user
            if inspect.isawaitable(user):
                return _then_cookie(handler, user)
            return _cookie(handler, user)

    XsrfCookieIdentityProvider.__name__ = f"XsrfCookie{base.__name__}"
    XsrfCookieIdentityProvider.__qualname__ = XsrfCookieIdentityProvider.__name__
    return XsrfCookieIdentityProvider


def _cookie(handler: Any, user: Any) -> Any:
    """Set the cookie (tornado reads ``current_user`` to set it: the user is known by now)."""
    handler.current_user = user  # what ``prepare`` sets next anyway
    handler.xsrf_token  # noqa: B018  (tornado sets the cookie when the token is first read)
    return user


async def _then_cookie(handler: Any, user: Awaitable[Any]) -> Any:
    return _cookie(handler, await user)


PasswordIdentityProviderWithXsrfCookie = with_xsrf_cookie(PasswordIdentityProvider)
"""Voilà's default identity provider, setting the ``_xsrf`` cookie (``--Voila.identity_provider_class``)."""
