"""Where a dashboard click spends its time in the kernel and in the API (no browser).

Used by ``bench/ui.py`` (its per-click profile); on its own (needs the demo area, `cbm demo run`):

    .venv/bin/python bench/ui_kernel.py --clicks 10

Starts the real API (``uvicorn``, demo settings, project database) as a subprocess and builds, in
this process, the widgets of ``apps/parcel_lookup.ipynb`` as its kernel does (map, card, chart,
chips, navigation, linked). It then selects parcels as a user does (deep link, search, a click on
the map at another parcel's centre) and records, per selection:

* wall time until the card and the chart name the parcel (the dashboard's answer), and in all;
* CPU seconds of this process (the kernel's work: widget updates, JSON decoding, pandas) and of
  the API process (``psutil``), in all;
* the API requests made (path, ms, bytes), and the widget state messages the kernel would send
  to the browser (count and JSON bytes, as a proxy for the browser's work).

Chip images are fetched at once here (no kernel event loop; in Voilà they load one per loop turn
after the card and chart), so "in all" includes them. CPU figures are the part a busy machine
cannot hide: the wall figures depend on the load average printed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import ipywidgets as w  # noqa: E402
import psutil  # noqa: E402
from procs import free_port, running  # noqa: E402

from backend.settings import DEMO_ADMIN_PASSWORD  # noqa: E402
from cbm_widgets import CbmClient, ChipGallery, ParcelCard, ParcelMap, TimeSeriesChart, link  # noqa: E402
from cbm_widgets.app import _apply, deep_link  # noqa: E402
from cbm_widgets.nav import Navigation  # noqa: E402

DEMO = "aoi=demo&year=2025"


def api_command(port: int) -> list[str]:
    """The API server command (access log off: this bench records the requests itself)."""
    return [sys.executable, "-m", "uvicorn", "backend.api.app:app_from_env", "--factory", "--host",
            "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"]


@contextmanager
def demo_api() -> Iterator[tuple[str, psutil.Process]]:
    """The API over the project database (demo mode, no rate limit); yields its URL and process."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CBM_DEMO_MODE": "true", "CBM_API_RATE_PER_MINUTE": str(10**9),
           "CBM_API_RATE_BURST": str(10**9)}
    quiet = not os.environ.get("CBM_BENCH_API_LOG")  # set it to see the API's errors
    with running(api_command(port), f"{url}/health", "API", env=env, cwd=ROOT, quiet=quiet, timeout_s=90,
                 grace_s=15) as proc:
        yield url, psutil.Process(proc.pid)


@dataclass
class Selection:
    """What one selection cost."""

    how: str
    answer_s: float = float("nan")  # until the card and the chart name the parcel
    total_s: float = 0.0
    kernel_cpu_s: float = 0.0
    api_cpu_s: float = 0.0
    requests: list[tuple[str, float, int]] = field(default_factory=list)  # path, ms, bytes
    messages: int = 0
    message_bytes: int = 0
    by_widget: Counter[str] = field(default_factory=Counter)  # messages per widget class
    opened: Counter[str] = field(default_factory=Counter)  # new widgets per class


class Recorder:
    """Counts the client's API requests and the widgets' state messages while recording."""

    def __init__(self, client: CbmClient) -> None:
        self.current: Selection | None = None
        original_get = client.get

        def get(path: str, **params: Any) -> Any:
            t0 = time.perf_counter()
            response = original_get(path, **params)
            if self.current is not None:
                name = urlsplit(path).path if path.startswith("http") else path
                self.current.requests.append((name, (time.perf_counter() - t0) * 1000, len(response.content)))
            return response

        setattr(client, "get", get)  # noqa: B010 (an instance attribute over the method)
        original_send = w.Widget._send

        def send(widget: w.Widget, msg: dict[str, Any], buffers: list[Any] | None = None) -> None:
            if self.current is not None:
                self.current.messages += 1
                self.current.by_widget[type(widget).__name__] += 1
                self.current.message_bytes += len(json.dumps(msg, default=str)) + sum(
                    len(memoryview(b).cast("B")) for b in buffers or [])
            original_send(widget, msg, buffers)

        setattr(w.Widget, "_send", send)  # noqa: B010
        original_open = w.Widget.open

        def open_(widget: w.Widget) -> None:  # a new widget: its whole state goes to the browser
            if self.current is not None:
                self.current.opened[type(widget).__name__] += 1
            original_open(widget)

        setattr(w.Widget, "open", open_)  # noqa: B010

    @contextmanager
    def record(self, how: str, api: psutil.Process) -> Iterator[Selection]:
        """Record one selection (wall, CPU of this process and of the API, requests, messages)."""
        sel = Selection(how)
        self.current = sel
        api0, cpu0, t0 = sum(api.cpu_times()[:2]), time.process_time(), time.perf_counter()
        sel.answer_s = float("nan")
        try:
            yield sel
        finally:
            sel.total_s = time.perf_counter() - t0
            sel.kernel_cpu_s = time.process_time() - cpu0
            sel.api_cpu_s = sum(api.cpu_times()[:2]) - api0
            self.current = None


