"""Errors of the widget library: one tree, one short human message each.

Every error the :class:`~cbm_widgets.client.CbmClient` raises is a :class:`CbmApiError`; the
subclasses also inherit the matching builtin so callers can catch either. ``str(error)`` is a
sentence fit for a dashboard (never a traceback).
"""

from __future__ import annotations


class CbmApiError(Exception):
    """Root of the client's errors; ``status`` is the HTTP status (0 when there was no answer)."""

    status: int = 0

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


class ConfigurationError(CbmApiError, ValueError):
    """The client is missing its API URL or credentials."""


class ApiUnavailable(CbmApiError, ConnectionError):
    """The API cannot be reached, timed out, or failed (5xx)."""


class AuthenticationFailed(CbmApiError, PermissionError):
    """401: no or wrong username/password."""

    status = 401


class AccessDenied(CbmApiError, PermissionError):
    """403: the user may not read this AOI or use this function."""

    status = 403


class NotFound(CbmApiError, LookupError):
    """404, or an empty answer: no such parcel, parcel set or resource."""

    status = 404


class InvalidRequest(CbmApiError, ValueError):
    """400/422: the API refused a parameter (the message says which)."""

    status = 422


class RateLimited(CbmApiError):
    """429: too many requests (or failed logins); ``retry_after`` in seconds."""

    status = 429

    def __init__(self, message: str, *, status: int | None = None, retry_after: float = 1.0) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


def human(exc: BaseException) -> str:
    """A short message for a dashboard: the API's own words for client errors, a generic one else."""
    if isinstance(exc, CbmApiError):
        return str(exc)
    return "Something went wrong while loading this view; the details are in the server log."
