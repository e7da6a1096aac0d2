"""Catalogue inputs, messages and exit codes, composites, tokens, seasons, duplicates (issue 17).

Real items of ../shared/realdata/stac, pointed at small local rasters (tests/realitems.py);
the CLI runs as a real subprocess against the test database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from realitems import localise, parcels_file, real_item, write_raster

from backend import catalogue
from backend.catalogue import add_source
from backend.db import connect, database_url
from backend.parcels import import_parcels
from backend.settings import Settings

ES_KEYS = ("blue", "green", "red", "nir")
S2_KEYS = ("B02", "B03", "B04", "B08")


@pytest.fixture(scope="module")
def tif(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of small single-band GeoTIFFs (see :func:`files`)."""
    folder = tmp_path_factory.mktemp("r")
    for key in ("band", *ES_KEYS, *S2_KEYS, "B05_20m", "B02_10m", "SCL_20m", "rededge1", "nir08",
                "scl", "swir22", "B01", "B8A", "SCL", "vv", "vh", "hh"):
        write_raster(folder / f"{key}.tif", np.full((64, 64), 1500, np.uint16), 10)
    return folder / "band.tif"


def files(tif: Path, keys: tuple[str, ...]) -> dict[str, Path]:
    """Asset key -> its own file (assets sharing one single-band file would be refused)."""
    return {k: tif.parent / f"{k}.tif" for k in keys}


def item(name: str, tif: Path, keys: tuple[str, ...], **props: Any) -> dict[str, Any]:
    doc = localise(real_item(name), files(tif, keys), item_id=props.pop("item_id", None))
    doc["properties"].update(props)
    return doc


def run_cbm(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CBM_DEMO_MODE": "true", "CBM_DATABASE_URL": database_url(settings)}
    return subprocess.run([sys.executable, "-m", "backend", *args], capture_output=True, text=True,
                          env=env, timeout=120, check=False)


def images(settings: Settings) -> list[dict[str, Any]]:
    with connect(settings) as conn:
        return conn.execute("SELECT item_id, item_hash, updated_at FROM images ORDER BY item_id").fetchall()


def jobs(settings: Settings) -> dict[str, str]:
    with connect(settings) as conn:
        rows = conn.execute("SELECT i.item_id, j.status FROM extraction_jobs j "
                            "JOIN images i ON i.id = j.image_id").fetchall()
    return {r["item_id"]: r["status"] for r in rows}


def parcel_set(settings: Settings, tmp_path: Path, year: int = 2025) -> None:
    import_parcels(settings, parcels_file(tmp_path / f"p{year}.gpkg"), aoi="rd", year=year)


GRD_REASON = "Sentinel-1 GRD is not calibrated backscatter: calibrate to backscatter first"


# ---------------------------------------------------------------------- CLI: sources, messages


def test_cli_sources_counts_and_exit_codes(clean_db: Settings, tmp_path: Path, tif: Path) -> None:
    folder = tmp_path / "items"
    folder.mkdir()
    for n in (1, 2):
        doc = item("pc-s2l2a.json", tif, S2_KEYS, item_id=f"pc{n}", datetime=f"2025-06-0{n}T10:00:00Z")
        (folder / f"pc{n}.json").write_text(json.dumps(doc))
    res = run_cbm(clean_db, "catalogue", "add", str(folder))
    assert res.returncode == 0, res.stderr
    assert "planetary-computer-s2: 2 added, 0 updated, 0 unchanged, 0 skipped, 0 rejected" in res.stdout

    grd = localise(real_item("pc-s1grd.json"), files(tif, ("vv", "vh")))
    l1c = item("pc-s2l2a.json", tif, S2_KEYS, item_id="S2B_MSIL1C_20250601T103031_N0511_R008_T33UWP")
    l1c["collection"] = "sentinel-2-l1c"
    cloudy = item("pc-s2l2a.json", tif, S2_KEYS, item_id="pc3", datetime="2025-06-03T10:00:00Z")
    cloudy["properties"]["eo:cloud_cover"] = 80.0
    good = item("pc-s2l2a.json", tif, S2_KEYS, item_id="pc4", datetime="2025-06-04T10:00:00Z")
    ndjson = tmp_path / "items.ndjson"
    ndjson.write_text("\n".join(json.dumps(d) for d in (grd, l1c, cloudy, good)) + "\n")
    res = run_cbm(clean_db, "catalogue", "add", str(ndjson), "--max-cloud", "50")
    assert res.returncode == 4, res.stderr  # partial: some rejected, others added
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("rejected: ")]
    assert len(lines) == 2 and res.stderr.count(grd["id"]) == 1  # one line per rejection
    assert lines[0] == f"rejected: {grd['id']}: {GRD_REASON} (e.g. gamma0 terrain-corrected, such as " \
                       "Planetary Computer sentinel-1-rtc) and catalogue that"
    assert "Sentinel-2 L1C (top-of-atmosphere) is not supported" in lines[1]
    assert "planetary-computer-s2: 1 added, 0 updated, 0 unchanged, 1 skipped, 0 rejected" in res.stdout
    assert "(no profile): 0 added, 0 updated, 0 unchanged, 0 skipped, 2 rejected" in res.stdout

    before = images(clean_db)
    array = tmp_path / "grd.json"
    array.write_text(json.dumps([grd, localise(real_item("es-v1-s1grd.json"), {"hh": tif})]))
    res = run_cbm(clean_db, "catalogue", "add", str(array))
    assert res.returncode == 65 and res.stderr.count("calibrate to backscatter first") == 2
    res = run_cbm(clean_db, "catalogue", "add", str(tif))
    assert res.returncode == 65
    assert "is a raster file, not a STAC document: give the folder that holds it" in res.stderr
    assert images(clean_db) == before  # nothing stored changed