class Lookup:
    """The widgets of ``apps/parcel_lookup.ipynb``, linked as there."""

    def __init__(self, client: CbmClient) -> None:
        self.client = client
        self.map, self.card = ParcelMap(client), ParcelCard(client)
        self.chart, self.chips = TimeSeriesChart(client), ChipGallery(client)
        self.nav = Navigation(client, "parcel_lookup", extra=DEMO)
        link(self.map, self.chart, self.card, self.chips, self.nav)
        self._t0 = 0.0
        self._answered: Callable[[float], None] = lambda _s: None
        self.card.body.observe(self._check, names="value")
        self.chart.caption.observe(self._check, names="value")

    def _check(self, _change: dict[str, Any]) -> None:
        pid = self.map.parcel_id
        if pid and pid in self.card.body.value and pid in self.chart.caption.value:
            self._answered(time.perf_counter() - self._t0)

    def watch(self, sel: Selection) -> None:
        """Note in ``sel`` when the card and chart both name the (new) parcel."""
        self._t0 = time.perf_counter()

        def answered(seconds: float) -> None:
            if sel.answer_s != sel.answer_s:  # the first time only
                sel.answer_s = seconds
        self._answered = answered

    def show_view(self) -> None:
        """Report a map view around its centre as the browser does after a move (about 1.1 x 0.7 km)."""
        lat, lon = (float(v) for v in self.map.map.center)
        self.map.map.set_trait("bounds", ((lat - 0.003, lon - 0.008), (lat + 0.003, lon + 0.008)))


def measure(api_url: str, api: psutil.Process, clicks: int) -> list[Selection]:
    """A deep link, then ``clicks`` selections alternating search and map click."""
    client = CbmClient(api_url, "admin", DEMO_ADMIN_PASSWORD)
    rec = Recorder(client)
    out: list[Selection] = []
    ui = Lookup(client)
    with rec.record("deep link", api) as sel:
        ui.watch(sel)
        _apply(ui.map, deep_link(client, f"{DEMO}&parcel_id=P000010"))
        ui.show_view()
    out.append(sel)
    for i in range(clicks):
        pid = f"P{11 + 7 * i:06d}"
        if i % 2 == 0:
            with rec.record("search", api) as sel:
                ui.watch(sel)
                ui.map.search.value = pid
                ui.show_view()
        else:
            target = client.parcel("demo", 2025, pid)  # outside the recording: the point a user clicks
            with rec.record("map click", api) as sel:
                ui.watch(sel)
                ui.map._interaction(type="click", coordinates=(target.lat, target.lon))
        assert ui.card.parcel_id == ui.map.parcel_id, (ui.card.parcel_id, ui.map.parcel_id)
        out.append(sel)
    return out


def report(selections: list[Selection]) -> None:
    """Per selection one line; then medians and the requests of a typical click."""
    print(f"\nper selection (load average {os.getloadavg()[0]:.1f}): wall until card+chart / in all, "
          "CPU kernel / API, requests, messages to the browser")
    for s in selections:
        kb = sum(b for *_, b in s.requests) / 1e3
        print(f"  {s.how:<10} {s.answer_s:6.2f} / {s.total_s:5.2f} s   CPU {s.kernel_cpu_s:5.2f} / "
              f"{s.api_cpu_s:5.2f} s   {len(s.requests):3d} requests {kb:7.0f} kB"
              f"   {s.messages:4d} messages {s.message_bytes / 1e3:6.0f} kB")
    clicks = selections[1:]
    if clicks:
        med = statistics.median
        print(f"  median of {len(clicks)} clicks: {med(s.answer_s for s in clicks):.2f} / "
              f"{med(s.total_s for s in clicks):.2f} s wall, CPU kernel "
              f"{med(s.kernel_cpu_s for s in clicks):.2f} s, API {med(s.api_cpu_s for s in clicks):.2f} s")
        last = clicks[-1]
        print(f"  messages of the last click ({last.how}) per widget class: "
              + ", ".join(f"{k} {n}" for k, n in last.by_widget.most_common(12)))
        print(f"  widgets created by it ({sum(last.opened.values())}): "
              + ", ".join(f"{k} {n}" for k, n in last.opened.most_common(12)))
        paths = Counter(p for p, *_ in last.requests)
        ms: dict[str, float] = {}
        size: dict[str, int] = {}
        for p, m, b in last.requests:
            ms[p], size[p] = ms.get(p, 0.0) + m, size.get(p, 0) + b
        print(f"  requests of the last click ({last.how}): path x count, ms, kB")
        for p, n in sorted(paths.items(), key=lambda kv: -ms[kv[0]]):
            print(f"    {p:<40} x{n:<3} {ms[p]:7.0f} ms {size[p] / 1e3:7.0f} kB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clicks", type=int, default=10)
    args = ap.parse_args()
    with demo_api() as (url, api):
        selections = measure(url, api, args.clicks)
    report(selections)


if __name__ == "__main__":
    main()
