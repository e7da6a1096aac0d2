"""The ``progress=`` hook of long-running functions: ``True`` (a tqdm bar), ``False``, or tqdm-like."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from tqdm import tqdm

T = TypeVar("T")


def with_progress(items: Iterable[T], progress: bool | Any, *, desc: str, unit: str) -> Iterator[T]:
    """Yield ``items``, ticking a new tqdm bar (``progress=True``) or the caller's object (``update(1)``)."""
    if progress is True:
        yield from tqdm(items, desc=desc, unit=unit)
        return
    for item in items:
        yield item
        if progress:
            progress.update(1)
