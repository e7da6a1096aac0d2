"""Extraction end to end: real parcels import, real catalogue, real COGs, real database.

A tiny S2 scene (10 m 64x64 and 20 m 32x32 grids) and an S1 scene; parcels are rectangles on
pixel boundaries so the expected statistics are computed here directly with numpy.
"""

from __future__ import annotations

import threading
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from gridtools import CRS, rect, write_cog

from backend.catalogue import add_source
from backend.db import connect
from backend.extraction import jobs
from backend.extraction.service import extract
from backend.parcels import import_parcels
from backend.settings import Settings

S2_DATE = "20250601T103031"
S1_DATE = "20250603T055012"
# pid -> (col0, row0, col1, row1) in 10 m pixels (exclusive end)
PARCELS = {"A": (2, 2, 12, 10), "B": (20, 4, 30, 14), "C": (40, 40, 50, 60), "D": (60, 60, 70, 70)}


@pytest.fixture()
def scene(tmp_path: Path) -> dict:
    rng = np.random.default_rng(7)
    s2 = {b: rng.integers(100, 5000, (64, 64), dtype=np.uint16) for b in ("B02", "B03", "B04", "B08")}
    s2 |= {b: rng.integers(100, 5000, (32, 32), dtype=np.uint16) for b in ("B05", "B11")}
    scl = np.full((32, 32), 4, np.uint8)
    scl[2:7, 10:15] = 9  # parcel B (cols 20..30, rows 4..14 at 10 m) fully under cloud
    scl[20, 20] = 3  # one shadow pixel in parcel C (10 m cols 40..50, rows 40..60)
    s2["SCL"] = scl
    item = tmp_path / "cogs" / f"S2A_MSIL2A_{S2_DATE}_R008_T31UFU"
    for band, arr in s2.items():
        write_cog(item / f"{band}.tif", arr, 10 if arr.shape == (64, 64) else 20,
               None if band == "SCL" else 0)
    s1 = {b: rng.random((64, 64), dtype=np.float32) for b in ("VV", "VH")}
    s1_item = tmp_path / "cogs" / f"S1A_IW_GRDH_{S1_DATE}_DEMO"
    for band, arr in s1.items():
        write_cog(s1_item / f"{band}.tif", arr, 10)
    parcels = gpd.GeoDataFrame(
        {"pid": list(PARCELS), "crop_code": ["1"] * len(PARCELS)},
        geometry=[rect(*r) for r in PARCELS.values()], crs=CRS)
    parcels.to_file(tmp_path / "parcels.gpkg")
    return {"s2": s2, "s1": s1, "dir": tmp_path, "cogs": tmp_path / "cogs"}


def _load(settings: Settings, scene: dict) -> None:
    import_parcels(settings, scene["dir"] / "parcels.gpkg", aoi="tt", year=2025)
    result = add_source(settings, str(scene["cogs"]))
    assert result.added == 2 and not result.rejected, result


def _rows(settings: Settings, kind: str) -> dict[str, dict]:
    with connect(settings) as conn:
        rows = conn.execute(
            "SELECT p.pid, s.n_total, s.valid_frac, cbm_hist(s.hist) AS hist, cbm_stats(s.stats) AS stats "
            "FROM signatures s "
            "JOIN parcels p ON p.set_id = s.set_id AND p.id = s.parcel_id "
            "JOIN images i ON i.id = s.image_id WHERE i.kind = %s ORDER BY p.pid", (kind,)).fetchall()
    return {r["pid"]: r for r in rows}


def _expected(values: np.ndarray) -> list[float]:
    v = values.astype(np.float64)
    return [v.size, v.mean(), v.std(), v.min(), v.max(), *np.percentile(v, [25, 50, 75])]


