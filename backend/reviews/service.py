"""Review workflow services: record a verdict, a parcel's review history, the review queue.

A verdict is ``confirm`` (the automatic colour is right), ``override`` (to ``green`` or ``red``,
with a reason of at least 3 characters) or ``field_visit`` (cannot be decided from the images).
Verdicts are appended, never overwrite the automatic decision and name who and when. All
functions work on the latest marker run of the set (the one ``/parcels/decisions`` shows).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from backend.accounts import User
from backend.db import queries_parcel_reads as qpr
from backend.db import queries_photos as qp
from backend.db import queries_queue as qq
from backend.db import queries_reviews as q
from backend.errors import InvalidInput, NotFound, ParcelNotFound
from backend.parcels.sets import ParcelSetKey, resolve_set

Verdict = Literal["confirm", "override", "field_visit"]
VERDICTS: tuple[str, ...] = ("confirm", "override", "field_visit")
SortName = Literal["colour", "confidence", "area", "crop", "reviewed", "pid"]


@dataclass(frozen=True)
class ReviewInput:
    """A verdict as submitted: checks that an override names its colour and gives a reason."""

    pid: str
    condition: str
    verdict: str
    colour: str | None = None
    reason: str = ""
    comment: str = ""
    photo_ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        """Refuse an inconsistent verdict with a message that says how to fix it."""
        twice = sorted({i for i in self.photo_ids if self.photo_ids.count(i) > 1})
        if twice:
            raise InvalidInput(f"photo {', '.join(map(str, twice))} cited more than once: "
                               "cite each photo once")
        if self.verdict not in VERDICTS:
            raise InvalidInput(f"verdict must be one of {', '.join(VERDICTS)}, not {self.verdict!r}")
        if self.verdict == "override":
            if self.colour not in ("green", "red"):
                raise InvalidInput("an override needs colour 'green' or 'red'")
            if len(self.reason.strip()) < 3:
                raise InvalidInput("an override needs a reason (at least 3 characters): say why the "
                                   "automatic decision is wrong")
        elif self.colour is not None:
            raise InvalidInput(f"colour is only for an override, not for {self.verdict!r}")


@dataclass(frozen=True)
class QueueQuery:
    """Filters, order and page of the review queue."""

    condition: str | None = None
    colour: str | None = None
    crop: str | None = None
    reviewed: bool | None = None
    sort: SortName = "colour"
    descending: bool = False
    offset: int = 0
    limit: int = 50
    geometry: bool = False

    def filters(self, run_id: int) -> dict[str, Any]:
        """The SQL filter dict of ``queries_queue``."""
        return {"run": run_id, "condition": self.condition, "colour": self.colour, "crop": self.crop,
                "reviewed": self.reviewed}


def run_of(conn: q.Conn, key: ParcelSetKey) -> tuple[int, int]:
    """(set id, latest run with decisions) of a set.

    Raises:
        ParcelSetNotFound: no such set.
        NotFound: the set has no decisions yet.
    """
    set_id = int(resolve_set(conn, key)["id"])
    run = qq.latest_run(conn, set_id)
    if run is None:
        raise NotFound(f"no decisions for {key.aoi} {key.year} yet: run `cbm markers run` first")
    return set_id, run


def parcel_id_of(conn: q.Conn, set_id: int, key: ParcelSetKey, pid: str) -> int:
    """Internal id of a parcel; raises :class:`ParcelNotFound` when the set has no such pid."""
    row = qpr.parcel_row(conn, set_id, pid)
    if row is None:
        raise ParcelNotFound(f"no parcel {pid!r} in {key.aoi} {key.year}")
    return int(row["id"])


def check_photos(conn: q.Conn, set_id: int, parcel_id: int, key: ParcelSetKey, review: ReviewInput) -> None:
    """Refuse cited photo ids that are not photos of the reviewed parcel.

    Raises:
        InvalidInput: an id is no photo of the set, or a photo of another parcel.
    """
    if not review.photo_ids:
        return
    found = qp.parcels_of_photos(conn, set_id, list(review.photo_ids))
    unknown = [i for i in review.photo_ids if i not in found]
    if unknown:
        raise InvalidInput(f"no photo {', '.join(map(str, unknown))} in {key.aoi} {key.year}: cite photos "
                           f"listed by GET /sets/{key.aoi}/{key.year}/photos?pid={review.pid}")
    other = [f"{i} (parcel {found[i]['pid']})" for i in review.photo_ids
             if found[i]["parcel_id"] != parcel_id]
    if other:
        raise InvalidInput(f"photo {', '.join(other)} is not a photo of parcel {review.pid}: a verdict "
                           "cites only photos of its own parcel")


def record(conn: q.Conn, key: ParcelSetKey, user: User, review: ReviewInput) -> dict[str, Any]:
    """Store a verdict by ``user`` on the latest decision of a parcel and condition.

    Raises:
        ParcelNotFound: no such parcel in the set.
        NotFound: no decisions in the set, or none for this parcel and condition.
        InvalidInput: a cited photo is unknown or of another parcel.
    """
    set_id, run = run_of(conn, key)
    parcel_id = parcel_id_of(conn, set_id, key, review.pid)
    check_photos(conn, set_id, parcel_id, key, review)
    d = q.decision(conn, run, set_id, review.pid, review.condition)
    if d is None:
        raise NotFound(f"parcel {review.pid!r} has no decision for condition {review.condition!r} "
                       f"in marker run {run}")
    qq.ensure_built(conn, run, set_id)
    row = q.insert_review(conn, run, set_id, parcel_id, review.condition, review.verdict, user.username,
                          review.comment.strip(), colour=review.colour, reason=review.reason.strip(),
                          photo_ids=review.photo_ids)
    return {"id": row["id"], "run_id": run, "pid": review.pid, "condition": review.condition,
            "decision_colour": d["colour"], "verdict": review.verdict, "colour": review.colour,
            "reason": review.reason.strip(), "comment": review.comment.strip(), "reviewer": user.username,
            "reviewed_at": row["reviewed_at"], "photo_ids": list(review.photo_ids)}


def history(conn: q.Conn, key: ParcelSetKey, pid: str) -> dict[str, Any]:
    """A parcel's verdicts in the latest run, newest first, and the latest one per condition."""
    set_id, run = run_of(conn, key)
    rows = q.parcel_history(conn, run, set_id, parcel_id_of(conn, set_id, key, pid))
    latest: dict[str, dict[str, Any]] = {}
    for r in rows:
        latest.setdefault(r["condition"], r)
    return {"pid": pid, "run_id": run, "latest": latest, "history": rows}


