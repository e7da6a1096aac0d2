"""API test fixtures: an own test database with the tiny area (see ``apitools``) and a real server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from apitools import PASSWORDS, Server, build_scene, insert_results, run_server

from backend.api.services import users
from backend.catalogue import add_source
from backend.db import connect, database_url
from backend.db.migrate import migrate
from backend.extraction.service import extract
from backend.parcels import import_parcels
from backend.settings import Settings, load_settings


@pytest.fixture(scope="session")
def api_settings(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of an own test database holding the tiny area, its results and the users."""
    name = f"cbm_apitest_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with connect(base_settings, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    root = tmp_path_factory.mktemp("api")
    s = load_settings(demo_mode=True, database_url=database_url(base_settings, name), var_dir=root / "var",
                      api_rate_per_minute=1_000_000, api_rate_burst=1_000_000, api_auth_cache_s=600)
    try:
        with connect(s) as conn:
            migrate(conn)
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
    finally:
        with connect(base_settings, dbname="postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def api(api_settings: Settings) -> Iterator[Server]:
    """The API with the test settings (rate limits out of the way)."""
    server, stop = run_server(api_settings)
    yield server
    stop()


