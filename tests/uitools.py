"""Browser-test helpers: a watched page (external requests, console errors) and screenshots."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


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
