"""The batch runner end to end: real papermill kernels on a real Dask cluster, real database.

The extraction notebook runs through ``run_batch`` on a tiny scene; its rows are compared with a
direct extraction of an identical parcel set (``dx``) over the same images.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import psutil
import pytest
from batch_scene import N_IMAGES, N_PARCELS, assert_same_rows, jobs, load, signatures
from distributed import LocalCluster

from backend.batch import get_run, list_runs, run_batch
from backend.batch.params import parse_pairs
from backend.batch.watcher import _targets as watched_sets
from backend.db import connect, database_url
from backend.errors import ParcelSetNotFound
from backend.extraction.service import extract
from backend.parcels import import_parcels
from backend.parcels.sets import ParcelSetKey
from backend.settings import PROJECT_ROOT, Settings

NOTEBOOK = PROJECT_ROOT / "notebooks" / "batch" / "extract.ipynb"
ROWS = N_IMAGES * N_PARCELS
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as c:
        yield c


@pytest.fixture()
def area(clean_db: Settings, tmp_path: Path) -> Settings:
    load(clean_db, tmp_path)
    return clean_db


def _cell_text(nb: nbformat.NotebookNode) -> str:
    return json.dumps([c.get("outputs", []) for c in nb.cells]) + "".join(c.source for c in nb.cells)


def test_extract_notebook_matches_direct_extraction(area: Settings, cluster: LocalCluster) -> None:
    events: list[str] = []
    run = run_batch(area, NOTEBOOK, {"aoi": "bt", "year": 2025}, chunks=3,
                    scheduler=cluster.scheduler_address, on_event=events.append)
    assert run.status == "done" and run.rows_written == ROWS
    import dask

    assert dask.config.get("scheduler", None) is None  # the run's client left no process-wide setting
    assert any(e.startswith("Dask dashboard: http") for e in events)
    assert all(j["status"] == "done" and j["attempts"] == 1 for j in jobs(area, "bt"))
    extract(area, aoi="dx", year=2025)
    assert_same_rows(signatures(area, "bt"), signatures(area, "dx"))

    rec = get_run(area, run.id)
    assert (rec.status, rec.n_chunks, rec.rows_written) == ("done", 3, ROWS)
    assert rec.parameters == {"aoi": "bt", "year": 2025} and rec.finished_at is not None
    assert sorted(j for c in rec.chunks for j in c.job_ids) == [j["id"] for j in jobs(area, "bt")]
    for c in rec.chunks:
        assert (c.status, c.attempts, c.rows_written, c.error) == ("done", 1, 2 * N_PARCELS, None)
        nb = nbformat.read(c.output_path, as_version=4)
        assert Path(c.output_path).parent == area.var_dir / "runs" / run.id
        text = _cell_text(nb)
        assert f"run_id = \"{run.id}\"" in text and f"job_ids = {c.job_ids}" in text
        assert "'done': 2" in text and "seconds per job" in text
        assert nb.metadata.papermill.exception is None


def test_failed_chunk_kept_with_traceback_and_retried(area: Settings, cluster: LocalCluster,
                                                      tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("assert chunk != 1, 'chunk 1 is broken'"))
    broken = tmp_path / "broken.ipynb"
    nbformat.write(nb, broken)
    run = run_batch(area, broken, {"aoi": "bt", "year": 2025}, chunks=2, retries=1,
                    scheduler=cluster.scheduler_address)
    assert run.status == "partial"
    failed = get_run(area, run.id).chunks[1]
    assert (failed.status, failed.attempts) == ("failed", 2)
    assert "AssertionError: chunk 1 is broken" in failed.error
    for path in (Path(failed.output_path), Path(failed.output_path).with_suffix(".attempt-1.ipynb")):
        kept = nbformat.read(path, as_version=4)
        assert kept.metadata.papermill.exception is True
        assert "chunk 1 is broken" in _cell_text(kept) and "Traceback" in _cell_text(kept)
    assert all(j["status"] == "done" and j["attempts"] == 1 for j in jobs(area, "bt"))


def _running_kernels(settings: Settings, n: int, timeout: float = 60) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        held = [j["worker"] for j in jobs(settings, "bt") if j["status"] == "running"]
        if len(held) >= n:
            return [int(w.split(":")[-2]) for w in held]
        time.sleep(0.2)
    raise AssertionError("the kernels did not start their jobs")


def test_killed_worker_job_reclaimed_after_lease(area: Settings, tmp_path: Path) -> None:
    s = Settings(**{**area.model_dump(), "job_lease_s": 10, "batch_workers": 2})
    result: dict = {}
    with connect(s) as blocker:  # holds every signature write until the kill is done
        blocker.execute("LOCK TABLE signatures IN SHARE MODE")
        thread = threading.Thread(target=lambda: result.update(run=run_batch(
            s, NOTEBOOK, {"aoi": "bt", "year": 2025}, chunks=2, retries=2)))
        thread.start()
        kernel = _running_kernels(s, 2)[0]
        dask_worker = psutil.Process(kernel).ppid()
        assert dask_worker != os.getpid()
        os.kill(kernel, signal.SIGKILL)
        os.kill(dask_worker, signal.SIGKILL)  # the whole worker is gone, mid-job
        blocker.rollback()
    thread.join(timeout=90)
    assert not thread.is_alive()
    run = result["run"]
    assert run.status == "done" and run.rows_written == ROWS
    bt = jobs(s, "bt")
    assert all(j["status"] == "done" for j in bt)
    assert sorted(j["attempts"] for j in bt) == [1] * (N_IMAGES - 1) + [2]  # only the killed job twice
    extract(s, aoi="dx", year=2025)
    assert_same_rows(signatures(s, "bt"), signatures(s, "dx"))


def test_two_runners_never_process_a_job_twice(area: Settings, cluster: LocalCluster) -> None:
    runs: list = []
    threads = [threading.Thread(target=lambda: runs.append(run_batch(
        area, NOTEBOOK, {"aoi": "bt", "year": 2025}, chunks=3, scheduler=cluster.scheduler_address)))
        for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert [r.status for r in runs] == ["done", "done"]
    assert all(j["status"] == "done" and j["attempts"] == 1 for j in jobs(area, "bt"))
    assert sum(r.rows_written for r in runs) == ROWS  # every job committed by exactly one runner
    with connect(area) as conn:
        n = conn.execute("SELECT count(*) AS n FROM signatures s JOIN parcel_sets ps ON ps.id = s.set_id "
                         "WHERE ps.aoi = 'bt'").fetchone()["n"]
    assert n == ROWS
    assert len(list_runs(area)) == 2
    import dask

    assert dask.config.get("scheduler", None) is None  # overlapping runs left no process-wide setting


def test_overlapping_clients_leave_no_scheduler_setting(clean_db: Settings, cluster: LocalCluster) -> None:
    """Run A opens, run B opens (and finds A's setting), A closes, B closes (two threads, as two
    runners of one process): no setting is left; a setting of the user's own is put back."""
    import dask

    from backend.batch.runner import _dask_client

    steps = [threading.Event() for _ in range(4)]
    seen: list[object] = []

    def run(opened: threading.Event, close_when: threading.Event, closed: threading.Event) -> None:
        with _dask_client(clean_db, cluster.scheduler_address):
            opened.set()
            close_when.wait(60)
        seen.append(dask.config.get("scheduler", None))
        closed.set()

    a_open, b_open, a_closed, b_closed = steps
    ta = threading.Thread(target=run, args=(a_open, b_open, a_closed))
    ta.start()
    a_open.wait(60)
    tb = threading.Thread(target=run, args=(b_open, a_closed, b_closed))
    tb.start()
    ta.join(60)
    tb.join(60)
    assert seen == ["dask.distributed", None]  # B still served it when A closed; nothing after B
    with dask.config.set(scheduler="threads"):
        with _dask_client(clean_db, cluster.scheduler_address):
            pass
        assert dask.config.get("scheduler") == "threads"