def _queue_row(r: dict[str, Any]) -> dict[str, Any]:
    conds = dict(c.split(":", 1) for c in r["cond_colours"])
    return {"pid": r["pid"], "colour": qq.COLOURS[r["colour_rank"]], "conditions": conds,
            "confidence": None if r["confidence"] < 0 else round(float(r["confidence"]), 3),
            "area_ha": round(r["area_m2"] / 10_000, 4), "cropcode": r["cropcode"], "cropname": r["cropname"],
            "reviewed": r["reviewed"], "verdict": r["verdict"]}


def queue(conn: q.Conn, key: ParcelSetKey, query: QueueQuery) -> dict[str, Any]:
    """One page of the review queue: one row per parcel with its worst colour and conditions."""
    set_id, run = run_of(conn, key)
    qq.ensure_built(conn, run, set_id)
    total, rows = qq.page(conn, query.filters(run), query.sort, query.descending, query.offset, query.limit)
    out = [_queue_row(r) for r in rows]
    if query.geometry and rows:
        shapes = qq.outlines(conn, set_id, [int(r["parcel_id"]) for r in rows])
        for r, o in zip(rows, out, strict=True):
            o["geometry"] = json.loads(shapes[int(r["parcel_id"])])
    return {"run_id": run, "total": total, "offset": query.offset, "limit": query.limit, "sort": query.sort,
            "descending": query.descending, "rows": out}


def neighbours(conn: q.Conn, key: ParcelSetKey, pid: str, query: QueueQuery) -> dict[str, Any]:
    """The previous and next parcel of ``pid`` in the queue order with these filters (None at the ends).

    Raises:
        ParcelNotFound: the parcel has no decisions in the latest run.
    """
    set_id, run = run_of(conn, key)
    qq.ensure_built(conn, run, set_id)
    current = qq.row(conn, run, pid)
    if current is None:
        raise ParcelNotFound(f"parcel {pid!r} has no decisions in {key.aoi} {key.year}")
    f = query.filters(run)
    return {"pid": pid, "previous": qq.neighbour(conn, f, query.sort, query.descending, current, False),
            "next": qq.neighbour(conn, f, query.sort, query.descending, current, True),
            "position": qq.position(conn, f, query.sort, query.descending, current)}

