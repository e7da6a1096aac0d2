"""User accounts: users, roles, AOI grants and passwords (the API and the hub authenticate against them).

Entry points: :func:`add_user`, :func:`set_password`, :func:`grant_aoi`, :func:`list_users`,
:func:`ensure_admin` (first-start bootstrap), :class:`User` (an authenticated user with its
grants), :func:`hash_password` / :func:`verify_password` (argon2id).
"""

from backend.accounts.passwords import hash_password, verify_password
from backend.accounts.users import ROLES, User, add_user, ensure_admin, grant_aoi, list_users, set_password

__all__ = ["ROLES", "User", "add_user", "ensure_admin", "grant_aoi", "hash_password", "list_users",
           "set_password", "verify_password"]
