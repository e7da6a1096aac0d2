"""Papermill + Dask runner for batch notebooks, with every run kept as an audit record.

``run_batch`` is imported lazily so that kernels importing ``backend.batch.report`` stay light.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BatchRun", "get_run", "list_runs", "run_batch", "watch"]


def __getattr__(name: str) -> Any:
    if name == "run_batch":
        from backend.batch.runner import run_batch

        return run_batch
    if name == "watch":
        from backend.batch.watcher import watch

        return watch
    if name in ("BatchRun", "get_run", "list_runs"):
        from backend.batch import records

        return getattr(records, name)
    raise AttributeError(name)
