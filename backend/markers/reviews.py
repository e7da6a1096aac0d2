"""Reviewer verdicts on traffic-light decisions: the review queue and recording who said what, when.

A verdict (``agree``, ``disagree``, ``unsure``) is attached to one decision of a marker run
(parcel x condition) with the reviewer's name, a comment and the time. Verdicts are never
overwritten: a new verdict adds a row and the latest one per decision is shown in the queue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from backend.db import connect
from backend.db import queries_markers as qm
from backend.db import queries_reviews as q
from backend.errors import InvalidInput, NotFound
from backend.parcels.sets import ParcelSetKey, resolve_set
from backend.settings import Settings

VERDICTS = ("agree", "disagree", "unsure")
COLOURS = ("red", "yellow", "green")
_REVIEWER = re.compile(r"^[A-Za-z0-9_.@ -]{2,64}$")


@dataclass(frozen=True)
class Review:
    """One stored verdict."""

    id: int
    run_id: int
    pid: str
    condition: str
    colour: str
    verdict: str
    reviewer: str
    comment: str
    reviewed_at: datetime


def _run_of(conn: q.Conn, aoi: str, year: int, run_id: int | None) -> tuple[int, int]:
    """(set id, run id): the given run or the latest finished run of the set."""
    st = resolve_set(conn, ParcelSetKey(aoi, year))
    if run_id is None:
        run = qm.latest_run(conn, st["id"])
        if run is None:
            raise NotFound(f"no marker run for {aoi} {year}: "
                           "run `cbm batch run notebooks/batch/markers.ipynb`")
        run_id = int(run["id"])
    return int(st["id"]), run_id


def review_queue(settings: Settings, *, aoi: str, year: int, colours: tuple[str, ...] = ("red", "yellow"),
                 condition: str | None = None, offset: int = 0, limit: int = 10,
                 run_id: int | None = None) -> pd.DataFrame:
    """One page of decisions to review (red first, then by parcel id) with their latest verdict.

    Columns: ``pid cropcode cropname condition colour reason verdict reviewer reviewed_at``;
    ``DataFrame.attrs`` holds ``total`` (rows matching the filters) and ``run_id``.

    Raises:
        InvalidInput: an unknown colour or a negative offset / non-positive limit.
    """
    if not colours or any(c not in COLOURS for c in colours):
        raise InvalidInput(f"colours must be among {', '.join(COLOURS)}")
    if offset < 0 or not 1 <= limit <= 1000:
        raise InvalidInput("offset must be >= 0 and limit within 1..1000")
    with connect(settings) as conn:
        _, run = _run_of(conn, aoi, year, run_id)
        rows = q.review_queue(conn, run, list(colours), condition, offset, limit)
    frame = pd.DataFrame(rows, columns=["pid", "cropcode", "cropname", "condition", "colour", "reason",
                                        "verdict", "reviewer", "reviewed_at", "total"])
    frame.attrs.update(total=int(rows[0]["total"]) if rows else 0, run_id=run)
    return frame.drop(columns="total")


def record_review(settings: Settings, *, aoi: str, year: int, pid: str, condition: str, verdict: str,
                  reviewer: str, comment: str = "", run_id: int | None = None) -> Review:
    """Store a reviewer's verdict on the decision of ``pid`` for ``condition`` (latest run by default).

    Raises:
        InvalidInput: unknown verdict, or a missing reviewer name.
        NotFound: no such set, run, parcel or decision.
    """
    if verdict not in VERDICTS:
        raise InvalidInput(f"verdict must be one of {', '.join(VERDICTS)}, not {verdict!r}")
    reviewer = reviewer.strip()
    if not _REVIEWER.match(reviewer):
        raise InvalidInput("say who reviews: reviewer must be a user name (2-64 letters, digits, _.@ -)")
    with connect(settings) as conn:
        set_id, run = _run_of(conn, aoi, year, run_id)
        d = q.decision(conn, run, set_id, pid, condition)
        if d is None:
            raise NotFound(f"no decision for parcel {pid!r} and condition {condition!r} in run {run}")
        comment = comment.strip()
        row = q.insert_review(conn, run, set_id, d["parcel_id"], condition, verdict, reviewer, comment)
    return Review(int(row["id"]), run, pid, condition, d["colour"], verdict, reviewer, comment,
                  row["reviewed_at"])


def list_reviews(settings: Settings, *, aoi: str, year: int, run_id: int | None = None) -> pd.DataFrame:
    """Every verdict of a run (latest run by default), newest first."""
    with connect(settings) as conn:
        _, run = _run_of(conn, aoi, year, run_id)
        rows = q.reviews(conn, run)
    return pd.DataFrame(rows, columns=["id", "pid", "condition", "colour", "verdict", "comment", "reviewer",
                                       "reviewed_at"])
