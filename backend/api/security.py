"""Authentication state of one API process: login throttling, credential cache, rate buckets.

All of this is **in memory, per process**: with ``cbm serve --workers N`` each worker keeps its
own counters, so the effective login-failure allowance and request rate are at most N times the
configured values. Put a shared limiter (reverse proxy) in front for stricter guarantees.

* Passwords are argon2id hashes (:mod:`backend.accounts.passwords`). Verifying one costs ~0.3 s
  of CPU, so a successful login is remembered for ``api_auth_cache_s`` seconds under an HMAC of
  the credentials (the password itself is never stored or logged). A password change or revoked
  grant takes effect after at most that delay.
* Failed logins are counted per (username, client IP); after ``api_login_max_failures`` the
  pair is locked out (HTTP 429) for ``api_login_lockout_s`` seconds, even with the right password.
* Each user has a token bucket of ``api_rate_burst`` tokens refilled at
  ``api_rate_per_minute`` per minute; an empty bucket gives HTTP 429 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import threading
import time
import weakref
from dataclasses import dataclass, field

from backend.accounts import User
from backend.api.errors import LoginLocked, TooManyRequests
from backend.settings import Settings


class LoginThrottle:
    """Counts failed logins per (username, IP) and locks a pair out after too many."""

    def __init__(self, max_failures: int, lockout_s: float) -> None:
        self.max_failures, self.lockout_s = max_failures, lockout_s
        self._failures: dict[tuple[str, str], tuple[int, float]] = {}
        self._lock = threading.Lock()

    def check(self, username: str, ip: str) -> None:
        """Raise :class:`LoginLocked` while the pair is locked out."""
        with self._lock:
            count, since = self._failures.get((username, ip), (0, 0.0))
            if count < self.max_failures:
                return
            left = since + self.lockout_s - time.monotonic()
            if left <= 0:
                del self._failures[(username, ip)]
                return
        raise LoginLocked(
            f"too many failed logins: limit api_login_max_failures={self.max_failures}, "
            f"locked for api_login_lockout_s={self.lockout_s:g} s; retry in {left:.0f} s",
            retry_after=left)

    def failed(self, username: str, ip: str) -> None:
        """Record one failed login (the lockout starts at the last allowed failure)."""
        with self._lock:
            count, _ = self._failures.get((username, ip), (0, 0.0))
            self._failures[(username, ip)] = (count + 1, time.monotonic())
            if len(self._failures) > 100_000:  # bound memory under a username-spraying attack
                self._failures.pop(next(iter(self._failures)))

    def succeeded(self, username: str, ip: str) -> None:
        """Forget the failures of a pair after a successful login."""
        with self._lock:
            self._failures.pop((username, ip), None)


class AuthCache:
    """Remembers verified credentials for a short time, keyed by an HMAC of them."""

    def __init__(self, secret: bytes, ttl_s: float) -> None:
        self.secret, self.ttl_s = secret, ttl_s
        self._users: dict[bytes, tuple[User, float]] = {}

    def key(self, username: str, password: str) -> bytes:
        """HMAC-SHA256 of the credentials under the server secret."""
        return hmac.new(self.secret, f"{username}\0{password}".encode(), hashlib.sha256).digest()

    def get(self, key: bytes) -> User | None:
        """The cached user for these credentials, if still fresh."""
        hit = self._users.get(key)
        if hit is None or hit[1] < time.monotonic():
            return None
        return hit[0]

    def put(self, key: bytes, user: User) -> None:
        """Remember a verified user."""
        if self.ttl_s <= 0:
            return
        if len(self._users) > 10_000:
            self._users.clear()
        self._users[key] = (user, time.monotonic() + self.ttl_s)


class RateLimiter:
    """Per-user token buckets."""

    def __init__(self, per_minute: int, burst: int) -> None:
        self.rate, self.burst, self.per_minute = per_minute / 60.0, float(burst), per_minute
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, who: str) -> None:
        """Take one token for ``who`` or raise :class:`TooManyRequests`."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(who, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[who] = (tokens - 1.0, now)
                return
            self._buckets[who] = (tokens, now)
        wait = (1.0 - tokens) / self.rate
        raise TooManyRequests(
            f"request rate limit exceeded: api_rate_per_minute={self.per_minute} per user "
            f"(burst api_rate_burst={self.burst:g}); retry in {wait:.1f} s", retry_after=wait)


@dataclass
class AuthState:
    """The per-process authentication state kept on ``app.state.auth``."""

    throttle: LoginThrottle
    cache: AuthCache
    rate: RateLimiter
    _locks: weakref.WeakValueDictionary[str, asyncio.Lock] = field(
        default_factory=weakref.WeakValueDictionary)

    def login_lock(self, username: str) -> asyncio.Lock:
        """One lock per username: password checks of a username run one at a time.

        Concurrent first logins then cost one argon2 verification (the rest hit the cache), and
        concurrent wrong guesses cannot all pass the failure check before it counts them.
        """
        lock = self._locks.get(username)
        if lock is None:
            lock = self._locks[username] = asyncio.Lock()
        return lock

    @classmethod
    def from_settings(cls, settings: Settings) -> AuthState:
        """Build the state from the ``api_*`` settings."""
        return cls(LoginThrottle(settings.api_login_max_failures, settings.api_login_lockout_s),
                   AuthCache(settings.secret_key.get_secret_value().encode(), settings.api_auth_cache_s),
                   RateLimiter(settings.api_rate_per_minute, settings.api_rate_burst))
