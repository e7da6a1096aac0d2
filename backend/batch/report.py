"""What a batch notebook shows: a job timer (a tqdm-like ``progress=`` hook) and a short report.

Imported by the kernels of batch notebooks, so it stays light (no Dask, no papermill).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from backend.extraction import worker_id


def batch_worker_id(run_id: str | None, chunk: int | None) -> str | None:
    """The extraction worker id of a batch chunk (``None`` outside a batch run)."""
    if run_id is None:
        return None
    return f"batch:{run_id}:{chunk if chunk is not None else 0}:{worker_id()}"


@dataclass
class JobTimer:
    """Records when each job finished; pass it as ``extract(..., progress=timer)``.

    Args:
        bar: also show a tqdm bar (for interactive use; off in batch runs to keep records small).
    """

    bar: Any = None
    t0: float = field(default_factory=time.perf_counter)
    marks: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.bar is True:
            from tqdm.auto import tqdm

            self.bar = tqdm(unit="image", desc="extract")

    def update(self, n: int = 1) -> None:
        """One job finished (any outcome)."""
        self.marks.extend([time.perf_counter() - self.t0] * n)
        if self.bar:
            self.bar.update(n)

    def set_postfix(self, **kw: Any) -> None:
        """Forwarded to the bar."""
        if self.bar:
            self.bar.set_postfix(**kw)

    def close(self) -> None:
        """Close the bar."""
        if self.bar:
            self.bar.close()

    def durations(self) -> list[float]:
        """Seconds spent on each job, in order."""
        return [b - a for a, b in zip([0.0, *self.marks], self.marks, strict=False)]


def summary(report: Any, timer: JobTimer) -> dict[str, Any]:
    """Key numbers of an ``ExtractReport``: jobs, rows, time and throughput."""
    n = report.done + report.retried + report.failed + report.lost
    return {"jobs": n, "done": report.done, "retried": report.retried, "failed": report.failed,
            "lost": report.lost, "parcel_images": report.parcels, "band_rows": report.rows,
            "seconds": round(report.seconds, 2),
            "jobs_per_s": round(n / report.seconds, 2) if report.seconds else None,
            "slowest_job_s": round(max(timer.durations(), default=0.0), 3)}


def text_chart(values: list[float], width: int = 40, rows: int = 12) -> str:
    """A small horizontal bar chart (one bar per bin of values), for outputs without matplotlib."""
    if not values:
        return "(no jobs)"
    per = max(1, -(-len(values) // rows))
    bins = [sum(values[i:i + per]) / len(values[i:i + per]) for i in range(0, len(values), per)]
    top = max(bins) or 1.0
    lines = [f"jobs {i * per + 1:>4}-{min((i + 1) * per, len(values)):<4} {v:7.3f} s "
             + "#" * max(1, round(width * v / top)) for i, v in enumerate(bins)]
    return "seconds per job\n" + "\n".join(lines)


def show_report(report: Any, timer: JobTimer) -> None:
    """Display the summary, the errors and seconds per job (matplotlib if installed, else text)."""
    from IPython.display import display

    timer.close()  # extract() leaves the caller's progress object open
    display(summary(report, timer))
    for job_id, message in report.errors[:20]:
        print(f"job {job_id}: {message}")
    if len(report.errors) > 20:
        print(f"... and {len(report.errors) - 20} more errors")
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        print(text_chart(timer.durations()))
        return
    _fig, ax = plt.subplots(figsize=(5, 2), dpi=72)
    ax.plot(range(1, len(timer.marks) + 1), timer.durations(), ".-")
    ax.set_xlabel("job")
    ax.set_ylabel("seconds")
    ax.set_title("seconds per job")
    plt.show()
