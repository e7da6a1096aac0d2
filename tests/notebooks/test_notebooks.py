"""The analyst notebooks run end to end (papermill) on a small SYNTHETIC demo area, and say the right things.

Each notebook gets its parameters (AOI, year, parcel, API address and user, test database) and
writes its key results to a JSON file; the checks compare them with SQL and direct computations.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import nbformat
import pytest
from nbtools import ANALYST, AOI, NOTEBOOKS, YEAR, Area, execute, outputs_text
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

from backend.analysis import with_thresholds
from backend.db import connect
from backend.db import queries_markers as q
from backend.demo.pipeline import DEMO_CATALOGUE
from backend.errors import InvalidInput, NotFound
from backend.markers import evaluate, load_catalogue
from backend.markers.reviews import record_review, review_queue
from backend.markers.scoring import score_events
from backend.markers.series import S2_BANDS
from backend.parcels.sets import ParcelSetKey, resolve_set

pytestmark = pytest.mark.slow


@pytest.fixture()
def common(area: Area, api_url: str) -> dict[str, object]:
    return {"aoi": AOI, "year": YEAR, "api_url": api_url, "api_user": ANALYST,
            "database_url": area.database_url}


def _doy(iso: str) -> int:
    return (date.fromisoformat(iso) - date(YEAR, 1, 1)).days


def _one(area: Area, sql: str, *args: object) -> dict:
    with connect(area.settings) as conn:
        row = conn.execute(sql, args).fetchone()
    assert row is not None
    return row


def test_01_getting_started(area: Area, common: dict, tmp_path: Path) -> None:
    res, nb = execute("01_getting_started", tmp_path, pid="P000003", **common)
    p = _one(area, "SELECT p.cropcode, p.cropname, (SELECT count(*) FROM signatures s JOIN images i "
             "ON i.id = s.image_id AND i.kind = 's2' WHERE s.set_id = p.set_id AND s.parcel_id = p.id) AS n "
             "FROM parcels p WHERE p.pid = 'P000003'")
    assert (res["pid"], res["found_pid"]) == ("P000003", "P000003")
    assert (res["cropcode"], res["cropname"]) == (p["cropcode"], p["cropname"])
    assert res["n_observations"] == p["n"] > 0 and res["error"] == ""
    assert res["user"] == ANALYST and [s["aoi"] for s in res["sets"]] == [AOI]
    assert "SYNTHETIC" in "".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "P000003" in outputs_text(nb)


def test_02_parcel_signatures(area: Area, common: dict, tmp_path: Path) -> None:
    res, _ = execute("02_parcel_signatures", tmp_path, pid="P000003", max_peers=5, export_dir="out", **common)
    with connect(area.settings) as conn:
        crop = {r["pid"]: r["cropcode"] for r in conn.execute("SELECT pid, cropcode FROM parcels")}
        n = {r["kind"]: r["n"] for r in conn.execute(
            "SELECT i.kind, count(*) AS n FROM signatures s JOIN images i ON i.id = s.image_id "
            "JOIN parcels p ON p.set_id = s.set_id AND p.id = s.parcel_id WHERE p.pid = 'P000003' "
            "GROUP BY 1")}
    peers = [p["pid"] for p in res["peers"]]
    assert 0 < len(peers) <= 5 and "P000003" not in peers and res["n_peers_panel"] == len(peers)
    assert {p["crop"] for p in res["peers"]} == {crop[p] for p in peers} == {crop["P000003"]}
    assert (res["n_s2"], res["n_s1"]) == (n["s2"], n["bs"]) and 0 < res["n_cloudy"] < res["n_s2"]
    assert res["csv_rows"] == n["s2"] * len(S2_BANDS) and res["gpkg_pid"] == "P000003"
    assert res["panel_error"] == ""
    assert all(Path(f).is_file() and Path(f).parent == tmp_path / "out" for f in res["files"].values())


def test_03_area_overview(area: Area, common: dict, tmp_path: Path) -> None:
    res, _ = execute("03_area_overview", tmp_path, stat="s2_clear", **common)
    with connect(area.settings) as conn:
        crops = {r["cropcode"]: r["n"] for r in conn.execute(
            "SELECT coalesce(cropcode, '') AS cropcode, count(*) AS n FROM parcels GROUP BY 1")}
        obs = {r["kind"]: r["n"] for r in conn.execute(
            "SELECT i.kind, count(*) AS n FROM signatures s JOIN images i ON i.id = s.image_id GROUP BY 1")}
        usable = conn.execute("SELECT count(*) AS n FROM signatures s JOIN images i ON i.id = s.image_id "
                              "WHERE i.kind = 's2' AND s.valid_frac >= %s",
                              (res["min_valid"],)).fetchone()["n"]
        jobs = {r["status"]: r["n"] for r in conn.execute(
            "SELECT status, count(*) AS n FROM extraction_jobs GROUP BY 1")}
        colours = {r["colour"]: r["n"] for r in conn.execute(
            "SELECT colour, count(*) AS n FROM decisions WHERE run_id = %s GROUP BY 1", (area.run_id,))}
        clear = {r["pid"]: r["n"] for r in conn.execute(
            "SELECT p.pid, count(s.image_id) FILTER (WHERE i.kind = 's2' AND s.valid_frac >= %s) AS n "
            "FROM parcels p LEFT JOIN signatures s ON s.parcel_id = p.id "
            "LEFT JOIN images i ON i.id = s.image_id "
            "GROUP BY p.pid", (res["min_valid"],))}
    n_parcels = sum(crops.values())
    assert res["n_parcels"] == res["n_features"] == n_parcels == 43
    assert res["crops"] == res["summary_crops"] == crops
    assert res["observations"] == obs and obs["s2"] > 0 and res["s2_usable"] == usable
    assert res["jobs"] == jobs == {"done": 120} and res["decisions"] == colours
    assert res["stat_by_pid"] == clear


def test_04_marker_lab(area: Area, common: dict, tmp_path: Path) -> None:
    thresholds = {"s1_drop_db": 2.5, "s2_only_drop": 0.2}
    res, _ = execute("04_marker_lab", tmp_path, marker="mowing", thresholds=thresholds, sample_size=30,
                     seed=3, ground_truth=str(area.ground_truth), **common)
    pids = res["pids"]
    assert len(pids) == len(set(pids)) == 30
    truth = {p["pid"]: p for p in json.loads(area.ground_truth.read_text())["parcels"]}
    scored = [p for p in pids if p in truth]  # repaired broken rows have no ground truth
    true_days = {p: [_doy(e["date"]) for e in truth[p]["events"] if e["type"] == "mowing"] for p in scored}
    cat = load_catalogue(DEMO_CATALOGUE)
    with connect(area.settings) as conn:  # default thresholds: the stored run of the whole set
        stored = [r for r in q.run_results(conn, area.run_id) if r["marker"] == "mowing"]
        before = {(d["pid"], d["condition"]): d["colour"] for d in q.run_decisions(conn, area.run_id)}
        params = with_thresholds("mowing", thresholds)
        set_id = resolve_set(conn, ParcelSetKey(AOI, YEAR))["id"]
        markers, decisions, parcels = evaluate(conn, set_id, YEAR, cat, params)
    detected: dict[str, list[int]] = {p: [] for p in scored}
    for r in stored:
        if r["pid"] in detected:
            detected[r["pid"]].append(r["day"])
    default = score_events(detected, true_days, 6)
    row_of = {p["pid"]: i for i, p in enumerate(parcels)}
    changed = score_events({p: [e.day for e in markers.of("mowing", row_of[p])] for p in scored},
                           true_days, 6)
    for name, s in (("default", default), ("changed", changed)):
        got = res["scores"][name]
        assert (got["tp"], got["fp"], got["fn"]) == (s.tp, s.fp, s.fn)
        assert (got["precision"], got["recall"]) == pytest.approx((s.precision, s.recall))
    assert default.tp > 0 and (changed.tp, changed.fp) != (default.tp, default.fp)
    pid_of = {p["id"]: p["pid"] for p in parcels}
    after = {(pid_of[d.parcel_id], d.condition): d.colour for d in decisions}
    rows = res["changes"]
    expected = {(p, "grassland_mown") for p in pids if (p, "grassland_mown") in before}
    assert {(r["pid"], r["condition"]) for r in rows} == expected and rows
    for r in rows:
        key = (r["pid"], r["condition"])
        assert (r["before"], r["after"], r["changed"]) == (before[key], after[key], before[key] != after[key])


def test_05_decision_review(area: Area, common: dict, tmp_path: Path) -> None:
    res, _ = execute("05_decision_review", tmp_path, page=1, page_size=3, item=1, verdict="disagree",
                     comment="mown in July, see chip 2025-07-14", **common)
    with connect(area.settings) as conn:
        queue = conn.execute(
            "SELECT p.pid, d.condition, d.colour FROM decisions d JOIN parcels p ON p.id = d.parcel_id "
            "WHERE d.run_id = %s AND d.colour IN ('red', 'yellow') "
            "ORDER BY (d.colour = 'red') DESC, p.pid, d.condition", (area.run_id,)).fetchall()
        stored = conn.execute("SELECT r.*, p.pid FROM reviews r JOIN parcels p ON p.id = r.parcel_id "
                              "WHERE r.id = %s", (res["saved"]["id"],)).fetchone()
    assert res["total"] == len(queue) and res["page"] == [dict(r) for r in queue[3:6]]
    assert (res["pid"], res["condition"], res["colour"]) == tuple(queue[4].values())
    assert res["n_chips"] > 0 and res["gallery_error"] == ""
    assert stored["run_id"] == area.run_id
    assert (stored["pid"], stored["condition"]) == (res["pid"], res["condition"])
    assert (stored["verdict"], stored["reviewer"], stored["comment"]) == (
        "disagree", ANALYST, "mown in July, see chip 2025-07-14")
    assert abs((datetime.now(UTC) - stored["reviewed_at"]).total_seconds()) < 120
    assert res["n_reviews"] >= 1


def test_nbval_lax_runs_every_notebook(area: Area, common: dict, tmp_path: Path) -> None:
    """``pytest --nbval-lax`` on the notebooks with the test parameters injected (as papermill would)."""
    for path in sorted(NOTEBOOKS.glob("0*.ipynb")):
        nb = parameterize_notebook(load_notebook_node(str(path)),
                                   {**common, "ground_truth": str(area.ground_truth)} if "04" in path.name
                                   else common)
        nbformat.write(nb, tmp_path / path.name)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "-q", "-p", "no:cacheprovider",
                          "-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path), str(tmp_path)],
                         capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:]
    passed = re.search(r"\b(\d+) passed", run.stdout)
    assert passed and int(passed.group(1)) == sum(  # every code cell ran (nbval: one item per cell)
        c.cell_type == "code" for p in tmp_path.glob("0*.ipynb") for c in nbformat.read(p, 4).cells)


def test_review_service_refuses_bad_input_and_keeps_history(area: Area) -> None:
    queue = review_queue(area.settings, aoi=AOI, year=YEAR, colours=("red",), limit=1)
    pid, cond = queue.loc[0, "pid"], queue.loc[0, "condition"]
    kw = {"aoi": AOI, "year": YEAR, "pid": pid, "condition": cond}
    with pytest.raises(InvalidInput, match="verdict"):
        record_review(area.settings, verdict="maybe", reviewer="ann", **kw)
    with pytest.raises(InvalidInput, match="reviewer"):
        record_review(area.settings, verdict="agree", reviewer=" ", **kw)
    with pytest.raises(NotFound, match="no decision"):
        record_review(area.settings, verdict="agree", reviewer="ann", **{**kw, "condition": "nope"})
    first = record_review(area.settings, verdict="unsure", reviewer="ann", **kw)
    second = record_review(area.settings, verdict="agree", reviewer="ann", comment="checked chips", **kw)
    assert second.id > first.id and second.colour == "red"
    again = review_queue(area.settings, aoi=AOI, year=YEAR, colours=("red",), limit=1)
    assert (again.loc[0, "verdict"], again.loc[0, "reviewer"]) == ("agree", "ann")
    assert again.attrs["total"] == queue.attrs["total"] > 0
