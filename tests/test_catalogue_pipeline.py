"""The catalogue's overlapped stages (backend/catalogue/pipeline.py): order, errors, early stop."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator

import pytest

from backend.catalogue.pipeline import GC_GEN0_THRESHOLD, BatchWriter, fewer_gc_passes, read_ahead


def test_read_ahead_keeps_order_and_reads_ahead() -> None:
    produced: list[int] = []

    def source() -> Iterator[int]:
        for i in range(50):
            produced.append(i)
            yield i

    got = []
    for value in read_ahead(source(), depth=5):
        if value == 0:
            time.sleep(0.2)  # the thread fills the buffer meanwhile
            assert len(produced) >= 5
        got.append(value)
    assert got == list(range(50))


def test_read_ahead_raises_the_source_error_where_it_happened() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise OSError("page 2 failed")

    got = []
    with pytest.raises(OSError, match="page 2 failed"):
        for value in read_ahead(source(), depth=10):
            got.append(value)
    assert got == [1, 2]


def test_read_ahead_closed_early_stops_its_thread() -> None:
    produced: list[int] = []

    def source() -> Iterator[int]:
        for i in range(10_000):
            produced.append(i)
            yield i

    before = threading.active_count()
    reader = read_ahead(source(), depth=3)
    assert next(reader) == 0
    reader.close()
    assert threading.active_count() == before
    assert len(produced) <= 6  # stopped near the buffer's depth, not at the end of the source


def test_batch_writer_in_order_one_at_a_time() -> None:
    log: list[tuple[str, int]] = []
    busy = threading.Lock()

    def store(batch: int) -> int:
        assert busy.acquire(blocking=False), "two batches stored at once"
        log.append(("start", batch))
        time.sleep(0.02)
        log.append(("end", batch))
        busy.release()
        return batch * 10

    results = []
    with BatchWriter(store) as writer:
        for batch in range(4):
            results.append(writer.submit(batch))
        results.append(writer.finish())
    assert results == [None, 0, 10, 20, 30]
    assert log == [(what, b) for b in range(4) for what in ("start", "end")]


def test_batch_writer_raises_the_store_error_on_the_next_call() -> None:
    def store(batch: int) -> int:
        if batch == 1:
            raise ValueError("batch 1 broke")
        return batch

    with BatchWriter(store) as writer:
        assert writer.submit(0) is None
        assert writer.submit(1) == 0
        with pytest.raises(ValueError, match="batch 1 broke"):
            writer.submit(2)


def test_fewer_gc_passes_nests_and_restores() -> None:
    before = gc.get_threshold()
    with fewer_gc_passes():
        assert gc.get_threshold() == (max(GC_GEN0_THRESHOLD, before[0]), *before[1:])
        with fewer_gc_passes():
            pass
        assert gc.get_threshold()[0] == max(GC_GEN0_THRESHOLD, before[0])
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), fewer_gc_passes():
        raise RuntimeError("import failed")
    assert gc.get_threshold() == before
