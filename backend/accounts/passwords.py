"""Password hashing: argon2id hashes (pwdlib), verified with constant work for unknown users."""

from __future__ import annotations

from pwdlib import PasswordHash

_hasher = PasswordHash.recommended()
# A fixed hash verified when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = _hasher.hash("cbm-no-such-user")


def hash_password(password: str) -> str:
    """Return the argon2id hash of a password."""
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Check a password against a stored hash (constant work when the hash is missing)."""
    if password_hash is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    try:
        return _hasher.verify(password, password_hash)
    except Exception:  # malformed stored hash: never a 500, just a failed login
        return False
