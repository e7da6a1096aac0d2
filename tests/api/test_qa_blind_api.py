"""Blind QA inspections beyond the QA routes, over HTTP (issue 25, ``backend/api/blind.py``).

The tiny area (``apitools``) has decisions for ``mown_once``: A red, B green. A census sample of
both is inspected by ``consumer``; ``analyst`` (granted, not an inspector) is the control: every
route refused to the inspector answers the analyst. The assignment is removed afterwards, so the
other API tests see the consumer as before.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from apitools import PASSWORDS, Server, get_json

from backend.db import connect
from backend.errors import InvalidInput, NotFound
from backend.parcels.sets import ParcelSetKey
from backend.qa import inspectors
from backend.qa.samples import draw_sample
from backend.qa.sampling import SampleSpec

KEY = ParcelSetKey("tt", 2025)
Q = {"aoi": "tt", "year": 2025}
# routes about one parcel: (path, query without pid)
PARCEL_ROUTES = [("/parcels/decisions", Q), ("/parcels/markers", Q), ("/parcels/evidence.html", Q),
                 ("/sets/tt/2025/reviews", {}), ("/sets/tt/2025/decisions.csv", {}),
                 ("/sets/tt/2025/decisions.gpkg", {})]
# routes about many parcels (GET)
SET_ROUTES = [("/sets/tt/2025/decisions", {}), ("/sets/tt/2025/queue", {}),
              ("/sets/tt/2025/queue/neighbours", {"pid": "A"}), ("/sets/tt/2025/decisions.csv", {}),
              ("/sets/tt/2025/decisions.gpkg", {}), ("/tiles/tt/2025/16/33000/21000.mvt", {})]


@pytest.fixture()
def sample(api: Server) -> Iterator[int]:
    with connect(api.settings) as conn:
        r = draw_sample(conn, KEY, SampleSpec(("mown_once",), size=2, seed=3), created_by="t")
        inspectors.assign(conn, KEY, int(r["id"]), ["consumer"], assigned_by="t")
    yield int(r["id"])
    with connect(api.settings) as conn:
        conn.execute("DELETE FROM qa_inspectors WHERE sample_id = %s", (r["id"],))


def _get(c: httpx.Client, path: str, params: dict) -> httpx.Response:
    return c.get(path, params=params)


def _inspect(api: Server, sample: int, pid: str) -> None:
    body = {"sample_id": sample, "pid": pid, "condition": "mown_once", "truth": "compliant",
            "method": "vhr_image", "inspected_on": "2025-07-01"}
    with api.client("consumer") as c:
        r = c.post("/sets/tt/2025/qa/inspections", json=body)
    assert r.status_code == 201, r.text


def test_every_decision_route_is_blind_for_open_units(api: Server, sample: int) -> None:
    with api.client("consumer") as inspector, api.client("analyst") as other:
        for path, params in PARCEL_ROUTES:
            r = _get(inspector, path, {**params, "pid": "A"})
            assert r.status_code == 403, (path, r.status_code, r.text)
            assert f"parcel 'A' is in QA sample {sample}, which you inspect" in r.json()["detail"]
            assert "red" not in r.text
            assert _get(other, path, {**params, "pid": "A"}).status_code == 200, path  # not an inspector
        for path, params in SET_ROUTES:
            r = _get(inspector, path, params)
            assert r.status_code == 403, (path, r.status_code, r.text)
            expected = f"you inspect QA sample {sample} of tt 2025 (2 units not inspected yet)"
            assert expected in r.json()["detail"]
            assert _get(other, path, params).status_code == 200, path
        r = inspector.post("/sets/tt/2025/reviews", json={})  # a review's answer holds the decision
        assert r.status_code == 403 and "you inspect QA sample" in r.json()["detail"]
        assert other.post("/sets/tt/2025/reviews", json={}).status_code == 422  # past the guard
        # what the inspection needs stays open: a parcel outside the sample, the set, the series, the units
        assert _get(inspector, "/parcels/decisions", {**Q, "pid": "C"}).status_code == 200
        assert _get(inspector, "/sets/tt/2025", {}).status_code == 200
        assert _get(inspector, "/query/parcelTimeSeries", {**Q, "pid": "A"}).status_code == 200
        units = get_json(api, "/sets/tt/2025/qa/units", sample=sample)["units"]
        assert [u["pid"] for u in units] == ["A", "B"] and not any("colour" in u for u in units)


def test_inspected_parcel_is_revealed_and_the_set_once_all_are(api: Server, sample: int) -> None:
    me = get_json(api, "/me")["qa_inspections"]
    assert {"aoi": "tt", "year": 2025, "ptype": "", "sample_id": sample, "conditions": ["mown_once"],
            "n_units": 2, "n_open": 2} in me
    _inspect(api, sample, "A")
    with api.client("consumer") as inspector:
        r = _get(inspector, "/parcels/decisions", {**Q, "pid": "A"})
        assert r.status_code == 200 and r.json()["colour"] == "red"  # inspected: its decision shows
        assert _get(inspector, "/parcels/decisions", {**Q, "pid": "B"}).status_code == 403
        r = _get(inspector, "/sets/tt/2025/queue", {})
        assert r.status_code == 403 and "(1 units not inspected yet)" in r.json()["detail"]
        _inspect(api, sample, "B")
        for path, params in SET_ROUTES:
            assert _get(inspector, path, params).status_code == 200, path
        assert _get(inspector, "/parcels/decisions", {**Q, "pid": "B"}).json()["colour"] == "green"
    assert next(s for s in get_json(api, "/me")["qa_inspections"] if s["sample_id"] == sample)["n_open"] == 0


def test_only_inspectors_record_and_assignments_are_checked(api: Server, sample: int) -> None:
    body = {"sample_id": sample, "pid": "A", "condition": "mown_once", "truth": "compliant",
            "method": "field_visit", "inspected_on": "2025-07-01"}
    for who in ("analyst", "admin"):  # granted (admin: everywhere) but not assigned
        with api.client(who) as c:
            r = c.post("/sets/tt/2025/qa/inspections", json=body)
        assert r.status_code == 403
        assert f"{who} is not an inspector of QA sample {sample}" in r.json()["detail"]
    with connect(api.settings) as conn:
        with pytest.raises(InvalidInput, match="'outsider' cannot read AOI 'tt'"):
            inspectors.assign(conn, KEY, sample, ["outsider", "analyst"])
        with pytest.raises(NotFound, match="no active user 'nobody'"):
            inspectors.assign(conn, KEY, sample, ["nobody"])
        with pytest.raises(NotFound, match="no QA sample"):
            inspectors.assign(conn, ParcelSetKey("zz", 2025), sample, ["consumer"])
        added = inspectors.assign(conn, KEY, sample, ["admin", "consumer"])
        assert (added["changed"], added["inspectors"]) == (1, ["admin", "consumer"])
        assert added["reach_decisions"] == ["admin"]  # the CLI warns: blind only in the API for them
        assert inspectors.assign(conn, KEY, sample, ["admin"], remove=True)["inspectors"] == ["consumer"]
    assert get_json(api, "/sets/tt/2025/qa/units", sample=sample)["inspected"] == 0  # nothing stored


def test_landing_page_links_the_inspector_to_the_sample(api: Server, sample: int) -> None:
    from cbm_widgets.client import CbmClient
    from cbm_widgets.nav import set_index

    page = set_index(CbmClient(api.url, "consumer", PASSWORDS["consumer"])).value
    assert f'href="qa_inspection.ipynb?aoi=tt&amp;year=2025&amp;sample={sample}"' in page
    assert f"QA inspection (sample {sample}: 2 of 2 to inspect)" in page
    assert "qa_inspection" not in set_index(CbmClient(api.url, "analyst", PASSWORDS["analyst"])).value
