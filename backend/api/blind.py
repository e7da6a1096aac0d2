"""Blind QA inspections beyond the QA routes: one rule, declared by every route that carries decisions.

An inspector assigned to a QA sample (``cbm qa assign``) must not learn the system's decision of
a sampled parcel before recording the inspection (issue 25). A unit is *open* while it has no
inspection. While one of the samples a user inspects has open units in a set, the API refuses
(403) that user, with a message saying why and until when:

* the routes about one parcel's decisions and what they are made of (``/parcels/decisions``,
  ``/parcels/markers``, ``/parcels/evidence.html``, the review history, ``decisions.csv|gpkg?pid=``)
  when the parcel has an open unit (other parcels stay readable);
* the routes about many parcels' decisions (the set's decision list, the review queue and its
  neighbours, ``decisions.csv|gpkg`` without ``pid``, the parcel vector tiles with their colours,
  recording a review, whose answer holds the decision) while any unit of the set is open.

Other users are not affected, nor is the inspector once the units are inspected or the assignment
removed. Routes declare it by taking :data:`ParcelDecisions`, :data:`ParcelDecisionsPath` or
:data:`SetDecisionsPath` instead of ``ReadableSet`` / ``ReadableSetPath`` (the grant is checked
first, so a user without a grant still gets the same 403 whether the AOI exists or not). The
routes of the JRC API (``/query/...``) carry no decisions. The check is one indexed query.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from backend.api.deps import CurrentUser, ReadableSet, ReadableSetPath
from backend.db import queries_qa as q
from backend.errors import Forbidden
from backend.parcels.sets import ParcelSetKey


async def check_blind(request: Request, user_id: int, key: ParcelSetKey, pid: str | None) -> None:
    """Refuse (403) what would show an inspector the decision of an open unit.

    Args:
        request: the request (its app's async pool is used).
        user_id: the user's id.
        key: the parcel set.
        pid: the one parcel the route is about; None for a route about many parcels.

    Raises:
        Forbidden: ``pid`` has an open unit in a sample the user inspects, or (``pid`` None) the
            user inspects a sample of the set that has open units.
    """
    rows = await q.open_units(request.app.state.apool, user_id, key.aoi, key.year, key.ptype, pid)
    if pid is None and rows:
        s = rows[0]
        raise Forbidden(
            f"you inspect QA sample {s['sample_id']} of {key.aoi} {key.year} ({s['n_open']} units not "
            "inspected yet): the set's decisions stay hidden from you until they are inspected (blind "
            "inspection) or an administrator removes your assignment (cbm qa assign --remove)")
    hit = next((r for r in rows if r["parcel_open"]), None)
    if hit is not None:
        raise Forbidden(
            f"parcel {pid!r} is in QA sample {hit['sample_id']}, which you inspect: its decisions stay "
            "hidden from you until it is inspected (blind inspection); record your inspection in the QA "
            f"inspection dashboard or with POST /sets/{key.aoi}/{key.year}/qa/inspections")


async def parcel_decisions_query(request: Request, user: CurrentUser, key: ReadableSet) -> ParcelSetKey:
    """The set of ``aoi``/``year`` query parameters, blind rule applied to the ``pid`` parameter."""
    await check_blind(request, user.id, key, request.query_params.get("pid"))
    return key


async def parcel_decisions_path(request: Request, user: CurrentUser, key: ReadableSetPath) -> ParcelSetKey:
    """The set of ``{aoi}/{year}``, blind rule applied to ``pid`` (to the whole set without one)."""
    await check_blind(request, user.id, key, request.query_params.get("pid"))
    return key


async def set_decisions_path(request: Request, user: CurrentUser, key: ReadableSetPath) -> ParcelSetKey:
    """The set of ``{aoi}/{year}``, blind rule applied to the whole set."""
    await check_blind(request, user.id, key, None)
    return key


ParcelDecisions = Annotated[ParcelSetKey, Depends(parcel_decisions_query)]
ParcelDecisionsPath = Annotated[ParcelSetKey, Depends(parcel_decisions_path)]
SetDecisionsPath = Annotated[ParcelSetKey, Depends(set_decisions_path)]
