"""Access matrix built from ``app.routes``: a route without a rule here fails the suite.

For each route and method: no credentials -> 401 (except public routes); a role below the rule's
-> 403; a user without a grant on the AOI -> 403 with the same message whether the AOI exists
or not; the allowed roles -> neither 401 nor 403.
"""

from __future__ import annotations

import pytest
from apitools import Server, lonlat

from backend.api.app import create_app, iter_routes

LON, LAT = lonlat("A")
SET = {"aoi": "tt", "year": 2025}
TS = {**SET, "pid": "A"}
LOC = {"lon": LON, "lat": LAT, "start_date": "2025-06-01", "end_date": "2025-06-30"}
# path -> (who may call it: public | consumer | analyst | admin | signed, AOI-scoped?, example query)
RULES: dict[str, tuple[str, bool, dict]] = {
    "/openapi.json": ("public", False, {}),
    "/docs": ("public", False, {}),
    "/docs/oauth2-redirect": ("public", False, {}),
    "/redoc": ("public", False, {}),
    "/health": ("public", False, {}),
    "/files/{token}/{name}": ("signed", False, {}),
    "/query/info": ("consumer", False, {}),
    "/me": ("consumer", False, {}),
    "/sets": ("consumer", False, {}),
    "/query/parcelByLocation": ("consumer", True, {**SET, "lon": LON, "lat": LAT}),
    "/query/parcelByID": ("consumer", True, TS),
    "/query/parcelsByPolygon": ("consumer", True, {**SET, "polygon": f"{LON} {LAT}, {LON + 1e-4} {LAT}, "
                                                                       f"{LON} {LAT + 1e-4}"}),
    "/query/parcelPeers": ("consumer", True, TS),
    "/query/parcelTimeSeries": ("consumer", True, TS),
    "/query/weatherTimeSeries": ("consumer", True, TS),
    "/parcels/markers": ("consumer", True, TS),
    "/parcels/decisions": ("consumer", True, TS),
    "/parcels/timeseries.csv": ("consumer", True, TS),
    "/parcels/timeseries.gpkg": ("consumer", True, TS),
    "/sets/{aoi}/{year}": ("consumer", True, {}),
    "/tiles/{aoi}/{year}/{z}/{x}/{y}.mvt": ("consumer", True, {}),
    "/sets/{aoi}/{year}/jobs": ("analyst", True, {}),
    "/sets/{aoi}/{year}/decisions": ("consumer", True, {}),
    # reviews (routes/reviews.py): any granted user reads and reviews (POST without a body: 422)
    "/sets/{aoi}/{year}/reviews": ("consumer", True, {"pid": "A"}),
    "/sets/{aoi}/{year}/queue": ("consumer", True, {}),
    "/sets/{aoi}/{year}/queue/neighbours": ("consumer", True, {"pid": "A"}),
    "/sets/{aoi}/{year}/decisions.csv": ("consumer", True, {}),
    "/sets/{aoi}/{year}/decisions.gpkg": ("consumer", True, {}),
    "/parcels/evidence.html": ("consumer", True, TS),
    "/parcels/chips": ("consumer", True, {**TS, "start_date": "2025-06-01", "end_date": "2025-06-30",
                                          "chipsize": 32}),
    # photos (routes/photos.py): the upload's AOI is a form field (checked in the service, tested in
    # tests/api/test_photos_api.py); POST without a file: 422
    "/photos": ("consumer", False, {}),
    "/sets/{aoi}/{year}/photos": ("consumer", True, {"pid": "A"}),
    "/photos/files/{token}/{name}": ("signed", False, {}),
    # quality assessment (routes/qa.py): any granted user reads and inspects (sample 1 may not exist:
    # 404; POST without a body: 422)
    "/sets/{aoi}/{year}/qa/samples": ("consumer", True, {}),
    "/sets/{aoi}/{year}/qa/units": ("consumer", True, {"sample": 1}),
    "/sets/{aoi}/{year}/qa/inspections": ("consumer", True, {}),
    "/sets/{aoi}/{year}/qa/estimates": ("consumer", True, {"sample": 1}),
    # an inspection's evidence: readers of the set read, who recorded it attaches (inspection 1 may
    # not exist: 404; POST without a file: 422)
    "/sets/{aoi}/{year}/qa/inspections/{inspection_id}/attachments": ("consumer", True, {}),
    "/sets/{aoi}/{year}/qa/inspections/{inspection_id}/attachments/{attachment_id}": ("consumer", True, {}),
    "/sets/{aoi}/{year}/qa/report.html": ("consumer", True, {"sample": 1}),
    "/sets/{aoi}/{year}/qa/report.pdf": ("consumer", True, {"sample": 1}),
    "/catalogue/summary": ("analyst", False, {}),
    "/batch/runs": ("analyst", False, {}),
    "/batch/runs/{run_id}": ("analyst", False, {}),
    "/admin/users": ("admin", False, {}),
    # chips (routes/chips.py): AOI checked from the location
    "/query/chipsByLocation": ("consumer", False, {**LOC, "chipsize": 32}),
    "/query/rawChipByLocation": ("analyst", False, {**LOC, "band": "B04", "chipsize": 32}),
    "/query/rawChipsBatch": ("analyst", False, {**LOC, "band": "B04", "chipsize": 32}),
    "/query/rawS1ChipsBatch": ("analyst", False, {**LOC, "band": "VV", "chipsize": 32}),
    "/query/backgroundByLocation": ("consumer", False, {"lon": LON, "lat": LAT, "chipsize": 32,
                                                         "extend": 100}),
    # chips by parcel: AOI checked from the set (aoi, year)
    "/query/rawChipByParcelID": ("analyst", True, {**TS, "start_date": "2025-06-01", "end_date": "2025-06-30",
                                                   "band": "B04", "chipsize": 320}),
    "/query/backgroundByParcelID": ("consumer", True, {**TS, "chipsize": 32, "extend": 100, "tms": "s2"}),
}
ROLES = ("consumer", "analyst", "admin")


