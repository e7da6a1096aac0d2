"""Dashboard benchmark: the issue-21 targets side by side in one run.

    .venv/bin/python bench/ui.py --runs 5            # needs the demo area (`cbm demo run`)
    .venv/bin/python bench/ui.py --runs 5 --cold     # also without preheated kernels
    .venv/bin/python bench/ui.py --runs 3 --no-queue --voila-defaults  # also Voilà's pool refill delay

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
loopback ports, then drives Debian's Chromium with Playwright. Between runs it waits until Voilà
is idle (its preheated kernels refilled; at most ``--pause`` seconds). The first run is a
warm-up and not counted.

The targets are for a quiet machine; on a shared one the wall times follow the load average
(printed at the start and the end). So beside each deep link and click it prints where the CPU
went (``psutil``): the page's kernel, the rest of Voilà (server, refilling its kernel pool), the
API process and Chromium (browser, renderer and GPU processes).
``bench/ui_kernel.py`` breaks a click down further: its API requests and widget messages.
A step that times out is reported with the messages on the page and left out of the figures.
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
sys.path.insert(0, str(ROOT / "tests"))

import psutil  # noqa: E402
import serve  # noqa: E402
import ui_queue  # noqa: E402
from procs import free_port, running  # noqa: E402

from backend.db import connect  # noqa: E402
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
KERNEL_ID = """() => { const el = document.getElementById('jupyter-config-data');
                      return el ? JSON.parse(el.textContent).kernelId || '' : ''; }"""
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


class Cpu:
    """CPU seconds of the page's kernel, the rest of Voilà, the API and the page's renderer, per step.

    ``kernel`` is the Voilà kernel that served the page: of the processes Voilà had before the
    page was opened, the one that worked most while it loaded (the others wait for their app's
    page; kernels started after it refill the pool and count as ``voila``).
    """

    def __init__(self, voila: psutil.Process, api: psutil.Process | None) -> None:
        self.voila, self.api = voila, api
        self.kernel: psutil.Process | None = None
        self.rows: list[dict[str, Any]] = []

    def _processes(self) -> dict[int, float]:
        out = {}
        for proc in [self.voila, *self.voila.children(recursive=True)]:
            try:
                out[proc.pid] = sum(proc.cpu_times()[:2])
            except psutil.Error:  # ended meanwhile
                continue
        return out

    @staticmethod
    def _chromium() -> dict[int, float]:
        """CPU seconds of each Chromium process this bench runs (browser, renderers, GPU, utilities)."""
        out = {}
        for proc in psutil.Process().children(recursive=True):
            try:
                if "chrom" in proc.name():
                    out[proc.pid] = sum(proc.cpu_times()[:2])
            except psutil.Error:
                continue
        return out

    def snapshot(self) -> dict[str, Any]:
        return {"procs": self._processes(), "chromium": self._chromium(),
                "api": sum(self.api.cpu_times()[:2]) if self.api else float("nan")}

    def attach(self, page: Page, before: dict[str, Any]) -> None:
        """After the page loaded: find its kernel (by the kernel id in the page's Jupyter config)."""
        try:
            kernel_id = page.evaluate(KERNEL_ID)
        except Exception:  # no such config in this template: found by the CPU it used instead
            kernel_id = ""
        self.kernel = None
        for proc in self.voila.children(recursive=True):
            try:
                if kernel_id and any(kernel_id in part for part in proc.cmdline()):
                    self.kernel = proc
            except psutil.Error:
                continue
        if self.kernel is None:  # no id: the old process that worked most while the page loaded
            now = self._processes()
            old = {pid: now[pid] - cpu for pid, cpu in before["procs"].items()
                   if pid in now and pid != self.voila.pid}
            self.kernel = psutil.Process(max(old, key=old.__getitem__)) if old else None

    def settle(self, longest_s: float) -> None:
        """Wait until Voilà and its kernels are idle (its pool refilled), at most ``longest_s``."""
        deadline = time.monotonic() + longest_s
        while time.monotonic() < deadline:
            before = sum(self._processes().values())
            time.sleep(0.5)
            if sum(self._processes().values()) - before < 0.05:
                return

    def step(self, what: str, wall: float, before: dict[str, Any]) -> None:
        after = self.snapshot()
        procs = {pid: cpu - before["procs"].get(pid, 0.0) for pid, cpu in after["procs"].items()}
        kernel = procs.pop(self.kernel.pid, 0.0) if self.kernel else float("nan")
        browser = sum(cpu - before["chromium"].get(pid, 0.0) for pid, cpu in after["chromium"].items())
        self.rows.append({"what": what, "wall": wall, "kernel": kernel, "voila": sum(procs.values()),
                          "api": after["api"] - before["api"], "chromium": browser})

    def detach(self) -> None:
        self.kernel = None


def shows(page: Page, pid: str) -> None:
    """Wait until the chart's caption and the card both name ``pid``."""
    page.locator(".cbm-timeseries .cbm-caption", has_text=pid).wait_for(timeout=TIMEOUT_MS)
    page.locator(".cbm-card .cbm-pid", has_text=pid).wait_for(timeout=TIMEOUT_MS)


def page_errors(page: Page) -> str:
    """The messages the page shows (for a step that timed out)."""
    try:
        return "; ".join(page.locator(".cbm-error").all_inner_texts()) or "no message on the page"
    except Exception as exc:  # the page itself is gone
        return f"page unreadable: {exc}"


def lookup_run(browser: Any, base: str, pid: str, other: str, cpu: Cpu) -> dict[str, list[float]]:
    """Deep link ``pid``, then search ``other``, then click a neighbouring parcel; seconds per step."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    out: dict[str, list[float]] = {"deep link": [], "click": []}
    try:
        before = cpu.snapshot()
        t0 = time.perf_counter()
        page.goto(f"{base}/voila/render/parcel_lookup.ipynb?{DEMO}&parcel_id={pid}", timeout=TIMEOUT_MS)
        page.locator(".cbm-timeseries .cbm-caption", has_text=pid).wait_for(timeout=TIMEOUT_MS)
        page.wait_for_selector(f'.cbm-map path[stroke="{SELECTED_STROKE}"]', timeout=TIMEOUT_MS)
        out["deep link"].append(time.perf_counter() - t0)
        cpu.attach(page, before)
        cpu.step("deep link", out["deep link"][0], before)
        page.wait_for_timeout(1500)  # let the card, peers and chips finish loading

        def search() -> None:
            box = page.locator(".cbm-search input")
            box.fill(other)
            box.press("Enter")
            shows(page, other)

        before = cpu.snapshot()
        out["click"].append(timed(search))
        cpu.step("search", out["click"][-1], before)
        page.wait_for_timeout(1500)
        before = cpu.snapshot()
        clicked = click_neighbour(page, other)
        if clicked == clicked:
            out["click"].append(clicked)
            cpu.step("map click", clicked, before)
    except Exception as exc:  # a timeout: say what the page shows, go on with the next run
        print(f"  lookup {pid}: {type(exc).__name__} ({str(exc).splitlines()[0][:160]}): {page_errors(page)}",
              flush=True)
    finally:
        cpu.detach()
        context.close()
    return out


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
    out: list[float] = []
    try:
        page.goto(f"{base}/voila/render/review.ipynb?{DEMO}&parcel_id={pid}", timeout=TIMEOUT_MS)
        page.locator(".cbm-card .cbm-pid", has_text=pid).wait_for(timeout=TIMEOUT_MS)
        page.locator(".cbm-review-confirm").wait_for(timeout=TIMEOUT_MS)
        page.wait_for_timeout(1500)  # let the chart, chips and queue finish loading
        for _ in range(reviews):
            page.locator(".cbm-review-comment textarea").fill(MARK)
            page.wait_for_timeout(300)  # the typed comment reaches the kernel

            def confirm() -> None:
                page.locator(".cbm-review-confirm").click()
                page.locator(".cbm-review-saved", has_text="Saved").wait_for(timeout=TIMEOUT_MS)

            out.append(timed(confirm))
    except Exception as exc:  # a timeout: say what the page shows, go on with the next run
        print(f"  review {pid}: {type(exc).__name__} ({str(exc).splitlines()[0][:160]}): {page_errors(page)}",
              flush=True)
    finally:
        context.close()
    return {"review": out}


def delete_bench_reviews() -> None:
    """Delete the reviews this bench stored; the queues of their runs are rebuilt on the next read."""
    with connect(load_settings(demo_mode=True), autocommit=True) as conn:
        runs = conn.execute("DELETE FROM reviews WHERE comment = %s RETURNING run_id", (MARK,)).fetchall()
        conn.execute("DELETE FROM review_queue_builds WHERE run_id = ANY(%s)",
                     (list({r["run_id"] for r in runs}),))


def measure(api_url: str, api: psutil.Process | None, options: dict[str, Any], runs: int, pause: float,
            logs: Path | None = None) -> tuple[dict[str, list[float]], list[dict[str, Any]]]:
    """Deep link, click and review steps against a Voilà started by ``serve.command(port, **options)``."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    env = serve.environment(ROOT / "var", {**os.environ, "CBM_API_URL": api_url, "CBM_API_USER": "admin",
                                           "CBM_API_PASSWORD": DEMO_ADMIN_PASSWORD})
    base = f"http://127.0.0.1:{port}"
    results: dict[str, list[float]] = {"deep link": [], "click": [], "review": []}
    try:
        log = logs / f"voila-{len(list(logs.glob('voila-*.log')))}.log" if logs else None
        with serving(serve.command(port, **options), base, "Voilà", env=env, log=log) as proc, \
                sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            cpu = Cpu(psutil.Process(proc.pid), api)
            cpu.settle(max(pause, 60.0))  # the preheated kernels start with the server
            for i in range(runs + 1):
                warm = len(cpu.rows)
                got = lookup_run(browser, base, f"P{10 + 7 * i:06d}", f"P{11 + 7 * i:06d}", cpu)
                got |= review_run(browser, base, f"P{12 + 7 * i:06d}")
                print(f"  run {i}: " + ", ".join(f"{k} " + "/".join(f"{v:.2f}" for v in vs)
                                                 for k, vs in got.items()), flush=True)
                if i:
                    for key, values in got.items():
                        results[key] += values
                else:
                    del cpu.rows[warm:]  # the warm-up run is not counted
                cpu.settle(pause)
            browser.close()
    finally:
        delete_bench_reviews()
    return results, cpu.rows