# ---------------------------------------------------------------------- composites, tokens


def test_composite_with_interval_and_null_datetime(clean_db: Settings, tmp_path: Path, tif: Path) -> None:
    doc = item("pc-s2l2a.json", tif, S2_KEYS, item_id="mosaic_2025_06", datetime=None,
               start_datetime="2025-06-01T00:00:00Z", end_datetime="2025-06-30T00:00:00Z")
    src = tmp_path / "c.json"
    src.write_text(json.dumps(doc))
    assert add_source(clean_db, str(src), start="2025-06-20", end="2025-07-10").added == 1
    (img,) = catalogue.list_images(clean_db)
    assert img["datetime"].isoformat() == "2025-06-15T12:00:00+00:00"
    assert (img["start_datetime"].isoformat(), img["end_datetime"].isoformat()) == (
        "2025-06-01T00:00:00+00:00", "2025-06-30T00:00:00+00:00")
    assert add_source(clean_db, str(src), start="2025-07-01").skipped == 1
    doc["properties"].pop("end_datetime")
    src.write_text(json.dumps(doc))
    (rej,) = add_source(clean_db, str(src)).rejected
    assert "not a valid STAC item" in rej.reason or "no datetime" in rej.reason


def test_href_token_change_is_not_a_change(clean_db: Settings, tmp_path: Path, tif: Path) -> None:
    """A Planetary Computer item re-added with SAS-signed hrefs keeps its finished job; a
    real move of a band resets it."""
    parcel_set(clean_db, tmp_path)
    doc = item("pc-s2l2a.json", tif, S2_KEYS, item_id="pc_token", datetime="2025-06-01T10:00:00Z")
    base = "https://sentinel2l2a01.blob.core.windows.net/sentinel2-l2/33/U/WP/2025/06/01"
    for key, asset in doc["assets"].items():
        asset.update({"href": f"{base}/{key}.tif", "proj:epsg": 32633, "proj:shape": [64, 64],
                      "proj:transform": [10, 0, 500000, 0, -10, 5350000]})
    src = tmp_path / "i.json"
    src.write_text(json.dumps(doc))
    assert add_source(clean_db, str(src)).jobs_created == 1
    with connect(clean_db) as conn:
        conn.execute("UPDATE extraction_jobs SET status = 'done'")
    for asset in doc["assets"].values():
        asset["href"] += "?st=2025-06-02T10%3A00%3A00Z&se=2025-06-03&sp=rl&sv=2024-05-04&sig=abc%3D"
    src.write_text(json.dumps(doc))
    result = add_source(clean_db, str(src))
    assert (result.updated, result.jobs_reset) == (1, 0) and jobs(clean_db) == {"pc_token": "done"}
    doc["assets"]["B04"]["href"] = f"{base}/moved/B04.tif?sig=abc"
    src.write_text(json.dumps(doc))
    assert add_source(clean_db, str(src)).jobs_reset == 1 and jobs(clean_db) == {"pc_token": "pending"}


# ---------------------------------------------------------------------- seasons


def test_jobs_only_for_images_of_the_sets_season(clean_db: Settings, tmp_path: Path, tif: Path) -> None:
    dates = {"y2019": "2019-06-01", "before": "2024-09-30T23:59:59Z", "first": "2024-10-01T00:00:00Z",
             "last": "2025-12-31T23:59:59Z", "after": "2026-01-01T00:00:00Z"}
    docs = [item("pc-s2l2a.json", tif, S2_KEYS, item_id=k, datetime=v if "T" in v else v + "T10:00:00Z",
                 **{"s2:mgrs_tile": k})  # other tiles: images a second apart are not duplicates
            for k, v in dates.items()]
    src = tmp_path / "i.json"
    src.write_text(json.dumps({"type": "FeatureCollection", "features": docs}))
    assert add_source(clean_db, str(src)).added == 5
    parcel_set(clean_db, tmp_path)  # importing the set creates the jobs of its season
    assert jobs(clean_db) == {"first": "pending", "last": "pending"}
    with connect(clean_db) as conn:
        conn.execute("DELETE FROM extraction_jobs")
        conn.execute("UPDATE parcel_sets SET season_start = '2019-01-01', season_end = '2019-12-31'")
    assert add_source(clean_db, str(src)).jobs_created == 1  # catalogue side: same rule
    assert jobs(clean_db) == {"y2019": "pending"}


