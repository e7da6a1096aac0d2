"""The one ``progress=`` hook shape (``backend.progress``): True, False/None, or a tqdm-like object."""

from __future__ import annotations

from typing import Any

import pytest

from backend.progress import progress_bar, with_progress


class Counter:
    """A caller's tqdm-like object."""

    def __init__(self, total: Any = None) -> None:
        self.total, self.n, self.closed = total, 0, False

    def update(self, n: float | None = 1) -> None:
        self.n += int(n or 0)

    def close(self) -> None:
        self.closed = True


def test_callers_object_gets_updates_and_total_and_stays_open() -> None:
    counter = Counter()
    assert list(with_progress(["a", "b", "c"], counter, desc="x", unit="item")) == ["a", "b", "c"]
    assert (counter.n, counter.total, counter.closed) == (3, 3, False)


def test_callers_total_is_kept() -> None:
    counter = Counter(total=10)
    with progress_bar(counter, total=3, desc="x", unit="item") as bar:
        assert bar is counter
    assert counter.total == 10


@pytest.mark.parametrize("progress", [False, None])
def test_no_progress_gives_no_bar(progress: Any) -> None:
    with progress_bar(progress, total=3, desc="x", unit="item") as bar:
        assert bar is None
    assert list(with_progress(iter(range(4)), progress, desc="x", unit="item")) == [0, 1, 2, 3]


def test_true_makes_a_bar_and_closes_it(capsys: pytest.CaptureFixture[str]) -> None:
    with progress_bar(True, total=2, desc="thing", unit="step") as bar:
        assert bar is not None and not bar.disable  # type: ignore[attr-defined]
        bar.update(2)
    assert bar.n == 2 and bar.total == 2  # type: ignore[attr-defined]
    assert bar.disable  # type: ignore[attr-defined]  # tqdm's close() disables the bar
    assert "thing" in capsys.readouterr().err
