"""Short-lived signed URLs for files fetched without credentials (JRC client downloads).

A token is ``<path>.<expiry>.<signature>``: the path (URL-safe base64), the expiry (Unix
seconds) and HMAC-SHA256 over both with ``settings.secret_key``. Verification recomputes the
HMAC and compares in constant time, then checks the expiry.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time

from backend.errors import Forbidden
from backend.settings import Settings


class InvalidToken(Forbidden):
    """A signed URL token is malformed, forged or expired."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(settings: Settings, path: str, expiry: int) -> str:
    key = settings.secret_key.get_secret_value().encode()
    return _b64(hmac.new(key, f"{path}\n{expiry}".encode(), hashlib.sha256).digest())


def sign(settings: Settings, path: str, ttl_s: int, *, now: float | None = None, stable_s: int = 0) -> str:
    """A token granting access to ``path`` for ``ttl_s`` seconds.

    Args:
        settings: backend settings (``secret_key``).
        path: what the token grants (e.g. a cache-relative file path).
        ttl_s: lifetime in seconds (> 0).
        now: current Unix time (tests); default ``time.time()``.
        stable_s: round the expiry up to a multiple of this (the lifetime grows by up to as
            much), so that requests within that time get the same URL (clients and browsers
            that key their caches on URLs keep one copy).
    """
    if ttl_s <= 0:
        raise ValueError("ttl_s must be positive")
    expiry = int((time.time() if now is None else now) + ttl_s)
    if stable_s > 0:
        expiry = -(-expiry // stable_s) * stable_s
    return f"{_b64(path.encode())}.{expiry}.{_mac(settings, path, expiry)}"


def verify(settings: Settings, token: str, *, now: float | None = None) -> tuple[str, int]:
    """The path a token grants and its expiry (Unix seconds).

    Raises:
        InvalidToken: the token is malformed, its signature is wrong, or it has expired.
    """
    try:
        encoded, expiry_text, mac = token.split(".")
        path, expiry = _unb64(encoded).decode(), int(expiry_text)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidToken("invalid link") from None
    if not hmac.compare_digest(mac.encode(), _mac(settings, path, expiry).encode()):
        raise InvalidToken("invalid link")
    if (time.time() if now is None else now) >= expiry:
        raise InvalidToken("link expired: request the chips again")
    return path, expiry
