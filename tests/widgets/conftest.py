"""Widget test fixtures: a real API (uvicorn, loopback) over an own test database with the tiny area.

The area, users and results come from ``tests/apitools.py`` (the API tests' builder), so the
widgets are tested against exactly what the API tests check. Never a mock of our own API.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from apitools import PASSWORDS, Server, api_database, running_api

from backend.settings import Settings
from cbm_widgets import CbmClient


@pytest.fixture(scope="session")
def widget_api(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real API server over an own database: parcels A-D (aoi ``tt``), Z1 (aoi ``zz``), 2 S2 dates."""
    with (api_database(base_settings, tmp_path_factory.mktemp("widgets"), "cbm_widgettest") as s,
          running_api(s) as server):
        yield server


@pytest.fixture()
def client(widget_api: Server) -> CbmClient:
    """A client logged in as a consumer with a grant on ``tt``."""
    return CbmClient(widget_api.url, "consumer", PASSWORDS["consumer"])
