"""Run records: one ``batch_runs`` row per run, one ``batch_chunks`` row per chunk.

Each chunk's notebook runs extraction with a worker id that starts with
``batch:<run id>:<chunk>:``, so what a chunk committed is read back from the job queue itself
(also after its kernel or Dask worker was killed).
"""

from __future__ import annotations

import datetime as dt
import getpass
import re
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import DictRow

from backend.accounts import User
from backend.db import connect
from backend.db import queries_batch as q
from backend.errors import NotFound
from backend.settings import Settings


@dataclass
class ChunkRecord:
    """One chunk of a run: its jobs, outcome and executed notebook."""

    chunk: int
    job_ids: list[int]
    status: str = "pending"
    attempts: int = 0
    rows_written: int = 0
    error: str | None = None
    output_path: str | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None


@dataclass
class BatchRun:
    """A batch run as recorded in the database."""

    id: str
    notebook: str
    parameters: dict[str, Any]
    status: str = "running"
    started_by: str | None = None
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    scheduler: str | None = None
    n_chunks: int = 0
    rows_written: int = 0
    output_dir: str | None = None
    chunks: list[ChunkRecord] = field(default_factory=list)

    @property
    def failed_chunks(self) -> list[ChunkRecord]:
        """Chunks that did not finish."""
        return [c for c in self.chunks if c.status == "failed"]


@dataclass(frozen=True)
class ChunkState:
    """What the job queue says about a chunk's jobs."""

    n_done: int
    n_failed: int
    n_open: int
    rows: int
    wait_s: float
    errors: list[str]


def new_run_id(notebook: str, parameters: dict[str, Any]) -> str:
    """A sortable, readable, unique run id, e.g. ``20250601T101500-extract-nl-2025-3f2a``."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    parts = [Path(notebook).stem, *(str(parameters[k]) for k in ("aoi", "year", "ptype") if k in parameters)]
    slug = re.sub(r"[^A-Za-z0-9]+", "-", "-".join(parts)).strip("-")[:40]
    return f"{stamp}-{slug}-{uuid.uuid4().hex[:4]}"


def worker_prefix(run_id: str, chunk: int) -> str:
    """Prefix of the extraction worker ids of a chunk (``run_id`` alone: of the whole run)."""
    return f"batch:{run_id}:{chunk}:"


def run_prefix(run_id: str) -> str:
    """Prefix of the extraction worker ids of every chunk of a run."""
    return f"batch:{run_id}:"


def started_by() -> str:
    """``user@host`` of the process starting a run."""
    return f"{getpass.getuser()}@{socket.gethostname()}"


def create_run(settings: Settings, run: BatchRun) -> None:
    """Insert the run and its chunks (status 'running' / 'pending')."""
    with connect(settings) as conn:
        q.insert_run(conn, run_id=run.id, notebook=run.notebook, parameters=run.parameters,
                     started_by=run.started_by, scheduler=run.scheduler, n_chunks=len(run.chunks),
                     output_dir=run.output_dir)
        for c in run.chunks:
            q.insert_chunk(conn, run_id=run.id, chunk=c.chunk, job_ids=c.job_ids, output_path=c.output_path)


def start_chunk(conn: psycopg.Connection[DictRow], run_id: str, chunk: ChunkRecord) -> None:
    """Mark a chunk running (attempt ``chunk.attempts``)."""
    q.start_chunk(conn, run_id, chunk.chunk, chunk.attempts)
    chunk.status = "running"


def finish_chunk(conn: psycopg.Connection[DictRow], run_id: str, chunk: ChunkRecord) -> None:
    """Store a chunk's final status, rows and error."""
    q.finish_chunk(conn, run_id, chunk.chunk, status=chunk.status, rows=chunk.rows_written, error=chunk.error)


def chunk_state(conn: psycopg.Connection[DictRow], run_id: str, chunk: ChunkRecord) -> ChunkState:
    """Read the state of a chunk's jobs from the queue."""
    row = q.chunk_jobs_state(conn, chunk.job_ids, worker_prefix(run_id, chunk.chunk))
    wait = row["wait"].total_seconds() if row["wait"] is not None else 0.0
    return ChunkState(int(row["n_done"]), int(row["n_failed"]), int(row["n_open"]), int(row["rows"]),
                      max(wait, 0.0), list(row["errors"] or []))


def release_run_jobs(conn: psycopg.Connection[DictRow], run_id: str) -> int:
    """Put the jobs the run's workers still hold back to 'pending'. Returns how many."""
    return q.release_run_jobs(conn, run_prefix(run_id))


def finish_run(conn: psycopg.Connection[DictRow], run: BatchRun, status: str) -> None:
    """Close the run: open chunks become failed, totals are summed."""
    q.close_open_chunks(conn, run.id, f"run {status}")
    run.rows_written = q.finish_run(conn, run.id, status)
    run.status = status


def list_runs(settings: Settings, limit: int = 20) -> list[dict[str, Any]]:
    """The most recent runs, newest first, with chunk counts."""
    with connect(settings) as conn:
        return q.list_runs(conn, limit)


def get_run(settings: Settings, run_id: str) -> BatchRun:
    """A run and its chunks.

    Raises:
        NotFound: no run has this id.
    """
    with connect(settings) as conn:
        row = q.get_run(conn, run_id)
        if row is None:
            raise NotFound(f"no batch run {run_id!r} (see `cbm batch list`)")
        chunks = q.get_chunks(conn, run_id)
    run = BatchRun(**row)
    run.chunks = [ChunkRecord(**{**c, "job_ids": list(c["job_ids"])}) for c in chunks]
    return run


MAX_VISIBLE_RUNS = 100


def visible_runs(conn: psycopg.Connection[DictRow], user: User) -> list[dict[str, Any]]:
    """The latest batch runs the user may see (runs for granted AOIs; admins see all)."""
    return q.batch_runs(conn, None if "*" in user.aois else sorted(user.aois), MAX_VISIBLE_RUNS)


def visible_run(conn: psycopg.Connection[DictRow], user: User, run_id: str) -> dict[str, Any]:
    """One batch run with its chunks.

    Raises:
        NotFound: no such run, or it belongs to an AOI the user may not read (same message).
    """
    run = q.batch_run(conn, run_id)
    aoi = (run or {}).get("parameters", {}).get("aoi")
    if run is None or (aoi is not None and not user.can_read(str(aoi))) or (
            aoi is None and "*" not in user.aois):
        raise NotFound(f"no batch run {run_id!r} visible to you")
    return run
