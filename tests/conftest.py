"""Shared fixtures: settings and a fresh, migrated test database in the real cluster.

The database is created once per test session (in the embedded cluster that `make` started,
or in the server named by CBM_DATABASE_URL) and dropped at the end. Never a mock.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from procs import free_port

from backend.db import cluster, connect, temporary_database
from backend.settings import Settings, load_settings

CHROMIUM = "/usr/bin/chromium"
TESTS = Path(__file__).resolve().parent
ONE_PROCESS = ("api/test_fuzz.py",)  # the Makefile's SERIAL_TESTS
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse to run the schemathesis fuzzing in a pytest-xdist worker (``make test`` runs it after).

    Under xdist it shrinks to 8 distinct requests instead of 384 and reports one test instead of 52,
    without a word. The workers are known by ``workerinput`` (their ``dist`` option reads "no").
    """
    if not hasattr(config, "workerinput"):
        return
    shrinking = [i.nodeid for i in items if i.path.relative_to(TESTS).as_posix() in ONE_PROCESS]
    if shrinking:
        raise pytest.UsageError(f"{shrinking[0].split('::')[0]} must run in one process, not under "
                                "pytest-xdist (`make test` runs it after the others)")


@pytest.fixture(scope="session")
def base_settings() -> Settings:
    """Settings of the running project (demo mode for the test session)."""
    return load_settings(demo_mode=True)


@pytest.fixture(scope="session")
def settings(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of a fresh, migrated test database (as an external URL), dropped at the end."""
    if base_settings.uses_embedded_db:
        cluster.start(base_settings)
    with temporary_database(base_settings, f"cbm_test_{os.getpid()}", demo_mode=True,
                            var_dir=tmp_path_factory.mktemp("var")) as s:
        yield s


@pytest.fixture()
def conn(settings: Settings) -> Iterator[psycopg.Connection]:
    """A connection to the test database (rows as dicts); rolled back unless committed."""
    with connect(settings) as c:
        yield c


@pytest.fixture()
def clean_db(settings: Settings) -> Settings:
    """Empty every data table of the test database before the test; returns the settings."""
    with connect(settings) as c:
        c.execute("TRUNCATE signatures, parcel_sets, images, users, batch_runs, audit_log, marker_runs, "
                  "crop_tables RESTART IDENTITY CASCADE")
    return settings


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[str]:
    """An S3 protocol endpoint (moto server) on loopback; yields ``host:port``."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture()
def moto_settings(clean_db: Settings, moto_s3: str) -> Settings:
    """Settings of the (emptied) test database that read ``s3://`` hrefs from the moto endpoint."""
    return Settings(**{**clean_db.model_dump(), "s3_endpoint": moto_s3, "s3_https": False,
                       "s3_access_key_id": "test", "s3_secret_access_key": "test"})


@pytest.fixture(scope="session")
def cbm_browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright, one per test session.

    tests/ui and tests/hub share it: Playwright's sync API cannot be started a second time in
    a process while the first instance runs.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is not installed: run `make test` (it installs chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def watched(cbm_browser: Any) -> Iterator[Any]:
    """A fresh page that blocks non-loopback requests and records console errors (``uitools``)."""
    from uitools import watch

    context = cbm_browser.new_context(viewport={"width": 1400, "height": 1000})
    w = watch(context.new_page())
    yield w
    context.close()