def test_run_for_one_variant_touches_no_job_of_the_other(clean_db: Settings, tmp_path: Path,
                                                         cluster: LocalCluster) -> None:
    """Two sets with the same AOI and year, ptype '' and 'b': a run for one leaves the other's jobs alone."""
    load(clean_db, tmp_path, aois=("bt",))
    import_parcels(clean_db, tmp_path / "parcels.gpkg", aoi="bt", year=2025, ptype="b")
    main = jobs(clean_db, "bt")
    assert len(main) == len(jobs(clean_db, "bt", "b")) == N_IMAGES
    assert watched_sets(clean_db, {}, None) == [ParcelSetKey("bt", 2025), ParcelSetKey("bt", 2025, "b")]
    assert watched_sets(clean_db, {"aoi": "bt", "year": 2025}, None) == [ParcelSetKey("bt", 2025)]

    run = run_batch(clean_db, NOTEBOOK, parse_pairs([("aoi", "bt"), ("year", "2025"), ("ptype", "b")]),
                    chunks=2, scheduler=cluster.scheduler_address)
    assert run.status == "done" and run.rows_written == ROWS and "-bt-2025-b-" in run.id
    variant = jobs(clean_db, "bt", "b")
    chunked = sorted(j for c in get_run(clean_db, run.id).chunks for j in c.job_ids)
    assert chunked == [j["id"] for j in variant]
    assert all(j["status"] == "done" and j["worker"].startswith(f"batch:{run.id}:") for j in variant)
    assert jobs(clean_db, "bt") == main  # status, attempts, worker, lease, finish time: untouched
    assert _rows_per_ptype(clean_db) == {"b": ROWS}
    assert watched_sets(clean_db, {"aoi": "bt", "year": 2025, "ptype": "b"}, None) == []

    address = cluster.scheduler_address
    run = run_batch(clean_db, NOTEBOOK, {"aoi": "bt", "year": 2025}, chunks=1, scheduler=address)
    assert run.status == "done" and run.rows_written == ROWS
    assert all(j["status"] == "done" for j in jobs(clean_db, "bt"))
    assert jobs(clean_db, "bt", "b") == variant  # the main set's run left the variant's jobs alone
    assert _rows_per_ptype(clean_db) == {"": ROWS, "b": ROWS}
    with pytest.raises(ParcelSetNotFound, match=r"no parcel set bt 2025 ptype=c: import it .* --ptype c"):
        run_batch(clean_db, NOTEBOOK, {"aoi": "bt", "year": 2025, "ptype": "c"}, scheduler=address)


