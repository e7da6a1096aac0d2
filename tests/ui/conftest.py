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
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "apps"))

import serve
from apitools import Server, free_port, run_server
from uitools import Watched, watch

from backend.db import connect
from backend.settings import DEMO_ADMIN_PASSWORD, Settings, load_settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def demo_api() -> Iterator[Server]:
    """The API over the project database holding the demo area (fails when it was not built)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is not installed: run `make test` (it installs chromium)")
    s: Settings = load_settings(demo_mode=True, api_rate_per_minute=100_000, api_rate_burst=10_000)
    try:
        with connect(s) as conn:
            found = conn.execute("SELECT 1 FROM parcel_sets WHERE aoi = 'demo' AND year = 2025").fetchone()
    except Exception as exc:  # the project database is not running
        pytest.fail(f"project database not reachable: {exc} (run `make test` or `cbm db start`)")
    if not found:
        pytest.fail("the demo area is missing: run `cbm demo run` (`make test` does)")
    server, stop = run_server(s)
    yield server
    stop()


@pytest.fixture(scope="session")
def voila(demo_api: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Voilà server of ``apps/`` on a free loopback port; yields its base URL."""
    port = free_port()
    env = serve.environment(serve.ROOT / "var", {
        **os.environ, "CBM_API_URL": demo_api.url, "CBM_API_USER": "admin",
        "CBM_API_PASSWORD": DEMO_ADMIN_PASSWORD})
    log = (tmp_path_factory.mktemp("voila") / "voila.log").open("w")
    proc = subprocess.Popen(serve.command(port), env=env, stdout=log, stderr=subprocess.STDOUT,
                            cwd=serve.ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(url, timeout=2).status_code < 500:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"Voilà did not start; see {log.name}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def cbm_browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def watched(cbm_browser: Any) -> Iterator[Watched]:
    """A fresh page that blocks non-loopback requests and records console errors."""
    context = cbm_browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    w = watch(page)
    yield w
    context.close()
