"""The runner's event loop: submit chunks to Dask, collect executed notebooks, retry, record.

A chunk is finished when its notebook ran without error and none of its jobs is open any more
(the job queue is the truth: a killed kernel leaves its job 'running' until the lease expires).
A chunk with open jobs waits until their lease or backoff expires (or another runner finishes
them) and is then run again, up to ``retries`` times.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from distributed import Client, Future, wait

from backend.batch import records
from backend.batch.execute import ChunkOutcome, ChunkSpec, execute_chunk
from backend.batch.records import BatchRun, ChunkRecord, ChunkState
from backend.db import connect
from backend.settings import Settings

log = logging.getLogger(__name__)
RECHECK_S = 2.0


class ChunkLoop:
    """Runs the chunks of one recorded run on a Dask client until each is done or failed."""

    def __init__(self, settings: Settings, client: Client, run: BatchRun,
                 make_spec: Callable[[ChunkRecord], ChunkSpec], *, retries: int, bar: Any = None,
                 stop: threading.Event | None = None, on_event: Callable[[str], None] | None = None) -> None:
        self.settings, self.client, self.run, self.make_spec = settings, client, run, make_spec
        self.retries, self.bar, self.stop, self.on_event = retries, bar, stop, on_event
        self.queue: deque[ChunkRecord] = deque(run.chunks)
        self.waiting: dict[int, tuple[ChunkRecord, float, bool]] = {}  # chunk, ready at, notebook failed
        self.inflight: dict[Future, ChunkRecord] = {}
        self.slots = max(1, sum(client.nthreads().values()))
        self.out_dir = Path(run.output_dir or ".")
        self.stopped = False

    def execute(self) -> str:
        """Run every chunk; returns the run's final status (also written to the database)."""
        with connect(self.settings, autocommit=True) as conn:
            self.conn = conn
            try:
                self._loop()
                status = self._status()
            except KeyboardInterrupt:
                status = self._abort()
            records.finish_run(conn, self.run, status)
        return status

    def _loop(self) -> None:
        last_check = 0.0
        while self.queue or self.waiting or self.inflight:
            if self.stop is not None and self.stop.is_set() and not self.stopped:
                self._say(f"run {self.run.id}: stopping, waiting for {len(self.inflight)} running chunks")
                self.stopped = True
                self.queue.clear()
                self.waiting.clear()
            self._submit()
            for fut in self._wait_some():
                self._collect(fut, self.inflight.pop(fut))
            if time.monotonic() - last_check >= RECHECK_S:
                self._recheck()
                last_check = time.monotonic()

    def _wait_some(self) -> set[Future]:
        if not self.inflight:
            time.sleep(0.5)
            return set()
        try:
            return set(wait(list(self.inflight), timeout=1.0, return_when="FIRST_COMPLETED").done)
        except TimeoutError:
            return set()

    def _submit(self) -> None:
        while self.queue and len(self.inflight) < self.slots:
            c = self.queue.popleft()
            c.attempts += 1
            records.start_chunk(self.conn, self.run.id, c)
            key = f"cbm-{self.run.id}-{c.chunk}-{c.attempts}"
            fut = self.client.submit(execute_chunk, self.make_spec(c), key=key, pure=False)
            self.inflight[fut] = c

    def _collect(self, fut: Future, c: ChunkRecord) -> None:
        try:
            outcome: ChunkOutcome = fut.result()
        except Exception as exc:  # KilledWorker, lost connection: a failed attempt
            outcome = ChunkOutcome(c.chunk, c.attempts, None, f"{type(exc).__name__}: {exc}", 0.0, "?")
        self._save(c, outcome)
        if outcome.error:
            log.warning("run %s chunk %d attempt %d: %s", self.run.id, c.chunk, c.attempts, outcome.error)
        self._settle(c, records.chunk_state(self.conn, self.run.id, c), outcome.error)

    def _save(self, c: ChunkRecord, outcome: ChunkOutcome) -> None:
        path = Path(c.output_path or self.out_dir / f"chunk-{c.chunk:03d}.ipynb")
        if path.exists():  # keep the record of the previous attempt next to it
            path.rename(path.with_suffix(f".attempt-{c.attempts - 1}.ipynb"))
        if outcome.notebook is not None:
            path.write_text(outcome.notebook, encoding="utf-8")

    def _settle(self, c: ChunkRecord, st: ChunkState, error: str | None) -> None:
        c.rows_written = st.rows
        if st.n_open == 0 and error is None:
            self._finish(c, "failed" if st.n_failed else "done", "; ".join(st.errors[:5]) or None)
        elif c.attempts <= self.retries and not self.stopped and (st.n_open or error):
            c.error = error or f"{st.n_open} jobs still open"
            self.waiting[c.chunk] = (c, time.monotonic() + st.wait_s + 0.5, error is not None)
            self._say(f"chunk {c.chunk}: {c.error}; retry {c.attempts} of {self.retries} "
                      f"in {st.wait_s:.0f} s")
        else:
            reason = error or f"{st.n_open} jobs not finished after {c.attempts} attempts"
            self._finish(c, "failed", "; ".join([reason, *st.errors[:5]]))

    def _recheck(self) -> None:
        now = time.monotonic()
        for chunk, (c, ready_at, notebook_failed) in list(self.waiting.items()):
            st = records.chunk_state(self.conn, self.run.id, c)
            if st.n_open == 0 and not notebook_failed:
                del self.waiting[chunk]  # another worker finished them
                self._settle(c, st, None)
            elif now >= ready_at:
                del self.waiting[chunk]
                self.queue.append(c)

    def _finish(self, c: ChunkRecord, status: str, error: str | None) -> None:
        c.status, c.error = status, error
        records.finish_chunk(self.conn, self.run.id, c)
        if status == "failed":
            self._say(f"chunk {c.chunk} failed: {error}")
        if self.bar is not None:
            self.bar.update(1)
        if hasattr(self.bar, "set_postfix"):
            self.bar.set_postfix(rows=sum(x.rows_written for x in self.run.chunks),
                                 failed=sum(x.status == "failed" for x in self.run.chunks))

    def _status(self) -> str:
        done = sum(c.status == "done" for c in self.run.chunks)
        if done == len(self.run.chunks):
            return "done"
        if self.stopped:
            return "cancelled"
        return "failed" if done == 0 else "partial"

    def _abort(self) -> str:
        self.client.cancel(list(self.inflight), force=True)
        n = records.release_run_jobs(self.conn, self.run.id)
        self._say(f"run {self.run.id} interrupted: {n} held jobs released")
        return "cancelled"

    def _say(self, message: str) -> None:
        log.info("%s", message)
        if self.on_event is not None:
            self.on_event(message)