def p95(values: list[float]) -> float:
    """The 95th percentile (the largest value below 20 samples)."""
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


def report_cpu(label: str, rows: list[dict[str, Any]]) -> None:
    """Median wall and CPU seconds per kind of step (deep link, search, map click)."""
    print(f"\nwhere the CPU went ({label}; median seconds per step)")
    print(f"  {'step':<10}{'n':>3}{'wall':>8}{'kernel':>8}{'voila':>8}{'API':>8}{'chromium':>9}")
    for what in dict.fromkeys(r["what"] for r in rows):
        mine = [r for r in rows if r["what"] == what]
        cells = "".join(f"{statistics.median(r[k] for r in mine):8.2f}"
                        for k in ("wall", "kernel", "voila", "api", "chromium"))
        print(f"  {what:<10}{len(mine):>3}{cells}")
    print("  (voila: Voilà's server and the kernels it starts to refill its pool meanwhile)")


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


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} cores"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pause", type=float, default=30.0,
                    help="longest wait between runs for Voilà to be idle again (its pool refilled)")
    ap.add_argument("--cold", action="store_true", help="also measure Voilà without preheated kernels")
    ap.add_argument("--voila-defaults", action="store_true",
                    help="also measure the preheated kernels with Voilà's default pool refill delay (1 s) "
                         "and extension list (apps/serve.py: FILL_DELAY_S, DENYLIST)")
    ap.add_argument("--queue-parcels", type=int, default=100_000)
    ap.add_argument("--queue-repeat", type=int, default=10)
    ap.add_argument("--no-queue", action="store_true", help="leave out the queue pages (bench/ui_queue.py)")
    ap.add_argument("--logs", type=Path, help="write the API's and Voilà's output into this folder")
    args = ap.parse_args()
    print(f"start: {load()}", flush=True)
    pages: list[float] = []
    if not args.no_queue:
        with ui_queue.queue_api(args.queue_parcels) as (url, fill_s):
            queue = ui_queue.measure(url, args.queue_repeat)
        ui_queue.report(queue, args.queue_parcels, fill_s)
        pages = [v for k, vs in queue.items() if not k.startswith(("_", "first")) for v in vs]
    port = free_port()
    api_url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CBM_DEMO_MODE": "true", "CBM_API_RATE_PER_MINUTE": str(10**9),
           "CBM_API_RATE_BURST": str(10**9)}
    columns, cpu = {}, {}
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)
    api_log = args.logs / "api.log" if args.logs else None
    with serving(api_command(port), f"{api_url}/health", "API", env=env, log=api_log) as api:
        modes: list[tuple[str, dict[str, Any]]] = [("preheated kernels", {"preheat": True})]
        if args.voila_defaults:
            modes.append(("Voila defaults", {"preheat": True, "fill_delay_s": 1.0,
                                             "denylist": '["@jupyter-notebook/lab-extension"]'}))
        if args.cold:
            modes.append(("no preheating", {"preheat": False}))
        for label, options in modes:
            times, cpu[label] = measure(api_url, psutil.Process(api.pid), options, args.runs, args.pause,
                                        args.logs)
            columns[label] = times | {"queue": pages}
    for label, rows in cpu.items():
        report_cpu(label, rows)
    report(columns)
    print(f"end: {load()}")


if __name__ == "__main__":
    main()
