"""API test helpers: an own migrated database with a tiny real area, users, and real uvicorn servers.

The area is built like the extraction tests: COGs written with rasterio, parcels imported, the
folder catalogued and extracted for real. Marker, decision and batch-run rows are inserted with
SQL (those producers are other modules). Servers run uvicorn in a thread on a free loopback port.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import httpx
import numpy as np
import uvicorn
from gridtools import CRS, rect, write_cog
from procs import free_port
from pyproj import Transformer

from backend.api.app import create_app
from backend.api.serving import UVICORN_OPTIONS
from backend.db import connect, temporary_database
from backend.settings import DEMO_ADMIN_PASSWORD, Settings

# pid -> (col0, row0, col1, row1) in 10 m pixels; A, B, C share crop 1 (A and B touch), D is crop 2
PARCELS = {"A": (2, 2, 12, 10), "B": (12, 2, 20, 10), "C": (40, 40, 50, 60), "D": (60, 60, 70, 70)}
CROPS = {"A": "1", "B": "1", "C": "1", "D": "2"}
S2_DATES = ("20250601T103031", "20250611T103031")
PASSWORDS = {"admin": DEMO_ADMIN_PASSWORD, "analyst": "analyst-pass-1", "consumer": "consumer-pass-1",
             "outsider": "outsider-pass-1"}
TO_WGS84 = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def lonlat(pid: str) -> tuple[float, float]:
    """WGS84 centre of a test parcel."""
    c = rect(*PARCELS[pid]).centroid
    return TO_WGS84.transform(c.x, c.y)


def build_scene(root: Path) -> None:
    """Two S2 dates, one S1 backscatter and one coherence image over the parcels."""
    rng = np.random.default_rng(11)
    for k, date in enumerate(S2_DATES):
        item = root / "cogs" / f"S2A_MSIL2A_{date}_R008_T31UFU"
        for b in ("B02", "B03", "B04", "B08"):
            write_cog(item / f"{b}.tif", rng.integers(100, 5000, (64, 64), dtype=np.uint16), 10)
        for b in ("B05", "B11"):
            write_cog(item / f"{b}.tif", rng.integers(100, 5000, (32, 32), dtype=np.uint16), 20)
        scl = np.full((32, 32), 4, np.uint8)
        if k == 1:
            scl[1:5, 6:10] = 9  # parcel B under cloud on the second date
        write_cog(item / "SCL.tif", scl, 20)
    for name, bands in (("S1A_IW_GRDH_20250603T055012_BS", ("VV", "VH")),
                        ("S1A_IW_COH_20250605T055012_C6", ("COH_VV", "COH_VH"))):
        for b in bands:
            write_cog(root / "cogs" / name / f"{b}.tif", rng.random((64, 64), dtype=np.float32), 10)
    gpd.GeoDataFrame({"pid": list(PARCELS), "crop_code": [CROPS[p] for p in PARCELS],
                      "crop_name": ["Wheat" if CROPS[p] == "1" else "Maize" for p in PARCELS]},
                     geometry=[rect(*r) for r in PARCELS.values()], crs=CRS).to_file(root / "tt.gpkg")
    gpd.GeoDataFrame({"pid": ["Z1"], "crop_code": ["1"]}, geometry=[rect(2, 2, 12, 10)],
                     crs=CRS).to_file(root / "zz.gpkg")


def insert_results(s: Settings) -> None:
    with connect(s) as conn:
        set_id = conn.execute("SELECT id FROM parcel_sets WHERE aoi = 'tt'").fetchone()["id"]
        run = conn.execute("INSERT INTO marker_runs (set_id, scheme, catalogue_version) "
                           "VALUES (%s, 'grassland', 'v1') RETURNING id", (set_id,)).fetchone()["id"]
        conn.execute("INSERT INTO marker_results (run_id, set_id, parcel_id, marker, version, start_date, "
                     "end_date, value, confidence, evidence) SELECT %s, %s, id, 'mowing', '1.0', "
                     "'2025-06-05', '2025-06-09', 0.4, 0.9, '{\"dates\": [\"2025-06-01\"]}' FROM parcels "
                     "WHERE set_id = %s AND pid = 'A'", (run, set_id, set_id))
        conn.execute("INSERT INTO decisions (run_id, set_id, parcel_id, condition, colour, reason, evidence, "
                     "rule_version) SELECT %s, %s, id, 'mown_once', c, 'test', '{\"observations\": 2}', 'r1' "
                     "FROM parcels, (VALUES ('A', 'red'), ('B', 'green')) v(p, c) WHERE set_id = %s AND "
                     "pid = v.p", (run, set_id, set_id))
        conn.execute("INSERT INTO batch_runs (id, notebook, parameters, status) VALUES "
                     "('run-tt', 'extract.ipynb', '{\"aoi\": \"tt\"}', 'done'), "
                     "('run-zz', 'extract.ipynb', '{\"aoi\": \"zz\"}', 'failed')")
        conn.execute("INSERT INTO batch_chunks (run_id, chunk, status) VALUES ('run-tt', 0, 'done')")


FAST_LIMITS = {"api_rate_per_minute": 1_000_000, "api_rate_burst": 1_000_000, "api_auth_cache_s": 600}


@contextlib.contextmanager
def api_database(base: Settings, root: Path, prefix: str) -> Iterator[Settings]:
    """An own database with the tiny area (sets tt and zz), its results and one user per role."""
    from backend.accounts import users
    from backend.catalogue import add_source
    from backend.extraction.service import extract
    from backend.parcels import import_parcels

    with temporary_database(base, prefix, demo_mode=True, var_dir=root / "var", **FAST_LIMITS) as s:
        build_scene(root)
        import_parcels(s, root / "tt.gpkg", aoi="tt", year=2025)
        import_parcels(s, root / "zz.gpkg", aoi="zz", year=2025)
        assert not add_source(s, str(root / "cogs")).rejected
        assert extract(s, aoi="tt", year=2025).failed == 0
        insert_results(s)
        with connect(s, autocommit=True) as conn:
            users.ensure_admin(conn, s)
            for who, aoi in (("analyst", "tt"), ("consumer", "tt"), ("outsider", "zz")):
                users.add_user(conn, who, PASSWORDS[who], "analyst" if who == "analyst" else "consumer")
                users.grant_aoi(conn, who, aoi)
        yield s



@dataclass
class Server:
    """A running API server on loopback."""

    url: str
    settings: Settings

    def client(self, who: str | None = "consumer", **kwargs: Any) -> httpx.Client:
        auth = (who, PASSWORDS[who]) if who else None
        return httpx.Client(base_url=self.url, auth=auth, timeout=60, **kwargs)


@contextlib.contextmanager
def running_api(settings: Settings) -> Iterator[Server]:
    """uvicorn as ``cbm serve`` runs it, in a thread, with ``create_app(settings)``, until the block ends."""
    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning",
                            lifespan="on", **UVICORN_OPTIONS)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("API server did not start")
        time.sleep(0.05)

    try:
        yield Server(f"http://127.0.0.1:{port}", settings)
    finally:
        server.should_exit = True
        thread.join(10)


def get_json(server: Server, path: str, who: str | None = "consumer", **params: Any) -> Any:
    with server.client(who) as c:
        r = c.get(path, params=params)
    assert r.status_code == 200, (r.status_code, r.text)
    return json.loads(r.text)