def _rows_per_ptype(settings: Settings) -> dict[str, int]:
    with connect(settings) as conn:
        return {r["ptype"]: r["n"] for r in conn.execute(
            "SELECT ps.ptype, count(*) AS n FROM signatures s JOIN parcel_sets ps ON ps.id = s.set_id "
            "GROUP BY ps.ptype")}


def _cbm(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CBM_DEMO_MODE": "true", "CBM_DATABASE_URL": database_url(settings),
           "CBM_VAR_DIR": str(settings.var_dir)}
    return subprocess.run([sys.executable, "-m", "backend", *args], capture_output=True, text=True,
                          env=env, timeout=120, check=False, cwd=PROJECT_ROOT)


def test_cli_run_list_show(area: Settings, cluster: LocalCluster) -> None:
    res = _cbm(area, "batch", "run", "notebooks/batch/extract.ipynb", "-p", "aoi", "bt", "-p", "year",
               "2025", "--chunks", "2", "--scheduler", cluster.scheduler_address)
    assert res.returncode == 0, res.stderr
    assert "Dask dashboard: http" in res.stdout and "status:       done" in res.stdout
    run_id = get_run(area, list_runs(area)[0]["id"]).id
    listed = _cbm(area, "batch", "list")
    assert listed.returncode == 0 and run_id in listed.stdout
    assert f"chunks 2/2 (0 failed)  rows {ROWS}  extract.ipynb aoi=bt year=2025" in listed.stdout
    shown = _cbm(area, "batch", "show", run_id)
    assert shown.returncode == 0, shown.stderr
    assert f"rows written: {ROWS}" in shown.stdout and "chunk-001.ipynb" in shown.stdout
    assert "started by:" in shown.stdout and "'aoi': 'bt'" in shown.stdout
    missing = _cbm(area, "batch", "show", "nope")
    assert missing.returncode == 66 and "no batch run 'nope'" in missing.stderr
    bad = _cbm(area, "batch", "run", "notebooks/batch/extract.ipynb", "-p", "yaer", "2025")
    assert bad.returncode == 65 and "no parameter yaer" in bad.stderr


def test_cli_watch_runs_new_work_and_stops_cleanly_on_sigterm(area: Settings, cluster: LocalCluster) -> None:
    env = {**os.environ, "CBM_DEMO_MODE": "true", "CBM_DATABASE_URL": database_url(area),
           "CBM_VAR_DIR": str(area.var_dir)}
    args = ["batch", "watch", "-p", "aoi", "bt", "-p", "year", "2025", "--every", "1",
            "--scheduler", cluster.scheduler_address]
    proc = subprocess.Popen([sys.executable, "-m", "backend", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=PROJECT_ROOT)
    try:
        deadline = time.monotonic() + 60
        while not any(r["status"] == "done" for r in list_runs(area)) and time.monotonic() < deadline \
                and proc.poll() is None:
            time.sleep(0.5)
        time.sleep(1.5)  # at least one more (empty) poll
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "SIGTERM: finishing the running chunks" in out and "watch stopped after 1 runs" in out
    assert [r["status"] for r in list_runs(area)] == ["done"]  # nothing new to do: no second run
    assert all(j["status"] == "done" for j in jobs(area, "bt"))
    assert not any(j["status"] != "pending" for j in jobs(area, "dx"))  # other sets not watched


def test_markers_notebook_one_chunk(area: Settings, cluster: LocalCluster) -> None:
    extract(area, aoi="bt", year=2025)
    run = run_batch(area, PROJECT_ROOT / "notebooks" / "batch" / "markers.ipynb",
                    {"aoi": "bt", "year": 2025}, scheduler=cluster.scheduler_address)
    rec = get_run(area, run.id)
    assert rec.status == "done", rec.chunks[0].error
    assert len(rec.chunks) == 1 and rec.chunks[0].job_ids == []
    text = _cell_text(nbformat.read(rec.chunks[0].output_path, as_version=4))
    assert f"{N_PARCELS} parcels" in text
    with connect(area) as conn:
        row = conn.execute("SELECT started_by FROM marker_runs").fetchone()
    assert row["started_by"] == f"batch:{run.id}"


def test_package_names_stay_the_functions_after_their_modules_load() -> None:
    """``backend.batch.watch`` is the function even once the CLI has imported the watcher module."""
    import importlib

    import backend.batch

    importlib.import_module("backend.batch.watcher")
    importlib.import_module("backend.batch.runner")
    assert callable(backend.batch.watch) and callable(backend.batch.run_batch)
    assert backend.batch.watch.__module__ == "backend.batch.watcher"
