"""Dashboard benchmark: the issue-21 targets side by side in one run.

    .venv/bin/python bench/ui.py --runs 5            # needs the demo area (`cbm demo run`)
    .venv/bin/python bench/ui.py --runs 5 --cold     # also without preheated kernels

* ``deep link -> map + chart`` (<= 3 s): ``parcel_lookup.ipynb?aoi=demo&year=2025&parcel_id=...``
  in a fresh browser context, from ``page.goto`` until the chart's caption names the parcel and
  the map outlines it;
* ``click -> card + chart`` (p95 <= 1 s): on that page, search another parcel (type + Enter) and
  click a neighbouring parcel on the map, until both the card and the chart's caption name it;
* ``review saved and shown`` (<= 300 ms): ``review.ipynb`` on a parcel, click *Confirm* until
  "Saved" shows under the updated history (3 reviews per run, deleted afterwards);
* ``queue page, 100 000 decisions`` (<= 300 ms): ``bench/ui_queue.py``, a temporary database with
  ``--queue-parcels`` parcels x 2 conditions: every sort and filter, a deep page, previous/next.

Starts the real API (``uvicorn backend.api.app:app_from_env``, demo settings, project database)
and a real Voilà (``apps/serve.py``: offline template, one preheated kernel per app) on free
loopback ports, then drives Debian's Chromium with Playwright. Between runs it waits
``--pause`` seconds so that Voilà can refill its preheated kernels. The first run is a warm-up
and not counted.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "apps"))
sys.path.insert(0, str(ROOT / "bench"))

import serve  # noqa: E402
import ui_queue  # noqa: E402

from backend.db import connect  # noqa: E402
from backend.procs import free_port, running  # noqa: E402
from backend.settings import DEMO_ADMIN_PASSWORD, load_settings  # noqa: E402
from cbm_widgets.map_layers import SELECTED as SELECTED_STROKE  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 60_000
DEMO = "aoi=demo&year=2025"
MARK = "bench/ui.py review (deleted after the run)"
TARGETS = (("deep link", "deep link -> map + chart", 3.0), ("click", "click -> card + chart", 1.0),
           ("review", "review saved and shown", 0.3), ("queue", "queue page, 100 000 decisions", 0.3))
# Voilà and the API: output discarded, up to 90 s to start, 15 s to stop after SIGTERM.
serving = functools.partial(running, cwd=ROOT, quiet=True, timeout_s=90, grace_s=15)
Page = Any  # playwright.sync_api.Page
NEW_PARCEL_SHOWN = """pid => {
    const caption = document.querySelector('.cbm-timeseries .cbm-caption')?.textContent || '';
    const card = document.querySelector('.cbm-card .cbm-pid')?.textContent || '';
    return card && card !== pid && caption.includes(card); }"""


def api_command(port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "backend.api.app:app_from_env", "--factory", "--host",
            "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"]


def timed(action: Callable[[], None]) -> float:
    t0 = time.perf_counter()
    action()
    return time.perf_counter() - t0


def shows(page: Page, pid: str) -> None:
    """Wait until the chart's caption and the card both name ``pid``."""
    page.locator(".cbm-timeseries .cbm-caption", has_text=pid).wait_for(timeout=TIMEOUT_MS)
    page.locator(".cbm-card .cbm-pid", has_text=pid).wait_for(timeout=TIMEOUT_MS)


def lookup_run(browser: Any, base: str, pid: str, other: str) -> dict[str, list[float]]:
    """Deep link ``pid``, then search ``other``, then click a neighbouring parcel; seconds per step."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    t0 = time.perf_counter()
    page.goto(f"{base}/voila/render/parcel_lookup.ipynb?{DEMO}&parcel_id={pid}", timeout=TIMEOUT_MS)
    page.locator(".cbm-timeseries .cbm-caption", has_text=pid).wait_for(timeout=TIMEOUT_MS)
    page.wait_for_selector(f'.cbm-map path[stroke="{SELECTED_STROKE}"]', timeout=TIMEOUT_MS)
    deep = time.perf_counter() - t0
    page.wait_for_timeout(1500)  # let the card, peers and chips finish loading

    def search() -> None:
        box = page.locator(".cbm-search input")
        box.fill(other)
        box.press("Enter")
        shows(page, other)

    clicks = [timed(search)]
    page.wait_for_timeout(1500)
    clicks.append(click_neighbour(page, other))
    context.close()
    return {"deep link": [deep], "click": [c for c in clicks if c == c]}


def click_neighbour(page: Page, current: str) -> float:
    """Click the map beside the selected parcel until another parcel shows in the card and chart."""
    box = page.locator(".cbm-map .leaflet-container").bounding_box()
    for dx, dy in ((-0.22, 0.18), (-0.3, -0.1), (0.1, 0.3)):
        t0 = time.perf_counter()
        page.mouse.click(box["x"] + box["width"] * (0.5 + dx), box["y"] + box["height"] * (0.5 + dy))
        try:
            page.wait_for_function(
                NEW_PARCEL_SHOWN, arg=current, timeout=10_000)
        except Exception:  # a gap between parcels: try elsewhere
            continue
        return time.perf_counter() - t0
    return float("nan")


def review_run(browser: Any, base: str, pid: str, reviews: int = 3) -> dict[str, list[float]]:
    """Open the review app on ``pid`` and time ``reviews`` confirmations until "Saved" shows."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{base}/voila/render/review.ipynb?{DEMO}&parcel_id={pid}", timeout=TIMEOUT_MS)
    page.locator(".cbm-card .cbm-pid", has_text=pid).wait_for(timeout=TIMEOUT_MS)
    page.locator(".cbm-review-confirm").wait_for(timeout=TIMEOUT_MS)
    page.wait_for_timeout(1500)  # let the chart, chips and queue finish loading
    out = []
    for _ in range(reviews):
        page.locator(".cbm-review-comment textarea").fill(MARK)
        page.wait_for_timeout(300)  # the typed comment reaches the kernel

        def confirm() -> None:
            page.locator(".cbm-review-confirm").click()
            page.locator(".cbm-review-saved", has_text="Saved").wait_for(timeout=TIMEOUT_MS)

        out.append(timed(confirm))
    context.close()
    return {"review": out}


