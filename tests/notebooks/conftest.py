"""Notebook test fixtures: a small SYNTHETIC demo area in an own database and a real API server.

The area goes through the real chain (``build_demo`` -> import -> catalogue -> extract ->
``run_markers``); the API runs uvicorn in a thread on loopback. Notebooks are executed with
papermill against both (see ``nbtools``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from apitools import running_api
from nbtools import ANALYST, AOI, PASSWORD, YEAR, Area

from backend.accounts import users
from backend.catalogue import add_source
from backend.db import connect, database_url, temporary_database
from backend.demo import build_demo
from backend.demo.pipeline import DEMO_CATALOGUE
from backend.extraction.service import extract
from backend.markers import run_markers
from backend.parcels import import_parcels
from backend.settings import Settings


def _load(s: Settings, demo: Path) -> int:
    build_demo(demo, seed=7, n_parcels=40, n_s2_dates=40, n_s1_dates=40)
    import_parcels(s, demo / "parcels.gpkg", aoi=AOI, year=YEAR, skip_invalid=True)  # broken rows on purpose
    assert not add_source(s, str(demo / "stac" / "catalog.json")).rejected
    assert extract(s, aoi=AOI, year=YEAR).failed == 0
    run = run_markers(s, aoi=AOI, year=YEAR, catalogue=DEMO_CATALOGUE, started_by="tests")
    with connect(s, autocommit=True) as conn:
        users.ensure_admin(conn, s)
        users.add_user(conn, ANALYST, PASSWORD, "analyst")
        users.grant_aoi(conn, ANALYST, AOI)
    return run.run_id


@pytest.fixture(scope="session")
def area(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Area]:
    """An own database with the small demo area, its marker run and an analyst account."""
    root = tmp_path_factory.mktemp("nb")
    with temporary_database(base_settings, "cbm_nbtest", demo_mode=True, var_dir=root / "var",
                            api_rate_per_minute=1_000_000, api_rate_burst=1_000_000) as s:
        run_id = _load(s, root / "demo")
        yield Area(s, database_url(s), root, root / "demo" / "ground_truth.json", run_id)


@pytest.fixture(scope="session")
def api_url(area: Area) -> Iterator[str]:
    """The API on loopback; the kernels get the password in their environment, not as a parameter."""
    old = os.environ.get("CBM_API_PASSWORD")
    os.environ["CBM_API_PASSWORD"] = PASSWORD
    try:
        with running_api(area.settings) as server:
            yield server.url
    finally:
        if old is None:
            os.environ.pop("CBM_API_PASSWORD", None)
        else:
            os.environ["CBM_API_PASSWORD"] = old
