"""Browser-test fixtures: the real API over the demo database, a real Voilà process, Debian's Chromium.

The API runs in this process (uvicorn thread on a free loopback port) with the project's settings,
so it serves the synthetic demo area that ``cbm demo run`` built (``make test`` builds it); the
tests fail, not skip, when that area or Chromium is missing. Voilà is started with
``apps/serve.py`` (offline ``cbm`` template) as a
subprocess whose environment holds ``CBM_API_URL``/``CBM_API_USER``/``CBM_API_PASSWORD``.
Every page blocks and records requests to hosts outside loopback, and collects console errors.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "apps"))

import serve
from apitools import Server, running_api
from procs import free_port, running

from backend.db import connect
from backend.settings import DEMO_ADMIN_PASSWORD, Settings, load_settings


@pytest.fixture(scope="session")
def demo_api() -> Iterator[Server]:
    """The API over the project database holding the demo area (fails when it was not built)."""
    s: Settings = load_settings(demo_mode=True, api_rate_per_minute=100_000, api_rate_burst=10_000)
    try:
        with connect(s) as conn:
            found = conn.execute("SELECT 1 FROM parcel_sets WHERE aoi = 'demo' AND year = 2025").fetchone()
    except Exception as exc:  # the project database is not running
        pytest.fail(f"project database not reachable: {exc} (run `make test` or `cbm db start`)")
    if not found:
        pytest.fail("the demo area is missing: run `cbm demo run` (`make test` does)")
    with running_api(s) as server:
        yield server


@pytest.fixture(scope="session")
def voila(demo_api: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Voilà server of ``apps/`` on a free loopback port; yields its base URL."""
    port = free_port()
    env = serve.environment(serve.ROOT / "var", {
        **os.environ, "CBM_API_URL": demo_api.url, "CBM_API_USER": "admin",
        "CBM_API_PASSWORD": DEMO_ADMIN_PASSWORD})
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("voila") / "voila.log"
    with running(serve.command(port), url, "Voilà", env=env, cwd=serve.ROOT, log=log, grace_s=10):
        yield url
