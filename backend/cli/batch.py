"""``cbm batch``: papermill batch notebooks on Dask, every run kept as a record."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from backend.cli.base import app, echo, settings
from backend.settings import PROJECT_ROOT

batch_app = typer.Typer(help="Batch notebooks (papermill on Dask); every run kept as a record.",
                        no_args_is_help=True)
app.add_typer(batch_app, name="batch")
_EXTRACT_NB = PROJECT_ROOT / "notebooks" / "batch" / "extract.ipynb"
_PAIRS = {"allow_extra_args": True, "ignore_unknown_options": True}
_Scheduler = Annotated[str | None, typer.Option(help="Dask scheduler, e.g. tcp://host:8786; "
                                                     "default: a LocalCluster on this machine.")]
_Retries = Annotated[int | None, typer.Option(min=0, help="Re-runs of a failed chunk "
                                                          "(default CBM_BATCH_RETRIES).")]
_Chunks = Annotated[int | None, typer.Option(min=1, help="Number of chunks (default: about "
                                                         "CBM_BATCH_CHUNK_JOBS jobs each).")]


def _pairs(args: list[str]) -> dict:
    """``-p KEY VALUE`` pairs (typer has no two-value repeatable option) -> typed parameters."""
    from backend.batch.params import parse_pairs

    pairs = []
    rest = list(args)
    while rest:
        if rest[0] not in ("-p", "--parameter") or len(rest) < 3:
            raise typer.BadParameter(f"expected -p KEY VALUE, got {' '.join(rest[:3])!r}")
        pairs.append((rest[1], rest[2]))
        rest = rest[3:]
    return parse_pairs(pairs)


def _run_line(r: dict) -> str:
    params = " ".join(f"{k}={v}" for k, v in r["parameters"].items())
    return (f"{r['id']}  {r['status']:<9} {r['started_at']:%Y-%m-%d %H:%M:%S}  {r['started_by'] or '-'}  "
            f"chunks {r['chunks_done']}/{r['n_chunks']} ({r['chunks_failed']} failed)  "
            f"rows {r['rows_written']}  {Path(r['notebook']).name} {params}")


@batch_app.command("run", context_settings=_PAIRS)
def batch_run(
    ctx: typer.Context,
    notebook: Annotated[Path, typer.Argument(help="Notebook with a 'parameters' cell, e.g. "
                                                  "notebooks/batch/extract.ipynb.")],
    chunks: _Chunks = None, scheduler: _Scheduler = None, retries: _Retries = None,
) -> None:
    """Run a notebook once per chunk of open jobs on Dask; records under var/runs/<run id>/.

    Parameters: -p KEY VALUE (repeatable), e.g. -p aoi nl -p year 2025 [-p ptype VARIANT]
    (ptype as in cbm extract --ptype: absent for the main set).
    """
    import signal

    from backend.batch.runner import run_batch

    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM = Ctrl-C: release jobs
    run = run_batch(settings(), notebook, _pairs(ctx.args), chunks=chunks,
                    scheduler=scheduler, retries=retries, progress=True, on_event=echo)
    _show_run(run.id)
    if run.status != "done":
        raise typer.Exit(130 if run.status == "cancelled" else 1)


@batch_app.command("watch", context_settings=_PAIRS)
def batch_watch(
    ctx: typer.Context,
    notebook: Annotated[Path, typer.Option(help="Batch notebook.")] = _EXTRACT_NB,
    every: Annotated[float | None, typer.Option(
        min=1, help="Poll interval in seconds (default CBM_BATCH_WATCH_S).")] = None,
    source: Annotated[str | None, typer.Option(help="STAC source re-read before each poll.")] = None,
    chunks: _Chunks = None, scheduler: _Scheduler = None, retries: _Retries = None,
) -> None:
    """Poll for claimable jobs and start runs; Ctrl-C/SIGTERM finish the running chunks, twice aborts.

    Parameters: -p KEY VALUE (repeatable); -p aoi nl -p year 2025 [-p ptype VARIANT] watches one
    parcel set only (absent ptype: the main set); without them every set, variants too.
    """
    import threading

    from backend.batch.watcher import graceful_signals, watch

    stop = threading.Event()
    with graceful_signals(stop, echo):
        runs = watch(settings(), notebook, _pairs(ctx.args), stop=stop, every=every,
                     source=source, chunks=chunks, scheduler=scheduler, retries=retries, on_event=echo)
    echo(f"watch stopped after {len(runs)} runs")


@batch_app.command("list")
def batch_list(limit: Annotated[int, typer.Option(min=1, help="How many runs.")] = 20) -> None:
    """The most recent runs: when, by whom, status, chunks, rows, parameters."""
    from backend.batch.records import list_runs

    rows = list_runs(settings(), limit)
    for r in rows:
        echo(_run_line(r))
    if not rows:
        echo("no batch runs yet")


def _show_run(run_id: str) -> None:
    from backend.batch.records import get_run

    r = get_run(settings(), run_id)
    took = ""
    if r.finished_at and r.started_at:
        took = f" ({(r.finished_at - r.started_at).total_seconds():.1f} s)"
    for key, value in (("run", r.id), ("notebook", r.notebook), ("parameters", r.parameters),
                       ("status", r.status), ("started by", r.started_by),
                       ("started", r.started_at), ("finished", f"{r.finished_at}{took}"),
                       ("scheduler", r.scheduler), ("rows written", r.rows_written),
                       ("records", r.output_dir)):
        echo(f"{key + ':':<14}{value}")
    for c in r.chunks:
        echo(f"  chunk {c.chunk:>3}  {c.status:<7} attempts {c.attempts}  jobs {len(c.job_ids):>4}  "
             f"rows {c.rows_written:>7}  {c.output_path}")
        if c.error:
            echo(f"             error: {c.error}")


@batch_app.command("show")
def batch_show(run_id: Annotated[str, typer.Argument(help="Run id (see `cbm batch list`).")]) -> None:
    """One run: parameters, status, rows, each chunk with its error and executed notebook."""
    _show_run(run_id)