def test_s2_and_s1_statistics_match_numpy(clean_db: Settings, scene: dict) -> None:
    _load(clean_db, scene)
    report = extract(clean_db, aoi="tt", year=2025)
    assert (report.done, report.failed, report.retried) == (2, 0, 0)
    s2 = _rows(clean_db, "s2")
    assert set(s2) == set(PARCELS)
    c0, r0, c1, r1 = PARCELS["A"]
    stats = np.array(s2["A"]["stats"])
    assert stats.shape == (6, 8)
    # bands in images.bands order: B02 B03 B04 B05 B08 B11
    np.testing.assert_allclose(stats[0], _expected(scene["s2"]["B02"][r0:r1, c0:c1]), rtol=1e-5)
    np.testing.assert_allclose(stats[3], _expected(scene["s2"]["B05"][r0 // 2:r1 // 2, c0 // 2:c1 // 2]),
                               rtol=1e-5)
    assert s2["A"]["n_total"] == 80 and s2["A"]["valid_frac"] == 1.0
    assert s2["A"]["hist"][4] == 20  # 5 x 4 pixels at 20 m, all vegetation
    # B is fully clouded: a row with count 0, NaN stats, the cloud in its histogram
    assert s2["B"]["valid_frac"] == 0 and all(b[0] == 0 for b in s2["B"]["stats"])
    assert np.isnan(np.array(s2["B"]["stats"])[:, 1:]).all()
    assert s2["B"]["hist"][9] == 25
    # C has one 20 m shadow pixel = 4 masked 10 m pixels
    assert s2["C"]["stats"][0][0] == 200 - 4 and s2["C"]["hist"][3] == 1
    c = PARCELS["C"]
    b02 = scene["s2"]["B02"][c[1]:c[3], c[0]:c[2]].copy().astype(float)
    b02[0:2, 0:2] = np.nan  # the shadow pixel (20 m row 20, col 20) at the parcel's corner
    np.testing.assert_allclose(s2["C"]["stats"][0], _expected(b02[~np.isnan(b02)]), rtol=1e-5)
    s1 = _rows(clean_db, "bs")
    d = PARCELS["D"]
    assert s1["D"]["hist"] is None
    np.testing.assert_allclose(s1["D"]["stats"][1], _expected(scene["s1"]["VH"][d[1]:d[3], d[0]:d[2]]),
                               rtol=1e-5)


def test_rerun_is_noop_and_force_replaces_without_duplicates(clean_db: Settings, scene: dict) -> None:
    _load(clean_db, scene)
    extract(clean_db, aoi="tt", year=2025)
    before = _rows(clean_db, "s2")
    again = extract(clean_db, aoi="tt", year=2025)
    assert again.done == 0 and again.rows == 0
    forced = extract(clean_db, aoi="tt", year=2025, force=True)
    assert forced.done == 2
    after = _rows(clean_db, "s2")
    assert len(after) == len(before) == 4
    with connect(clean_db) as conn:
        n = conn.execute("SELECT count(*) AS n FROM signatures").fetchone()["n"]
    assert n == 8  # 4 parcels x 2 images, nothing duplicated
    np.testing.assert_array_equal(np.array([after[p]["stats"] for p in PARCELS], dtype=float),
                                  np.array([before[p]["stats"] for p in PARCELS], dtype=float))


def test_corrupt_image_retried_then_failed_others_continue(clean_db: Settings, scene: dict) -> None:
    _load(clean_db, scene)
    (scene["cogs"] / f"S2A_MSIL2A_{S2_DATE}_R008_T31UFU" / "B08.tif").write_bytes(b"II*\x00garbage")
    s = Settings(**{**clean_db.model_dump(), "job_max_attempts": 2, "job_backoff_s": 0})
    first = extract(s, aoi="tt", year=2025)  # no backoff: retried at once, then failed
    assert (first.done, first.retried, first.failed) == (1, 1, 1)
    assert "B08.tif" in first.errors[0][1] and "cannot read" in first.errors[0][1]
    assert extract(s, aoi="tt", year=2025).done == 0  # failed jobs stay failed
    with connect(s) as conn:
        job = conn.execute("SELECT j.status, j.attempts, j.error FROM extraction_jobs j "
                           "JOIN images i ON i.id = j.image_id WHERE i.kind = 's2'").fetchone()
        n_s2 = conn.execute("SELECT count(*) AS n FROM signatures s JOIN images i ON i.id = s.image_id "
                            "WHERE i.kind = 's2'").fetchone()["n"]
    assert job["status"] == "failed" and job["attempts"] == 2 and "B08.tif" in job["error"]
    assert n_s2 == 0  # no partial rows
    assert len(_rows(s, "bs")) == 4


def test_expired_lease_is_reclaimed_and_old_worker_cannot_commit(clean_db: Settings, scene: dict) -> None:
    _load(clean_db, scene)
    with connect(clean_db, autocommit=True) as conn:
        dead = jobs.claim(conn, clean_db, "dead-worker", aoi="tt", year=2025)
        assert dead is not None
        conn.execute("UPDATE extraction_jobs SET lease_until = now() - interval '1 s' WHERE id = %s",
                     (dead.id,))
    report = extract(clean_db, aoi="tt", year=2025)
    assert report.done == 2
    with connect(clean_db) as conn:
        assert not jobs.lock_owned(conn, dead)  # the dead worker's lease is gone
        row = conn.execute("SELECT attempts, worker FROM extraction_jobs WHERE id = %s",
                           (dead.id,)).fetchone()
    assert row["attempts"] == 2 and row["worker"] != "dead-worker"


def test_concurrent_workers_never_duplicate(clean_db: Settings, scene: dict) -> None:
    _load(clean_db, scene)
    reports = []
    threads = [threading.Thread(target=lambda: reports.append(extract(clean_db, aoi="tt", year=2025)))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.done for r in reports) == 2
    with connect(clean_db) as conn:
        n = conn.execute("SELECT count(*) AS n FROM signatures").fetchone()["n"]
    assert n == 8


def test_local_and_s3_give_identical_rows(clean_db: Settings, scene: dict, moto_s3: str,
                                          moto_settings: Settings) -> None:
    import boto3

    _load(clean_db, scene)
    extract(clean_db, aoi="tt", year=2025)
    local = _rows(clean_db, "s2")
    s3 = boto3.client("s3", endpoint_url=f"http://{moto_s3}", aws_access_key_id="test",
                      aws_secret_access_key="test", region_name="us-east-1")
    s3.create_bucket(Bucket="eodata")
    with connect(clean_db) as conn:
        item = conn.execute("SELECT item FROM images WHERE kind = 's2'").fetchone()["item"]
        conn.execute("DELETE FROM images")
    for asset in item["assets"].values():
        key = "s2/" + Path(asset["href"]).name
        s3.upload_file(asset["href"], "eodata", key)
        asset["href"] = f"s3://eodata/{key}"
    item["id"] = item["id"] + "_S3"
    item_file = scene["dir"] / "s3_item.json"
    import json

    item_file.write_text(json.dumps(item))
    s = moto_settings
    assert add_source(s, str(item_file)).added == 1
    assert extract(s, aoi="tt", year=2025).done == 1
    remote = _rows(s, "s2")
    for pid in PARCELS:
        np.testing.assert_array_equal(np.array(remote[pid]["stats"]), np.array(local[pid]["stats"]))
        assert remote[pid]["hist"] == local[pid]["hist"]


def test_missing_asset_file_is_a_clear_job_error(clean_db: Settings, scene: dict) -> None:
    _load(clean_db, scene)
    (scene["cogs"] / f"S1A_IW_GRDH_{S1_DATE}_DEMO" / "VH.tif").unlink()
    s = Settings(**{**clean_db.model_dump(), "job_max_attempts": 1})
    report = extract(s, aoi="tt", year=2025)
    assert (report.done, report.failed) == (1, 1)
    assert "VH.tif" in report.errors[0][1] and "No such file" in report.errors[0][1]
    assert len(_rows(s, "bs")) == 0 and len(_rows(s, "s2")) == 4


def test_image_overlapping_no_parcel_is_done_with_a_note(clean_db: Settings, scene: dict) -> None:
    _load(clean_db, scene)
    with connect(clean_db) as conn:  # move the S1 image's footprint away from every parcel
        conn.execute("UPDATE images SET footprint = ST_Multi(ST_MakeEnvelope(10, 10, 11, 11, 4326)) "
                     "WHERE kind = 'bs'")
    report = extract(clean_db, aoi="tt", year=2025)
    assert report.done == 2 and report.failed == 0
    with connect(clean_db) as conn:
        job = conn.execute("SELECT j.status, j.error, j.n_rows FROM extraction_jobs j JOIN images i "
                           "ON i.id = j.image_id WHERE i.kind = 'bs'").fetchone()
    assert job == {"status": "done", "error": "no parcel of the set lies in this image", "n_rows": 0}


def test_extract_honours_the_sets_ptype(clean_db: Settings, scene: dict) -> None:
    """Two variants of one AOI-year: each extraction takes its own set's jobs; an unknown one is 66."""
    import subprocess
    import sys

    from backend.db import database_url

    _load(clean_db, scene)
    import_parcels(clean_db, scene["dir"] / "parcels.gpkg", aoi="tt", year=2025, ptype="x")
    with connect(clean_db) as conn:
        assert jobs.counts(conn, "tt", 2025) == {"pending": 2}
        assert jobs.counts(conn, "tt", 2025, "x") == {"pending": 2}
    assert extract(clean_db, aoi="tt", year=2025).done == 2
    with connect(clean_db) as conn:
        assert jobs.counts(conn, "tt", 2025, "x") == {"pending": 2}  # the variant's jobs untouched
    env = {"CBM_DATABASE_URL": database_url(clean_db), "PATH": "/usr/bin:/bin"}
    cli = [sys.executable, "-m", "backend", "extract", "--aoi", "tt", "--year", "2025", "--no-progress"]
    done = subprocess.run([*cli, "--ptype", "x"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0 and "2 images done" in done.stdout, done.stderr
    with connect(clean_db) as conn:
        assert jobs.counts(conn, "tt", 2025, "x") == {"done": 2}
        n = conn.execute("SELECT count(DISTINCT set_id) AS n FROM signatures").fetchone()["n"]
    assert n == 2
    unknown = subprocess.run([*cli, "--ptype", "y"], capture_output=True, text=True, env=env, timeout=300)
    assert unknown.returncode == 66 and "no parcel set tt 2025 ptype=y" in unknown.stderr, unknown.stderr
