"""User accounts: the authenticated :class:`User`; add, change password, grant AOIs, list; admin bootstrap."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import psycopg

from backend.accounts.passwords import hash_password
from backend.db import queries_accounts as q
from backend.errors import AlreadyExists, InvalidInput, NotFound
from backend.settings import Settings

log = logging.getLogger(__name__)
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
_AOI = re.compile(r"^(\*|[a-z][a-z0-9_]{1,31})$")
MIN_PASSWORD = 8
ROLES = ("admin", "analyst", "consumer")
_RANK = {"consumer": 0, "analyst": 1, "admin": 2}


@dataclass(frozen=True)
class User:
    """An authenticated user.

    Attributes:
        id: users.id.
        username: login name.
        role: ``admin``, ``analyst`` or ``consumer``.
        aois: granted AOI codes; ``*`` grants all.
    """

    id: int
    username: str
    role: str
    aois: frozenset[str] = field(default_factory=frozenset)

    def can_read(self, aoi: str) -> bool:
        """True if the user holds a grant on this AOI (or on all AOIs)."""
        return "*" in self.aois or aoi in self.aois

    def has_role(self, role: str) -> bool:
        """True if the user's role is at least ``role`` (consumer < analyst < admin)."""
        return _RANK[self.role] >= _RANK[role]


def _check(username: str, password: str | None = None) -> None:
    if not _USERNAME.match(username):
        raise InvalidInput("username: 2-64 characters among letters, digits and _ . @ -")
    if password is not None and len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password: at least {MIN_PASSWORD} characters")


def add_user(conn: q.Conn, username: str, password: str, role: str, *, actor: str | None = None) -> int:
    """Create a user with an argon2 password hash.

    Raises:
        InvalidInput: bad username, short password or unknown role.
        AlreadyExists: the username is taken.
    """
    _check(username, password)
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    try:
        with conn.transaction():
            user_id = q.insert_user(conn, username, hash_password(password), role)
            q.audit(conn, actor, "user.add", username, json.dumps({"role": role}))
    except psycopg.errors.UniqueViolation:
        raise AlreadyExists(f"user {username!r} exists; use `cbm users passwd`") from None
    return user_id


def set_password(conn: q.Conn, username: str, password: str, *, actor: str | None = None) -> None:
    """Replace a user's password (cached logins expire within ``api_auth_cache_s``).

    Raises:
        NotFound: no such user.
    """
    _check(username, password)
    with conn.transaction():
        if not q.set_password(conn, username, hash_password(password)):
            raise NotFound(f"no user {username!r}")
        q.audit(conn, actor, "user.passwd", username)


def grant_aoi(conn: q.Conn, username: str, aoi: str, *, actor: str | None = None) -> bool:
    """Grant read access on an AOI (``*`` = every AOI). Returns False if already granted.

    Raises:
        InvalidInput: malformed AOI code.
        NotFound: no such user.
    """
    _check(username)
    if not _AOI.match(aoi):
        raise InvalidInput("aoi: lower-case code like 'nl' (letters, digits, _), or '*' for all")
    with conn.transaction():
        if q.user_by_name(conn, username) is None:
            raise NotFound(f"no user {username!r}")
        added = q.grant(conn, username, aoi, actor) > 0
        q.audit(conn, actor, "user.grant", username, json.dumps({"aoi": aoi}))
    return added


def list_users(conn: q.Conn) -> list[dict[str, Any]]:
    """Users with role, state and grants (never password hashes)."""
    return q.list_users(conn)


def ensure_admin(conn: q.Conn, settings: Settings) -> bool:
    """Create the admin account from settings if no active admin exists. True if created.

    Every API worker calls this at start: a transaction-level advisory lock makes the check and
    the creation one step, so concurrent workers create the account once and the others see it.
    """
    with conn.transaction():
        q.lock_admin_bootstrap(conn)
        if q.any_admin(conn):
            return False
        try:
            add_user(conn, settings.admin_username, settings.admin_password.get_secret_value(), "admin",
                     actor="bootstrap")
            grant_aoi(conn, settings.admin_username, "*", actor="bootstrap")
        except AlreadyExists:
            log.warning("user %r exists but is not an active admin; no admin bootstrapped",
                        settings.admin_username)
            return False
    log.warning("created admin account %r from CBM_ADMIN_PASSWORD", settings.admin_username)
    return True
