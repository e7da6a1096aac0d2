"""Dashboard benchmark: deep link -> map + chart drawn, and search / map click -> chart updated.

    .venv/bin/python bench/ui.py --runs 5            # needs the demo area (`cbm demo run`)
    .venv/bin/python bench/ui.py --runs 5 --cold     # also without preheated kernels

Starts the real API (``uvicorn backend.api.app:app_from_env``, demo settings, project database)
and a real Voilà (``apps/serve.py``: offline template, one preheated kernel per app) on free
loopback ports, then drives Debian's Chromium with Playwright. Each run opens
``parcel_lookup.ipynb?aoi=demo&year=2025&parcel_id=...`` (a different parcel each run) in a fresh
browser context and times, from ``page.goto``:

* ``layout``: the map (``.leaflet-container``) and the chart (``svg.svg-figure``) are drawn;
* ``deep link``: the chart's caption names the parcel (it is set after the chart's marks) and the
  selected parcel is outlined on the map: the issue's "map + chart rendered" (target <= 4 s);

then, on that page, ``search`` (type another parcel id + Enter) and ``click`` (click a
neighbouring parcel on the map) until the chart's caption names the new parcel (target <= 1 s).
Between runs it waits ``--pause`` seconds so that Voilà can refill its pool of preheated kernels
(a second visitor within those seconds waits for a kernel). Prints the p50 (and max) of each.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "apps"))

import serve  # noqa: E402

from backend.procs import free_port, running  # noqa: E402
from backend.settings import DEMO_ADMIN_PASSWORD  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
SELECTED_STROKE = "#d81b60"  # cbm_widgets.map_layers.SELECTED
TIMEOUT_MS = 60_000
DEMO = "aoi=demo&year=2025"
# Voilà and the API: output discarded, up to 90 s to start, 15 s to stop after SIGTERM.
serving = functools.partial(running, cwd=ROOT, quiet=True, timeout_s=90, grace_s=15)



def api_command(port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "backend.api.app:app_from_env", "--factory", "--host",
            "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"]


def timed(action: Callable[[], None]) -> float:
    t0 = time.perf_counter()
    action()
    return time.perf_counter() - t0


def caption_names(page: object, pid: str) -> Callable[[], None]:
    return lambda: page.locator(".cbm-timeseries .cbm-caption", has_text=pid).wait_for(  # type: ignore[attr-defined]
        timeout=TIMEOUT_MS)


def one_run(browser: object, base: str, pid: str, other: str) -> dict[str, float]:
    """Open a deep link, then search ``other``, then click a neighbouring parcel; seconds per step."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    page = context.new_page()
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    page.goto(f"{base}/voila/render/parcel_lookup.ipynb?{DEMO}&parcel_id={pid}", timeout=TIMEOUT_MS)
    page.wait_for_selector(".cbm-map .leaflet-container", timeout=TIMEOUT_MS)
    page.wait_for_selector(".cbm-timeseries svg.svg-figure", timeout=TIMEOUT_MS)
    out["layout"] = time.perf_counter() - t0
    caption_names(page, pid)()
    page.wait_for_selector(f'.cbm-map path[stroke="{SELECTED_STROKE}"]', timeout=TIMEOUT_MS)
    out["deep link"] = time.perf_counter() - t0
    page.wait_for_timeout(1500)  # let the card, peers and chips finish loading

    def search() -> None:
        box = page.locator(".cbm-search input")
        box.fill(other)
        box.press("Enter")
        caption_names(page, other)()

    out["search"] = timed(search)
    page.wait_for_timeout(1500)
    out["click"] = click_neighbour(page, other)
    context.close()
    return out


def click_neighbour(page: object, current: str) -> float:
    """Click the map left of and below the selected parcel until another parcel is selected."""
    box = page.locator(".cbm-map .leaflet-container").bounding_box()  # type: ignore[attr-defined]
    caption = page.locator(".cbm-timeseries .cbm-caption")  # type: ignore[attr-defined]
    for dx, dy in ((-0.22, 0.18), (-0.3, -0.1), (0.1, 0.3)):
        t0 = time.perf_counter()
        page.mouse.click(box["x"] + box["width"] * (0.5 + dx), box["y"] + box["height"] * (0.5 + dy))  # type: ignore[attr-defined]
        try:
            page.wait_for_function("([el, pid]) => el.textContent && !el.textContent.includes(pid)",  # type: ignore[attr-defined]
                                   arg=[caption.element_handle(), current], timeout=10_000)
        except Exception:  # a gap between parcels: try elsewhere
            continue
        return time.perf_counter() - t0
    return float("nan")


def report(label: str, runs: list[dict[str, float]]) -> None:
    print(f"\n{label} ({len(runs)} runs, seconds; first run discarded as warm-up)")
    for key, target in (("layout", None), ("deep link", 4.0), ("search", 1.0), ("click", 1.0)):
        values = [r[key] for r in runs if r[key] == r[key]]
        if not values:
            print(f"  {key:<10} no measurement")
            continue
        p50 = statistics.median(values)
        goal = f"  target <= {target:g} s: {'ok' if p50 <= target else 'MISSED'}" if target else ""
        print(f"  {key:<10} p50 {p50:5.2f}  max {max(values):5.2f}{goal}")


def measure(api_url: str, preheat: bool, runs: int, pause: float) -> list[dict[str, float]]:
    from playwright.sync_api import sync_playwright

    port = free_port()
    env = serve.environment(ROOT / "var", {**os.environ, "CBM_API_URL": api_url, "CBM_API_USER": "admin",
                                           "CBM_API_PASSWORD": DEMO_ADMIN_PASSWORD})
    base = f"http://127.0.0.1:{port}"
    results = []
    with serving(serve.command(port, preheat=preheat), base, "Voilà", env=env), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        time.sleep(pause)  # the preheated kernels start with the server
        for i in range(runs + 1):
            pid, other = f"P{10 + 7 * i:06d}", f"P{11 + 7 * i:06d}"
            result = one_run(browser, base, pid, other)
            print(f"  run {i}: " + ", ".join(f"{k} {v:.2f}" for k, v in result.items()), flush=True)
            if i:
                results.append(result)
            time.sleep(pause)
        browser.close()
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pause", type=float, default=8.0, help="seconds between runs (pool refill)")
    ap.add_argument("--cold", action="store_true", help="also measure Voilà without preheated kernels")
    args = ap.parse_args()
    port = free_port()
    api_url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CBM_DEMO_MODE": "true", "CBM_API_RATE_PER_MINUTE": str(10**9),
           "CBM_API_RATE_BURST": str(10**9)}
    with serving(api_command(port), f"{api_url}/health", "API", env=env):
        modes = [("preheated kernels", True)] + ([("no preheating", False)] if args.cold else [])
        results = {label: measure(api_url, preheat, args.runs, args.pause) for label, preheat in modes}
    for label, runs in results.items():
        report(f"parcel_lookup, {label}", runs)


if __name__ == "__main__":
    main()
