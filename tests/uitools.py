"""Browser-test helpers: a watched page (external requests, console errors) and screenshots."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ARTIFACTS = Path(__file__).resolve().parents[1] / "var" / "test-artifacts"  # the checkout's var/
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
LOAD_MS = 60_000  # a dashboard's page, kernel and first data
MAP_AND_CHART = (".leaflet-container", "svg.svg-figure")


@dataclass
class Watched:
    """A page with the requests it tried outside loopback and its console errors."""

    page: Any
    external: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def check(self) -> None:
        assert not self.external, f"requests outside loopback: {self.external}"
        assert not self.errors, f"browser console errors: {self.errors}"

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


def watch(page: Any) -> Watched:
    """Watch ``page``: block and record requests outside loopback, record console/page errors."""
    w = Watched(page)

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).hostname in LOOPBACK:
            r.continue_()
        else:
            w.external.append(url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: w.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: w.errors.append(str(e)))
    return w


def open_app(w: Watched, base: str, app: str, query: str, drawn: Sequence[str] = MAP_AND_CHART) -> float:
    """Open the Voilà app ``app`` with ``query``; returns seconds until the ``drawn`` selectors show."""
    t0 = time.monotonic()
    w.page.goto(f"{base}/voila/render/{app}.ipynb?{query}", timeout=LOAD_MS)
    for selector in drawn:
        w.page.wait_for_selector(selector, timeout=LOAD_MS)
    return time.monotonic() - t0


CLIPPED_BUTTONS = """() => [...document.querySelectorAll('button')]
    .filter(b => b.offsetParent !== null && b.getClientRects().length > 0)
    .filter(b => b.scrollWidth > b.clientWidth + 1
                 || b.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .map(b => `${(b.textContent || b.title || b.className).trim()} (${b.scrollWidth} > ${b.clientWidth} px`
              + ` or right edge ${Math.round(b.getBoundingClientRect().right)} px)`)"""


def clipped_buttons(w: Watched, width: int = 400) -> list[str]:
    """At a ``width`` px wide viewport: the visible buttons whose label is clipped or that stick out.

    A button's label is clipped when its content is wider than the button (``scrollWidth >
    clientWidth``: the widgets cut it with an ellipsis); a button whose right edge lies beyond the
    page's width cannot be read without scrolling sideways.
    """
    w.page.set_viewport_size({"width": width, "height": 900})
    w.page.wait_for_timeout(300)  # the layout (and bqplot's resize) follows the new width
    return list(w.page.evaluate(CLIPPED_BUTTONS))


def delete_reviews(settings: Any, comment: str) -> None:
    """Delete the reviews a browser test made (marked by their ``comment``) and let the queue rebuild.

    Each test file marks its reviews with a comment of its own, so that cleaning up after one test
    never deletes another's (the files may run at once on two pytest workers).
    """
    from backend.db import connect

    with connect(settings, autocommit=True) as conn:
        runs = conn.execute("DELETE FROM reviews WHERE comment = %s RETURNING run_id", (comment,)).fetchall()
        conn.execute("DELETE FROM review_queue_builds WHERE run_id = ANY(%s)",
                     (list({r["run_id"] for r in runs}),))
