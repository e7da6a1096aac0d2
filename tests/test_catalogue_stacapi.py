"""The STAC API source against a real STAC API: stac-fastapi-pgstac on pgSTAC (tests/stac_pgstac.py).

pgSTAC lives in its own database of the project's PostgreSQL server and is loaded with copies
of the real items of ../shared/realdata/stac (new ids and dates, hrefs at small local rasters
written here); the server runs under uvicorn on a free loopback port, once per extension set
(query, CQL2 filter, neither). Paging, collection, bbox, datetime and cloud filters are the
server's own; the catalogue and extraction write into the real test database.
"""

from __future__ import annotations

import contextlib
import copy
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pystac_client import Client
from realitems import expected, footprint, localise, parcels_file, real_item, window, write_raster
from stac_pgstac import load, pgstac_database, stac_api

from backend import catalogue
from backend.catalogue import add_source
from backend.db import connect, database_url
from backend.errors import NotFound
from backend.extraction.service import extract
from backend.parcels import import_parcels
from backend.settings import Settings

ES_KEYS = ("blue", "green", "red", "nir", "scl")
DAYS = range(1, 31, 3)  # 1, 4, ..., 28 June 2025; cloud cover 0, 10, ..., 90 %
RNG = np.random.default_rng(20250617)
# stac-fastapi-pgstac's ENABLED_EXTENSIONS per case
EXTENSION_SETS = {"query": ("query", "sort", "fields", "pagination"),
                  "filter": ("filter", "sort", "fields", "pagination"),
                  "none": ("sort", "fields", "pagination")}


def _near() -> tuple[float, float, float, float]:
    ring = np.array(footprint()["coordinates"][0])
    (w, s), (e, n) = ring.min(0), ring.max(0)
    return float(w), float(s), float(e), float(n)


NEAR = _near()
FAR = (10.0, 45.0, 11.0, 46.0)


