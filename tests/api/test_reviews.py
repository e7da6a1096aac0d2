"""Reviews as data through the real API: verdicts, history, rights, the queue and the exports (issue 21).

The tiny area (``apitools``) has decisions for condition ``mown_once``: A red, B green. Tests here
append reviews to the session database; each test uses its own parcel or checks only what it adds.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pyogrio
from apitools import Server, get_json

from backend.db import connect

REVIEWS = "/sets/tt/2025/reviews"
SET = {"aoi": "tt", "year": 2025}


def _post(api: Server, body: dict, who: str = "consumer", path: str = REVIEWS) -> tuple[int, dict]:
    with api.client(who) as c:
        r = c.post(path, json=body)
    return r.status_code, r.json()


def test_override_needs_colour_and_reason(api: Server) -> None:
    base = {"pid": "A", "condition": "mown_once", "verdict": "override"}
    before = len(get_json(api, REVIEWS, pid="A")["history"])
    for body, words in (({**base, "colour": "green"}, "reason"), ({**base, "colour": "green", "reason": "  "},
                                                                  "reason"),
                        ({**base, "reason": "mown on 3 July, seen in the field"}, "colour"),
                        ({**base, "verdict": "confirm", "colour": "red"}, "only for an override"),
                        ({**base, "verdict": "maybe"}, "verdict"),
                        ({**base, "colour": "yellow", "reason": "x" * 10}, "colour")):
        status, answer = _post(api, body)
        assert status == 422, (body, answer)
        assert words in str(answer["detail"]), (body, answer)
    assert len(get_json(api, REVIEWS, pid="A")["history"]) == before  # nothing stored


def test_review_kept_beside_the_decision_with_history(api: Server) -> None:
    reason = "mowing on 2025-07-03 visible in the S1 coherence"
    status, first = _post(api, {"pid": "A", "condition": "mown_once", "verdict": "override",
                                "colour": "green", "reason": reason, "comment": "photo requested"})
    assert status == 201, first
    assert (first["decision_colour"], first["verdict"], first["colour"], first["reviewer"]) == (
        "red", "override", "green", "consumer")
    status, second = _post(api, {"pid": "A", "condition": "mown_once", "verdict": "field_visit"},
                           who="analyst")
    assert status == 201, second
    hist = get_json(api, REVIEWS, pid="A")
    mine = [h for h in hist["history"] if h["id"] in (first["id"], second["id"])]
    assert [h["verdict"] for h in mine] == ["field_visit", "override"]  # newest first, both kept
    assert mine[1]["reason"] == reason and mine[1]["comment"] == "photo requested"
    assert hist["latest"]["mown_once"]["id"] == second["id"]
    assert hist["latest"]["mown_once"]["reviewer"] == "analyst"
    # the automatic decision is untouched
    d = get_json(api, "/parcels/decisions", **SET, pid="A")
    assert d["colour"] == "red" and d["decisions"][0]["colour"] == "red"


def test_unknown_parcel_condition_or_set_is_404(api: Server) -> None:
    assert _post(api, {"pid": "nope", "condition": "mown_once", "verdict": "confirm"})[0] == 404
    status, answer = _post(api, {"pid": "C", "condition": "mown_once", "verdict": "confirm"})
    assert status == 404 and "no decision" in answer["detail"]
    assert _post(api, {"pid": "A", "condition": "other", "verdict": "confirm"})[0] == 404
    status, answer = _post(api, {"pid": "A", "condition": "mown_once", "verdict": "confirm"}, who="admin",
                           path="/sets/tt/2024/reviews")
    assert status == 404, answer


def test_no_grant_no_read_no_review(api: Server) -> None:
    body = {"pid": "B", "condition": "mown_once", "verdict": "confirm"}
    status, answer = _post(api, body, who="outsider")
    assert status == 403 and "no access" in answer["detail"]
    with api.client("outsider") as c:
        for path, params in ((REVIEWS, {"pid": "B"}), ("/sets/tt/2025/queue", {}),
                             ("/sets/tt/2025/decisions.csv", {}),
                             ("/parcels/evidence.html", {**SET, "pid": "B"})):
            r = c.get(path, params=params)
            assert r.status_code == 403, (path, r.text)
    with connect(api.settings) as conn:
        n = conn.execute("SELECT count(*) AS n FROM reviews WHERE reviewer = 'outsider'").fetchone()["n"]
    assert n == 0
    status, _ = _post(api, body, who="admin")  # admins review everywhere
    assert status == 201


def test_queue_one_row_per_parcel_sorted_filtered_and_neighbours(api: Server) -> None:
    q = get_json(api, "/sets/tt/2025/queue")
    assert q["total"] == 2 and [(r["pid"], r["colour"]) for r in q["rows"]] == [("A", "red"), ("B", "green")]
    assert q["rows"][0]["conditions"] == {"mown_once": "red"} and q["rows"][0]["cropname"] == "Wheat"
    assert [r["pid"] for r in get_json(api, "/sets/tt/2025/queue", sort="colour", order="desc")["rows"]] == [
        "B", "A"]
    assert get_json(api, "/sets/tt/2025/queue", crop="hea")["total"] == 2  # name substring, any case
    assert get_json(api, "/sets/tt/2025/queue", crop="maize")["total"] == 0
    assert [r["pid"] for r in get_json(api, "/sets/tt/2025/queue", colour="green")["rows"]] == ["B"]
    assert get_json(api, "/sets/tt/2025/queue", condition="mown_once", colour="red")["total"] == 1
    assert get_json(api, "/sets/tt/2025/queue", condition="other")["total"] == 0
    shapes = get_json(api, "/sets/tt/2025/queue", geometry="true")["rows"]
    assert [r["geometry"]["type"] for r in shapes] == ["MultiPolygon", "MultiPolygon"]  # as stored
    assert "geometry" not in q["rows"][0]
    page2 = get_json(api, "/sets/tt/2025/queue", offset=1, limit=1)
    assert [r["pid"] for r in page2["rows"]] == ["B"] and page2["total"] == 2
    n = get_json(api, "/sets/tt/2025/queue/neighbours", pid="A")
    assert (n["previous"], n["next"], n["position"]) == (None, "B", 0)
    n = get_json(api, "/sets/tt/2025/queue/neighbours", pid="B", sort="area", order="desc")
    area = {r["pid"]: r["area_ha"] for r in q["rows"]}
    assert area["A"] > area["B"] and (n["previous"], n["next"], n["position"]) == ("A", None, 1)
    with api.client() as c:
        assert c.get("/sets/tt/2025/queue", params={"sort": "colour; DROP"}).status_code == 422
        assert c.get("/sets/tt/2025/queue/neighbours", params={"pid": "C"}).status_code == 404


def test_queue_follows_reviews(api: Server) -> None:
    assert _post(api, {"pid": "B", "condition": "mown_once", "verdict": "confirm"})[0] == 201
    reviewed = get_json(api, "/sets/tt/2025/queue", reviewed="true")
    assert "B" in [r["pid"] for r in reviewed["rows"]]
    b = next(r for r in reviewed["rows"] if r["pid"] == "B")
    assert b["reviewed"] is True and b["verdict"] is not None
    not_reviewed = get_json(api, "/sets/tt/2025/queue", reviewed="false")
    assert "B" not in [r["pid"] for r in not_reviewed["rows"]]


def test_exports_carry_reviews_and_names(api: Server, tmp_path: Path) -> None:
    reason = "grass cut late, seen on the orthophoto"
    assert _post(api, {"pid": "A", "condition": "mown_once", "verdict": "override", "colour": "green",
                       "reason": reason})[0] == 201
    with api.client() as c:
        r = c.get("/sets/tt/2025/decisions.csv", params={"pid": "A"})
        g = c.get("/sets/tt/2025/decisions.gpkg")
        h = c.get("/parcels/evidence.html", params={**SET, "pid": "A", "download": "true"})
    assert r.status_code == 200 and 'filename="tt_2025_A_decisions.csv"' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["pid"], x["decision_colour"], x["verdict"], x["override_colour"], x["review_reason"],
             x["final_colour"]) for x in rows] == [("A", "red", "override", "green", reason, "green")]
    assert g.status_code == 200 and 'filename="tt_2025_decisions.gpkg"' in g.headers["content-disposition"]
    (tmp_path / "d.gpkg").write_bytes(g.content)
    frame = pyogrio.read_dataframe(tmp_path / "d.gpkg", layer="decisions")
    assert sorted(frame["pid"]) == ["A", "B"] and frame.crs.to_epsg() == 4326
    assert frame.set_index("pid").loc["A", "final_colour"] == "green"
    assert frame.to_crs(3857).geometry.area.min() > 1000
    assert h.status_code == 200 and 'filename="tt_2025_A_evidence.html"' in h.headers["content-disposition"]
    assert reason in h.text and "<svg" in h.text and "Wheat" in h.text
