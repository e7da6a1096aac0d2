"""Overlap the stages of a catalogue import: reading ahead of a source, storing behind validation.

A STAC API answers a page at a time and the database writes a batch at a time; both wait on a
socket, which releases the GIL. :func:`read_ahead` fetches the next pages in a thread while
the current ones are validated; :class:`BatchWriter` stores a batch in a thread while the next
one is validated. Each keeps the order of its input and re-raises its thread's exception in
the caller.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_DONE = object()
_PUT_TIMEOUT_S = 0.1


def read_ahead(items: Iterable[T], depth: int) -> Iterator[T]:
    """Yield ``items`` in order while a thread reads up to ``depth`` of them ahead.

    An exception of the underlying iterator is raised here, where it would have been raised
    without the thread. Closing this generator early stops the thread at its next item.
    """
    buffer: queue.Queue[Any] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def put(value: Any) -> bool:
        while not stop.is_set():
            try:
                buffer.put(value, timeout=_PUT_TIMEOUT_S)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((True, item)):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put((False, exc))
            return
        put(_DONE)

    thread = threading.Thread(target=produce, name="catalogue-read-ahead", daemon=True)
    thread.start()
    try:
        while (entry := buffer.get()) is not _DONE:
            ok, value = entry
            if not ok:
                raise value
            yield value
    finally:
        stop.set()
        thread.join()


class BatchWriter(Generic[R]):
    """Run ``store(batch)`` in one background thread, one batch at a time, in order.

    ``submit`` waits for the previous batch first and returns its result (None for the first),
    so at most one batch is being stored while the caller prepares the next; ``finish``
    returns the last result. Use as a context manager: leaving waits for the thread.
    """

    def __init__(self, store: Callable[[Any], R]) -> None:
        self._store = store
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="catalogue-store")
        self._pending: Future[R] | None = None

    def submit(self, batch: Any) -> R | None:
        """Wait for the batch being stored (its exception is raised here), then start ``batch``."""
        previous = self.finish()
        self._pending = self._pool.submit(self._store, batch)
        return previous

    def finish(self) -> R | None:
        """Wait for the batch being stored and return its result (None when there is none)."""
        pending, self._pending = self._pending, None
        return pending.result() if pending is not None else None

    def __enter__(self) -> BatchWriter[R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True)