# ---------------------------------------------------------------------- duplicates


def es_copy(tif: Path, collection: str) -> dict[str, Any]:
    doc = item("es-v1-s2l2a.json", tif, ES_KEYS, datetime="2025-06-01T10:30:00.123Z")
    doc["collection"] = collection
    return doc


def test_one_acquisition_is_one_image(clean_db: Settings, tmp_path: Path, tif: Path) -> None:
    """Earth Search publishes the acquisition in sentinel-2-l2a and sentinel-2-c1-l2a: the
    preferred copy (C1 by default) is extracted, the other recorded as its duplicate."""
    parcel_set(clean_db, tmp_path)
    l2a, c1 = es_copy(tif, "sentinel-2-l2a"), es_copy(tif, "sentinel-2-c1-l2a")
    c1["properties"]["datetime"] = "2025-06-01T10:30:02Z"  # reprocessing: a slightly different time
    for doc, name in ((l2a, "l2a.json"), (c1, "c1.json")):
        (tmp_path / name).write_text(json.dumps(doc))
    assert add_source(clean_db, str(tmp_path / "l2a.json")).jobs_created == 1
    result = add_source(clean_db, str(tmp_path / "c1.json"))
    assert (result.added, result.duplicates, result.jobs_created) == (1, 1, 1)
    rows = {(i["collection"], i["duplicate_of"] is None) for i in catalogue.list_images(clean_db)}
    assert rows == {("sentinel-2-l2a", False), ("sentinel-2-c1-l2a", True)}
    with connect(clean_db) as conn:
        (job,) = conn.execute("SELECT i.collection FROM extraction_jobs j JOIN images i ON i.id = j.image_id")
    assert job["collection"] == "sentinel-2-c1-l2a"
    assert add_source(clean_db, str(tmp_path / "l2a.json")).unchanged == 1  # still a duplicate
    assert len(jobs(clean_db)) == 1


def test_extracted_copy_stays_the_image(clean_db: Settings, tmp_path: Path, tif: Path) -> None:
    """Once a copy has finished jobs it stays the image: a preferred copy added later is the
    duplicate (not extracted again); with the preference reversed nothing changes either."""
    parcel_set(clean_db, tmp_path)
    l2a, c1 = es_copy(tif, "sentinel-2-l2a"), es_copy(tif, "sentinel-2-c1-l2a")
    (tmp_path / "l2a.json").write_text(json.dumps(l2a))
    (tmp_path / "c1.json").write_text(json.dumps(c1))
    add_source(clean_db, str(tmp_path / "l2a.json"))
    with connect(clean_db) as conn:
        conn.execute("UPDATE extraction_jobs SET status = 'done'")
    result = add_source(clean_db, str(tmp_path / "c1.json"))
    assert (result.duplicates, result.jobs_created) == (1, 0)
    dup = {i["collection"]: i["duplicate_of"] for i in catalogue.list_images(clean_db)}
    assert dup["sentinel-2-l2a"] is None and dup["sentinel-2-c1-l2a"] is not None


# ---------------------------------------------------------------------- real items, profiles


@pytest.mark.parametrize(("name", "keys", "profile", "bands", "orbit"), [
    ("cdse-s2l2a-v110.json", ("B02_10m", "B05_20m", "SCL_20m"), "cdse-s2", ["B02", "B05"],
     ("descending", 122)),
    ("es-v1-s2l2a.json", ("blue", "rededge1", "nir08", "scl"), "earth-search-s2", ["B02", "B05", "B8A"],
     (None, None)),
    ("es-v1-s2c1l2a.json", ("red", "swir22", "scl"), "earth-search-s2-c1", ["B04", "B12"], (None, None)),
    ("pc-s2l2a.json", ("B01", "B8A", "SCL"), "planetary-computer-s2", ["B01", "B8A"], ("descending", 74)),
    ("pc-s1rtc.json", ("vv", "vh"), "planetary-computer-s1-rtc", ["VV", "VH"], ("descending", 80)),
])
def test_real_items_get_their_provider_profile(clean_db: Settings, tmp_path: Path, tif: Path, name: str,
                                               keys: tuple[str, ...], profile: str, bands: list[str],
                                               orbit: tuple[str | None, int | None]) -> None:
    doc = localise(real_item(name), files(tif, keys))
    src = tmp_path / name
    src.write_text(json.dumps(doc))
    result = add_source(clean_db, str(src))
    assert result.by_profile[profile]["added"] == 1, result.rejected
    (img,) = catalogue.list_images(clean_db)
    assert img["bands"] == bands and (img["orbit_state"], img["relative_orbit"]) == orbit
    assert img["mask"] == ("SCL" if any(k.lower().startswith("scl") for k in keys) else "none")
    assert img["provider"] == {"cdse-s2": "cdse", "earth-search-s2": "earth-search",
                               "earth-search-s2-c1": "earth-search"}.get(profile, "planetary-computer")
