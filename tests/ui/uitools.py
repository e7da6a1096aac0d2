"""Browser-test helpers: a watched page (external requests, console errors) and screenshots."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
