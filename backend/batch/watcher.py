"""``cbm batch watch``: poll for claimable extraction jobs and start a batch run for them.

One Dask cluster serves every run of the watch. A first SIGTERM/Ctrl-C lets the running chunks
finish (their jobs complete) and starts nothing new; a second one aborts the run and releases
the jobs its workers hold.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from backend.batch import chunking
from backend.batch.params import set_key, set_parameters
from backend.batch.records import BatchRun
from backend.batch.runner import local_cluster, run_batch
from backend.parcels.sets import ParcelSetKey
from backend.settings import Settings

log = logging.getLogger(__name__)


def watch(
    settings: Settings, notebook: str | Path, parameters: dict[str, Any], *, stop: threading.Event,
    every: float | None = None, source: str | None = None, chunks: int | None = None,
    scheduler: str | None = None, retries: int | None = None, max_runs: int | None = None,
    on_event: Callable[[str], None] | None = None,
) -> list[BatchRun]:
    """Every ``every`` seconds, start a run for each parcel set with claimable jobs, until ``stop``.

    Args:
        settings: settings (``batch_watch_s`` is the default interval).
        notebook: the batch notebook, e.g. ``notebooks/batch/extract.ipynb``.
        parameters: notebook parameters; with ``aoi`` and ``year`` (and ``ptype`` for a variant)
            only that set is watched, otherwise every set (variants too).
        stop: set it (e.g. from a signal handler) to stop after the current chunks.
        every: poll interval in seconds.
        source: a STAC source re-read before each poll (new images create new jobs).
        chunks: chunks per run (default: see ``run_batch``).
        scheduler: a running Dask scheduler; None starts one ``LocalCluster`` for the watch.
        retries: chunk retries per run.
        max_runs: stop after this many runs (for tests and one-shot cron use).
        on_event: receives human-readable lines.

    Returns:
        The runs started, oldest first.
    """
    interval = every if every is not None else settings.batch_watch_s
    runs: list[BatchRun] = []
    with contextlib.ExitStack() as stack:
        if scheduler is None:
            scheduler = str(stack.enter_context(local_cluster(settings)).scheduler_address)
        while not stop.is_set() and (max_runs is None or len(runs) < max_runs):
            for key in _targets(settings, parameters, source):
                if stop.is_set() or (max_runs is not None and len(runs) >= max_runs):
                    break
                runs.append(run_batch(settings, notebook, {**parameters, **set_parameters(key)},
                                      chunks=chunks, scheduler=scheduler, retries=retries, stop=stop,
                                      on_event=on_event))
            stop.wait(interval)
    return runs


def _targets(settings: Settings, parameters: dict[str, Any], source: str | None) -> list[ParcelSetKey]:
    if source is not None:
        from backend.catalogue import add_source

        log.info("catalogue %s: %s", source, add_source(settings, source))
    sets = [key for key, _ in chunking.sets_with_work(settings)]
    wanted = set_key(parameters)
    return sets if wanted is None else [s for s in sets if s == wanted]


@contextlib.contextmanager
def graceful_signals(stop: threading.Event, on_event: Callable[[str], None]) -> Iterator[None]:
    """SIGINT/SIGTERM: the first sets ``stop``, the second raises KeyboardInterrupt (abort)."""

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        on_event(f"{signal.Signals(signum).name}: finishing the running chunks (again to abort)")
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
