"""Domain error tree.

Every error the system raises on purpose is a :class:`CbmError`. Subclasses also inherit the
matching builtin so callers can catch either. Each class carries the HTTP status the API maps
it to and the exit code the CLI returns, registered here once.
"""

from __future__ import annotations


class CbmError(Exception):
    """Root of all CbM errors. The message names what was wrong and how to fix it."""

    http_status: int = 500
    exit_code: int = 1


class ConfigError(CbmError, ValueError):
    """Settings are missing, malformed or unsafe."""

    exit_code = 78


class DatabaseError(CbmError, ConnectionError):
    """The database cannot be reached or is not usable."""

    http_status = 503
    exit_code = 69


class ClusterError(DatabaseError):
    """The embedded PostgreSQL cluster could not be created, started or stopped."""


class MigrationError(DatabaseError):
    """A migration failed or an applied migration was changed after it was applied."""


class InvalidInput(CbmError, ValueError):
    """Input data or parameters are invalid."""

    http_status = 422
    exit_code = 65


class NotFound(CbmError, LookupError):
    """A requested object does not exist."""

    http_status = 404
    exit_code = 66


class ParcelNotFound(NotFound):
    """No parcel matches the request."""


class ParcelSetNotFound(NotFound):
    """No parcel set exists for the AOI and year."""


class ImageNotFound(NotFound):
    """No image matches the request."""


class AlreadyExists(CbmError, ValueError):
    """The object exists and replacing it was not asked for."""

    http_status = 409
    exit_code = 73


class ImageReadError(CbmError, OSError):
    """An image or one of its assets cannot be read (missing, corrupt, unreachable)."""

    http_status = 502
    exit_code = 74


class AuthError(CbmError, PermissionError):
    """Authentication failed."""

    http_status = 401
    exit_code = 77


class Forbidden(CbmError, PermissionError):
    """The user is authenticated but not allowed to do this."""

    http_status = 403
    exit_code = 77


class LimitExceeded(CbmError, ValueError):
    """A request exceeds a configured limit; the message names the limit and the allowed value."""

    http_status = 422
    exit_code = 65
