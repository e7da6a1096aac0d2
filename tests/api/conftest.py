"""API test fixtures: an own test database with the tiny area (see ``apitools``) and a real server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from apitools import Server, api_database, running_api

from backend.settings import Settings


@pytest.fixture(scope="session")
def api_settings(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of an own test database holding the tiny area, its results and the users."""
    with api_database(base_settings, tmp_path_factory.mktemp("api"), "cbm_apitest") as s:
        yield s


@pytest.fixture(scope="session")
def api(api_settings: Settings) -> Iterator[Server]:
    """The API with the test settings (rate limits out of the way)."""
    with running_api(api_settings) as server:
        yield server


