"""The ``progress=`` hook of long-running functions: ``True`` (a tqdm bar), ``False``, or tqdm-like.

A tqdm-like object needs ``update(n)``; ``set_postfix(**kw)`` and ``total`` are used when it
has them. Bars made here (``progress=True``) are closed here; the caller's object is left open.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sized
from typing import Any, Protocol, TypeVar

from tqdm.auto import tqdm  # a widget in notebooks, text elsewhere

T = TypeVar("T")


class ProgressLike(Protocol):
    """What a ``progress=`` object must do (tqdm satisfies it)."""

    def update(self, n: float | None = 1) -> bool | None:
        """Advance by ``n`` steps."""


@contextlib.contextmanager
def progress_bar(progress: bool | ProgressLike | None, *, total: int | None = None, desc: str,
                 unit: str) -> Iterator[ProgressLike | None]:
    """The bar a ``progress=`` argument asks for: a new tqdm bar (True), the caller's object, or None.

    A caller's object whose ``total`` is None gets ``total``.
    """
    if progress is True:
        with tqdm(total=total, desc=desc, unit=unit) as bar:
            yield bar
        return
    if progress is False or progress is None:
        yield None
        return
    if total is not None and getattr(progress, "total", 0) is None:
        setattr(progress, "total", total)  # noqa: B010 (ProgressLike has no total)
    yield progress


def with_progress(items: Iterable[T], progress: bool | Any, *, desc: str, unit: str) -> Iterator[T]:
    """Yield ``items``, ticking a new tqdm bar (``progress=True``) or the caller's object (``update(1)``)."""
    total = len(items) if isinstance(items, Sized) else None
    with progress_bar(progress, total=total, desc=desc, unit=unit) as bar:
        for item in items:
            yield item
            if bar is not None:
                bar.update(1)