def delete_bench_reviews() -> None:
    """Delete the reviews this bench stored; the queues of their runs are rebuilt on the next read."""
    with connect(load_settings(demo_mode=True), autocommit=True) as conn:
        runs = conn.execute("DELETE FROM reviews WHERE comment = %s RETURNING run_id", (MARK,)).fetchall()
        conn.execute("DELETE FROM review_queue_builds WHERE run_id = ANY(%s)",
                     (list({r["run_id"] for r in runs}),))


def measure(api_url: str, preheat: bool, runs: int, pause: float) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    port = free_port()
    env = serve.environment(ROOT / "var", {**os.environ, "CBM_API_URL": api_url, "CBM_API_USER": "admin",
                                           "CBM_API_PASSWORD": DEMO_ADMIN_PASSWORD})
    base = f"http://127.0.0.1:{port}"
    results: dict[str, list[float]] = {"deep link": [], "click": [], "review": []}
    try:
        with serving(serve.command(port, preheat=preheat), base, "Voilà", env=env), sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            time.sleep(pause)  # the preheated kernels start with the server
            for i in range(runs + 1):
                got = lookup_run(browser, base, f"P{10 + 7 * i:06d}", f"P{11 + 7 * i:06d}")
                got |= review_run(browser, base, f"P{12 + 7 * i:06d}")
                print(f"  run {i}: " + ", ".join(f"{k} " + "/".join(f"{v:.2f}" for v in vs)
                                                 for k, vs in got.items()), flush=True)
                if i:
                    for key, values in got.items():
                        results[key] += values
                time.sleep(pause)
            browser.close()
    finally:
        delete_bench_reviews()
    return results


def p95(values: list[float]) -> float:
    """The 95th percentile (the largest value below 20 samples)."""
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


def report(columns: dict[str, dict[str, list[float]]]) -> None:
    """One row per target, one column (p50 / p95 in ms or s, and ok/MISSED on the p95) per mode."""
    print(f"\n{'measure':<32}{'target':>10}" + "".join(f"{name:>34}" for name in columns))
    for key, label, target in TARGETS:
        cells = []
        for values in columns.values():
            got = values.get(key) or []
            if not got:
                cells.append(f"{'no measurement':>34}")
                continue
            scale, unit = (1000, "ms") if target < 1 else (1, "s")
            verdict = "ok" if p95(got) <= target else "MISSED"
            cells.append(f"{statistics.median(got) * scale:>9.2f} / {p95(got) * scale:.2f} {unit} "
                         f"(n={len(got)}) {verdict:>6}".rjust(34))
        limit = f"{target * 1000:.0f} ms" if target < 1 else f"{target:g} s"
        print(f"{label:<32}{'<= ' + limit:>10}" + "".join(cells))
    print("cells: p50 / p95; the verdict is on the p95")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pause", type=float, default=8.0, help="seconds between runs (pool refill)")
    ap.add_argument("--cold", action="store_true", help="also measure Voilà without preheated kernels")
    ap.add_argument("--queue-parcels", type=int, default=100_000)
    ap.add_argument("--queue-repeat", type=int, default=10)
    args = ap.parse_args()
    with ui_queue.queue_api(args.queue_parcels) as (url, fill_s):
        queue = ui_queue.measure(url, args.queue_repeat)
    ui_queue.report(queue, args.queue_parcels, fill_s)
    pages = [v for k, vs in queue.items() if not k.startswith(("_", "first")) for v in vs]
    port = free_port()
    api_url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CBM_DEMO_MODE": "true", "CBM_API_RATE_PER_MINUTE": str(10**9),
           "CBM_API_RATE_BURST": str(10**9)}
    with serving(api_command(port), f"{api_url}/health", "API", env=env):
        modes = [("preheated kernels", True)] + ([("no preheating", False)] if args.cold else [])
        columns = {label: measure(api_url, preheat, args.runs, args.pause) | {"queue": pages}
                   for label, preheat in modes}
    report(columns)


if __name__ == "__main__":
    main()
