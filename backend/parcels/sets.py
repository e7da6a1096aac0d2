"""Parcel sets by key: :class:`ParcelSetKey` (AOI, year, variant) and its one lookup.

Every caller that names a set by key (CLI, API, extraction, markers, batch, reviews, QA,
photos) resolves it here: one SQL statement (``queries_parcels.find_set``) and one error,
:class:`ParcelSetNotFound` (exit code 66, HTTP 404), with one message.

``ptype`` is the set's variant: the empty string is the main set of an AOI and year (what the
JRC API calls ``ptype``; most AOIs have only that one). A key always names exactly one set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.accounts import User
from backend.db import queries_parcel_reads as qpr
from backend.db import queries_parcels as q
from backend.errors import InvalidInput, ParcelSetNotFound


@dataclass(frozen=True)
class ParcelSetKey:
    """Names one parcel set: AOI code, year and variant (``""`` = the main set)."""

    aoi: str
    year: int
    ptype: str = ""

    def __post_init__(self) -> None:
        """Refuse a key that cannot name a set (the database would only say "not found")."""
        if not isinstance(self.year, int) or isinstance(self.year, bool):
            raise InvalidInput(f"year must be a whole number, not {self.year!r}")
        if not self.aoi:
            raise InvalidInput("aoi: give the AOI code of the parcel set, e.g. 'nl'")

    def __str__(self) -> str:
        return f"{self.aoi} {self.year}" + (f" ptype={self.ptype}" if self.ptype else "")


def set_not_found(key: ParcelSetKey) -> ParcelSetNotFound:
    """The error for a key that names no parcel set."""
    return ParcelSetNotFound(f"no parcel set {key}: import it with `cbm import parcels FILE --aoi {key.aoi} "
                             f"--year {key.year}" + (f" --ptype {key.ptype}`" if key.ptype else "`"))


def resolve_set(conn: q.Conn, key: ParcelSetKey) -> dict[str, Any]:
    """The parcel set row of a key (``id``, ``srid``, ``n_parcels``, ``imported_at``, ``imported_by``).

    Raises:
        ParcelSetNotFound: no set for this AOI, year and ptype.
    """
    row = q.find_set(conn, key.aoi, key.year, key.ptype)
    if row is None:
        raise set_not_found(key)
    return row


def list_sets(conn: q.Conn, user: User) -> list[dict[str, Any]]:
    """Parcel sets the user may read."""
    return [s for s in qpr.list_sets(conn) if user.can_read(s["aoi"])]


def set_summary(conn: q.Conn, key: ParcelSetKey) -> dict[str, Any]:
    """Parcel, crop, job, image and decision counts of one set."""
    return qpr.set_summary(conn, resolve_set(conn, key)["id"])