def _url(path: str, aoi: str = "tt") -> str:
    return (path.replace("{aoi}", aoi).replace("{year}", "2025").replace("{z}", "16")
            .replace("{x}", "33000").replace("{y}", "21000").replace("{run_id}", "run-tt")
            .replace("{token}", "x" * 40).replace("{name}", "chip.png").replace("{inspection_id}", "1")
            .replace("{attachment_id}", "1"))


def _routes() -> list[tuple[str, str]]:
    from backend.settings import load_settings

    return iter_routes(create_app(load_settings(demo_mode=True)))


def test_every_route_has_an_access_rule() -> None:
    missing = sorted({p for _, p in _routes()} - set(RULES))
    assert not missing, f"routes without an access rule in tests/api/test_access.py: {missing}"


@pytest.mark.parametrize(("method", "path"), _routes())
def test_access_matrix(api: Server, method: str, path: str) -> None:
    rule, aoi_scoped, params = RULES[path]
    anonymous = api.client(None).request(method, _url(path), params=params)
    if rule == "public":
        assert anonymous.status_code == 200, anonymous.text
        return
    if rule == "signed":
        assert anonymous.status_code in (403, 404) and "token" not in anonymous.text.lower()
        return
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Basic")
    rank = ROLES.index(rule)
    for who in ROLES:
        r = api.client(who).request(method, _url(path), params=params)
        if ROLES.index(who) < rank:
            assert r.status_code == 403, (who, r.status_code, r.text)
        else:
            assert r.status_code not in (401, 403) and r.status_code < 500, (who, r.status_code, r.text)
    if aoi_scoped:
        _check_no_leak(api, method, path, params)


def _check_no_leak(api: Server, method: str, path: str, params: dict) -> None:
    """A user without the grant gets the same 403 for an existing and a missing AOI."""
    answers = []
    for aoi in ("tt", "qq"):
        p = {**params, "aoi": aoi} if "aoi" in params else params
        r = api.client("outsider").request(method, _url(path, aoi), params=p)
        assert r.status_code == 403, r.text
        answers.append(r.json()["detail"].replace(aoi, "<aoi>"))
    assert answers[0] == answers[1]