@pytest.fixture(scope="module")
def rasters(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Local rasters: reflectance x 10 000 (stored) written as DN + 1000 (baseline >= 04.00)."""
    folder = tmp_path_factory.mktemp("stacapi")
    truth = {k: RNG.integers(200, 6000, (64, 64), dtype=np.uint16) for k in ("blue", "green", "red", "nir")}
    paths = {k: write_raster(folder / f"{k}.tif", a + 1000, 10) for k, a in truth.items()}
    paths["scl"] = write_raster(folder / "scl.tif", np.full((32, 32), 4, np.uint8), 20, nodata=None)
    for pol in ("vv", "vh"):
        paths[pol] = write_raster(folder / f"{pol}.tif", np.full((64, 64), 0.05, np.float32), 10)
    return {"truth": truth, "paths": paths, "folder": folder}


def api_items(paths: dict[str, Path]) -> list[dict[str, Any]]:
    """Real Earth Search, Earth Search C1 and Planetary Computer S1 RTC items, localised."""
    es = real_item("es-v1-s2l2a.json")
    items = []
    for n, day in enumerate(DAYS):
        doc = localise(es, {k: paths[k] for k in ES_KEYS}, item_id=f"S2A_33UWP_202506{day:02d}_0_L2A")
        doc["properties"].update({"datetime": f"2025-06-{day:02d}T10:30:00Z", "eo:cloud_cover": n * 10.0})
        items.append(doc)
    far = copy.deepcopy(items[0])
    far.update(id="S2A_32TPR_20250601_0_L2A", bbox=[10.0, 45.0, 10.1, 45.1], geometry={
        "type": "Polygon", "coordinates": [[[10, 45], [10.1, 45], [10.1, 45.1], [10, 45.1], [10, 45]]]})
    far["properties"]["datetime"] = "2025-06-01T10:40:00Z"  # another acquisition, not a duplicate
    c1 = localise(real_item("es-v1-s2c1l2a.json"), {k: paths[k] for k in ES_KEYS},
                  item_id="S2B_T33UWP_20250702T100051_L2A")
    c1["properties"]["datetime"] = "2025-07-02T10:05:00Z"
    rtc = [localise(real_item("pc-s1rtc.json"), {"vv": paths["vv"], "vh": paths["vh"]},
                    item_id=f"S1A_IW_GRDH_1SDV_202506{d:02d}_rtc") for d in (5, 17)]
    for doc, day in zip(rtc, (5, 17), strict=True):
        doc["properties"].update(datetime=f"2025-06-{day:02d}T05:10:00Z",
                                 start_datetime=f"2025-06-{day:02d}T05:09:51Z",
                                 end_datetime=f"2025-06-{day:02d}T05:10:09Z")
    docs = [*items, far, c1, *rtc]
    for doc in docs:  # absolute URIs: a bare path would be relative to the item's self link
        for asset in doc["assets"].values():
            asset["href"] = Path(asset["href"]).as_uri()
    return docs


@pytest.fixture(scope="module")
def pgstac(settings: Settings, rasters: dict[str, Any]) -> Iterator[tuple[list[dict[str, Any]],
                                                                         Callable[[str], str]]]:
    """The loaded items and ``api(case)``: the URL of the server of an extension set (started once)."""
    items = api_items(rasters["paths"])
    with contextlib.ExitStack() as stack:
        dsn = stack.enter_context(pgstac_database(settings))
        load(dsn, items)
        urls: dict[str, str] = {}

        def api(case: str) -> str:
            if case not in urls:
                log = rasters["folder"] / f"stac-fastapi-{case}.log"
                urls[case] = stack.enter_context(stac_api(dsn, extensions=EXTENSION_SETS[case], log=log))
            return urls[case]

        yield items, api


def stored(settings: Settings) -> list[str]:
    return [i["item_id"] for i in catalogue.list_images(settings)]


@pytest.mark.parametrize("case", list(EXTENSION_SETS))
def test_search_filters_and_paging(clean_db: Settings, pgstac: Any, case: str) -> None:
    """Collection, bbox, datetime and cloud cover through the server (query, CQL2 filter or
    none: then the catalogue filters the cloud cover), in pages of two."""
    _, api = pgstac
    url = api(case)
    client = Client.open(url)
    assert client.conforms_to("QUERY") == (case == "query")
    assert client.conforms_to("FILTER") == (case == "filter")
    pages = list(client.search(collections=["sentinel-2-l2a"], limit=2).pages_as_dicts())
    assert [len(p["features"]) for p in pages] == [2] * 5 + [1]  # the server pages

    result = add_source(clean_db, url, collection="sentinel-2-l2a", bbox=NEAR, start="2025-06-03",
                        end="2025-06-25", max_cloud=50, page_size=2)

    # days 4..16 have cloud 10..50; 19, 22, 25 are too cloudy; 1 and 28 out of the dates; far: bbox
    assert stored(clean_db) == [f"S2A_33UWP_202506{d:02d}_0_L2A" for d in (4, 7, 10, 13, 16)]
    assert result.added == 5 and result.rejected == []
    assert result.by_profile["earth-search-s2"]["added"] == 5
    # what the server filtered never reached the catalogue; without a server filter the cloudy
    # items did, and are counted as skipped
    assert result.skipped == (3 if case == "none" else 0)


def test_every_collection_twice(clean_db: Settings, pgstac: Any) -> None:
    items, api = pgstac
    first = add_source(clean_db, api("query"), page_size=3)
    assert first.added == len(items) and first.rejected == [], first.rejected
    assert {i["collection"] for i in catalogue.list_images(clean_db)} == {
        "sentinel-2-l2a", "sentinel-2-c1-l2a", "sentinel-1-rtc"}
    again = add_source(clean_db, api("query"))
    assert (again.added, again.updated, again.unchanged) == (0, 0, len(items))


def test_one_collection_and_time_window(clean_db: Settings, pgstac: Any) -> None:
    _, api = pgstac
    result = add_source(clean_db, api("query"), collection="sentinel-1-rtc", start="2025-06-10",
                        end="2025-06-30")
    assert result.added == 1 and result.by_profile["planetary-computer-s1-rtc"]["added"] == 1
    (img,) = catalogue.list_images(clean_db)
    assert (img["item_id"], img["bands"]) == ("S1A_IW_GRDH_1SDV_20250617_rtc", ["VV", "VH"])
    assert add_source(clean_db, api("query"), bbox=FAR, collection="sentinel-1-rtc").added == 0


def test_unknown_collection_is_refused(clean_db: Settings, pgstac: Any) -> None:
    """A search of a collection the server lacks would find nothing: refused, naming the ones it has."""
    _, api = pgstac
    add_source(clean_db, api("query"), collection="sentinel-1-rtc")
    before = stored(clean_db)
    with pytest.raises(NotFound, match=r"no collection 'sentinel-2-l1c'; it has: sentinel-1-rtc, "
                                       r"sentinel-2-c1-l2a, sentinel-2-l2a"):
        add_source(clean_db, api("query"), collection="sentinel-2-l1c")
    env = {**os.environ, "CBM_DEMO_MODE": "true", "CBM_DATABASE_URL": database_url(clean_db)}
    cli = subprocess.run([sys.executable, "-m", "backend", "catalogue", "add", api("query"),
                          "--collection", "sentinel-2-l1c"], capture_output=True, text=True,
                         env=env, timeout=120, check=False)
    assert cli.returncode == 66, cli.stderr
    assert "no collection 'sentinel-2-l1c'" in cli.stderr
    assert stored(clean_db) == before


def test_extracted_values_through_the_api(clean_db: Settings, pgstac: Any, rasters: dict[str, Any],
                                          tmp_path: Path) -> None:
    """The C1 item served by pgSTAC keeps its radiometry (offset -0.1): stored values = DN - 1000."""
    _, api = pgstac
    import_parcels(clean_db, parcels_file(tmp_path / "p.gpkg"), aoi="rd", year=2025)
    result = add_source(clean_db, api("filter"), collection="sentinel-2-c1-l2a")
    assert result.added == 1 and result.jobs_created == 1, result.rejected
    report = extract(clean_db, aoi="rd", year=2025)
    assert (report.done, report.failed) == (1, 0), report.errors
    with connect(clean_db) as conn:
        rows = conn.execute(
            "SELECT p.pid, i.bands, cbm_stats(s.stats) AS stats FROM signatures s "
            "JOIN parcels p ON p.set_id = s.set_id AND p.id = s.parcel_id "
            "JOIN images i ON i.id = s.image_id").fetchall()
    assert {r["pid"] for r in rows} == {"A", "B", "C"}
    names = {"B02": "blue", "B03": "green", "B04": "red", "B08": "nir"}
    for row in rows:
        stats = dict(zip(row["bands"], row["stats"], strict=True))
        for band, key in names.items():
            want = np.array(expected(window(rasters["truth"][key], row["pid"])))
            got = np.array(stats[band], np.float64)
            np.testing.assert_array_equal(got[[0, 3, 4, 5, 6, 7]], want[[0, 3, 4, 5, 6, 7]])
            np.testing.assert_allclose(got[1:3], want[1:3], rtol=2e-6)

