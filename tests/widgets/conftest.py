"""Widget test fixtures: a real API (uvicorn, loopback) over an own test database with the tiny area.

The area, users and results come from ``tests/api/apitools.py`` (the API tests' builder), so the
widgets are tested against exactly what the API tests check. Never a mock of our own API.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))

from apitools import PASSWORDS, Server, build_scene, insert_results, run_server

from backend.api.services import users
from backend.catalogue import add_source
from backend.db import connect, database_url
from backend.db.migrate import migrate
from backend.extraction.service import extract
from backend.parcels import import_parcels
from backend.settings import Settings, load_settings
from cbm_widgets import CbmClient


@pytest.fixture(scope="session")
def widget_api(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real API server over an own database: parcels A-D (aoi ``tt``), Z1 (aoi ``zz``), 2 S2 dates."""
    name = f"cbm_widgettest_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with connect(base_settings, dbname="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    root = tmp_path_factory.mktemp("widgets")
    s = load_settings(demo_mode=True, database_url=database_url(base_settings, name), var_dir=root / "var",
                      api_rate_per_minute=1_000_000, api_rate_burst=1_000_000, api_auth_cache_s=600)
    stop = None
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
            for who, aoi in (("consumer", "tt"), ("outsider", "zz")):
                users.add_user(conn, who, PASSWORDS[who], "consumer")
                users.grant_aoi(conn, who, aoi)
        server, stop = run_server(s)
        yield server
    finally:
        if stop is not None:
            stop()
        with connect(base_settings, dbname="postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture()
def client(widget_api: Server) -> CbmClient:
    """A client logged in as a consumer with a grant on ``tt``."""
    return CbmClient(widget_api.url, "consumer", PASSWORDS["consumer"])
