"""Who inspects a QA sample: assignments, and the samples a user inspects.

Only a sample's inspectors record its inspections through the API, and while a unit is open (not
inspected yet) the API hides its decision from them on every route (:mod:`backend.api.blind`).
An inspector must be able to read the sample's AOI (a grant, or the admin role).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from backend.db import queries_qa as q
from backend.errors import Forbidden, InvalidInput, NotFound
from backend.parcels.sets import ParcelSetKey
from backend.qa.samples import sample_of


def _user_ids(conn: q.Conn, key: ParcelSetKey, usernames: Sequence[str], *,
              check_grant: bool) -> tuple[list[int], list[str]]:
    """The users' ids, and the names of those whose role reaches the database (analysts, admins)."""
    ids, unknown, no_grant, sql = [], [], [], []
    for name in usernames:
        row = q.user_for_assignment(conn, name)
        if row is None:
            unknown.append(name)
        elif check_grant and row["role"] != "admin" and not {"*", key.aoi} & set(row["aois"]):
            no_grant.append(name)
        else:
            ids.append(int(row["id"]))
            if row["role"] in ("analyst", "admin"):
                sql.append(name)
    if unknown:
        raise NotFound(f"no active user {', '.join(map(repr, unknown))}: add them with `cbm users add`")
    if no_grant:
        raise InvalidInput(f"{', '.join(map(repr, no_grant))} cannot read AOI {key.aoi!r}: grant it first "
                           f"(`cbm users grant NAME {key.aoi}`), nothing assigned")
    return ids, sql


def assign(conn: q.Conn, key: ParcelSetKey, sample_id: int, usernames: Sequence[str], *,
           assigned_by: str | None = None, remove: bool = False) -> dict[str, Any]:
    """Add (or with ``remove`` take away) inspectors of a sample; all or nothing.

    The answer's ``reach_decisions`` names the analysts and admins among those added: the API and
    the dashboards keep the decisions from them, but their notebooks and SQL access do not.

    Raises:
        NotFound: no such sample in the set, or an unknown user.
        InvalidInput: no user named, or a user who cannot read the AOI (when adding).
    """
    sample_of(conn, key, sample_id)
    names = sorted({n.strip() for n in usernames if n.strip()})
    if not names:
        raise InvalidInput("name at least one user to assign")
    ids, sql = _user_ids(conn, key, names, check_grant=not remove)
    changed = q.unassign(conn, sample_id, ids) if remove else q.assign(conn, sample_id, ids, assigned_by)
    return {"sample_id": sample_id, "changed": changed, "inspectors": q.inspectors(conn, sample_id),
            "reach_decisions": [] if remove else sql}


def require_inspector(conn: q.Conn, sample_id: int, user_id: int, username: str, key: ParcelSetKey) -> None:
    """Refuse (403) a user who is not an inspector of the sample."""
    if not q.is_inspector(conn, sample_id, user_id):
        raise Forbidden(f"{username} is not an inspector of QA sample {sample_id}: an administrator "
                        f"assigns inspectors (cbm qa assign --aoi {key.aoi} --year {key.year} "
                        f"--sample {sample_id} {username})")


def samples_of(conn: q.Conn, user_id: int, readable: Callable[[str], bool]) -> list[dict[str, Any]]:
    """The samples a user inspects in the AOIs ``readable(aoi)`` allows, with units and open units."""
    return [{"aoi": r["aoi"], "year": r["year"], "ptype": r["ptype"], "sample_id": r["sample_id"],
             "conditions": r["conditions"], "n_units": int(r["n_units"]), "n_open": int(r["n_open"])}
            for r in q.assignments(conn, user_id) if readable(r["aoi"])]
