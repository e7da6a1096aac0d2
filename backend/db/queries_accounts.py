"""SQL of user accounts: users, AOI grants and the audit log (psycopg 3, rows as dicts)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import DictRow

Conn = psycopg.Connection[DictRow]


_USER = """
SELECT u.id, u.username, u.role, u.password_hash, u.active,
       coalesce(array_agg(g.aoi ORDER BY g.aoi) FILTER (WHERE g.aoi IS NOT NULL), '{}') AS aois
FROM users u LEFT JOIN aoi_grants g ON g.user_id = u.id
WHERE u.username = %s GROUP BY u.id"""


def user_by_name(conn: Conn, username: str) -> dict[str, Any] | None:
    """A user with its password hash and granted AOIs, or None."""
    return conn.execute(_USER, (username,)).fetchone()


def any_admin(conn: Conn) -> bool:
    """True if an active admin account exists."""
    return conn.execute("SELECT EXISTS (SELECT 1 FROM users WHERE role = 'admin' AND active) AS e"
                        ).fetchone()["e"]  # type: ignore[index]


def insert_user(conn: Conn, username: str, password_hash: str, role: str) -> int:
    """Create a user; returns its id (raises UniqueViolation if the name is taken)."""
    row = conn.execute("INSERT INTO users (username, password_hash, role) VALUES (%s, %s, %s) RETURNING id",
                       (username, password_hash, role)).fetchone()
    assert row is not None
    return int(row["id"])


def set_password(conn: Conn, username: str, password_hash: str) -> int:
    """Replace a user's password hash; returns the number of users changed (0 or 1)."""
    return conn.execute("UPDATE users SET password_hash = %s, password_changed_at = now() "
                        "WHERE username = %s", (password_hash, username)).rowcount


def grant(conn: Conn, username: str, aoi: str, granted_by: str | None) -> int:
    """Grant an AOI ('*' = all) to a user; returns rows inserted (0 when already granted)."""
    return conn.execute(
        "INSERT INTO aoi_grants (user_id, aoi, granted_by) SELECT id, %s, %s FROM users "
        "WHERE username = %s ON CONFLICT DO NOTHING", (aoi, granted_by, username)).rowcount


def list_users(conn: Conn) -> list[dict[str, Any]]:
    """All users with role, state and grants (no hashes)."""
    return conn.execute(
        "SELECT u.username, u.role, u.active, u.created_at, "
        "coalesce(array_agg(g.aoi ORDER BY g.aoi) FILTER (WHERE g.aoi IS NOT NULL), '{}') AS aois "
        "FROM users u LEFT JOIN aoi_grants g ON g.user_id = u.id GROUP BY u.id ORDER BY u.username"
    ).fetchall()


def audit(conn: Conn, actor: str | None, action: str, target: str, details: str = "{}") -> None:
    """Append one audit-log row."""
    conn.execute("INSERT INTO audit_log (actor, action, target, details) VALUES (%s, %s, %s, %s)",
                 (actor, action, target, details))


def lock_admin_bootstrap(conn: Conn) -> None:
    """Serialise the first-start admin bootstrap of concurrent API workers (until the transaction ends)."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('cbm.ensure_admin'))")
