"""``run_batch``: execute a parameterised notebook once per chunk of work, on Dask, recorded.

A run over a parcel set splits its open extraction jobs into chunks; each chunk is one
papermill execution (``job_ids`` = the chunk's jobs) on a Dask worker. A ``LocalCluster`` sized
to the machine is started unless a scheduler address is given. Every executed notebook is kept
under ``var_dir/runs/<run id>/chunk-NNN.ipynb`` and the run in ``batch_runs``/``batch_chunks``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from backend.batch import chunking, records
from backend.batch.execute import ChunkSpec
from backend.batch.params import set_key, split_settings
from backend.batch.records import BatchRun, ChunkRecord
from backend.errors import InvalidInput, NotFound
from backend.progress import progress_bar
from backend.settings import Settings

log = logging.getLogger(__name__)
RUNNER_PARAMETERS = ("run_id", "chunk", "job_ids", "settings_overrides")


def run_batch(
    settings: Settings, notebook: str | Path, parameters: dict[str, Any], *, chunks: int | None = None,
    scheduler: str | None = None, retries: int | None = None, progress: bool | Any = False,
    stop: threading.Event | None = None, on_event: Callable[[str], None] | None = None,
) -> BatchRun:
    """Run ``notebook`` over the open extraction jobs of the parcel set the parameters name.

    Args:
        settings: settings of the run; non-secret ones that differ from the defaults reach the
            notebook as ``settings_overrides``, secrets as ``CBM_*`` in the kernel's environment.
        notebook: a notebook with a ``parameters`` cell (e.g. ``notebooks/batch/extract.ipynb``).
        parameters: notebook parameters; with ``aoi`` and ``year`` (``ptype``: the set's variant,
            absent for the main set, as ``cbm extract --ptype``) and a notebook that declares
            ``job_ids``, the set's open jobs are split into chunks, otherwise one chunk runs.
        chunks: number of chunks (default: about ``settings.batch_chunk_jobs`` jobs each, at
            least one per Dask thread).
        scheduler: address of a running Dask scheduler; None starts a ``LocalCluster``.
        retries: re-runs of a failed or unfinished chunk (default ``settings.batch_retries``).
        progress: True for a progress bar over chunks, or a tqdm-like object to ``update(1)`` per chunk.
        stop: when set, no new chunk starts; running ones finish; the run ends 'cancelled'.
        on_event: receives human-readable lines (dashboard link, retries, failures).

    Returns:
        The recorded run with its chunks (status done, partial, failed or cancelled).

    Raises:
        NotFound: the notebook does not exist.
        ParcelSetNotFound: the parameters name a parcel set that does not exist.
        InvalidInput: a parameter is not declared in the notebook's parameters cell.
    """
    path = Path(notebook)
    declared = _declared_parameters(path, parameters)
    retries = settings.batch_retries if retries is None else retries
    say = on_event or (lambda message: log.info("%s", message))
    with _dask_client(settings, scheduler) as client:
        say(f"Dask dashboard: {_dashboard(client)}")
        run = _plan(settings, path, parameters, declared, chunks, client)
        records.create_run(settings, run)
        say(f"run {run.id}: {len(run.chunks)} chunks, records in {run.output_dir}")
        make_spec = _spec_factory(settings, path, run, declared)
        from backend.batch.loop import ChunkLoop

        with progress_bar(progress, total=len(run.chunks), desc=run.id, unit="chunk") as bar:
            ChunkLoop(settings, client, run, make_spec, retries=retries, bar=bar, stop=stop,
                      on_event=on_event).execute()
    return run


def _declared_parameters(path: Path, parameters: dict[str, Any]) -> dict[str, Any]:
    import papermill as pm

    if not path.is_file():
        raise NotFound(f"notebook {path} not found")
    declared = pm.inspect_notebook(str(path))
    if not declared:
        raise InvalidInput(f"{path} has no cell tagged 'parameters'")
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise InvalidInput(f"{path.name} has no parameter {', '.join(unknown)}; "
                           f"it declares {', '.join(declared)}")
    reserved = sorted(set(parameters) & set(RUNNER_PARAMETERS))
    if reserved:
        raise InvalidInput(f"{', '.join(reserved)} are set by the runner, not with -p")
    return dict(declared)


@contextlib.contextmanager
def _dask_client(settings: Settings, scheduler: str | None) -> Iterator[Any]:
    """A Dask client for the run; dask's ``scheduler`` setting is put back afterwards.

    A Client sets ``scheduler: dask.distributed`` process-wide when it is created, and on close
    puts back what it found then. Two runs of one process (threads) overlap: the second client
    found the first one's setting and puts it back when it closes last, after which every later
    dask computation of the process (xarray writing a NetCDF file) fails with "no Client
    active". So once no client is left, a setting naming the distributed scheduler goes.
    """
    import dask
    from distributed import Client

    before = dask.config.get("scheduler", None)
    try:
        if scheduler is not None:
            with Client(scheduler, timeout="20s") as client:
                yield client
            return
        with local_cluster(settings) as cluster, Client(cluster) as client:
            yield client
    finally:
        _drop_orphan_scheduler_setting(before)


def _drop_orphan_scheduler_setting(before: Any) -> None:
    """Remove ``scheduler: dask.distributed`` when no client is left to serve it."""
    import dask
    from distributed import default_client

    if dask.config.get("scheduler", None) not in ("dask.distributed", "distributed"):
        return
    try:
        if default_client().status == "running":
            return  # another run's client is still open: its own exit decides
    except ValueError:
        pass
    if before in (None, "dask.distributed", "distributed"):
        dask.config.config.pop("scheduler", None)
    else:
        dask.config.set(scheduler=before)


@contextlib.contextmanager
def local_cluster(settings: Settings) -> Iterator[Any]:
    """A Dask ``LocalCluster``: ``settings.batch_workers`` (default: one per core) single-thread workers."""
    from distributed import LocalCluster

    n = settings.batch_workers or os.cpu_count() or 1
    if not log.isEnabledFor(logging.INFO):  # distributed sets up its own INFO logging on import
        logging.getLogger("distributed").setLevel(logging.WARNING)
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                      silence_logs=logging.WARNING) as cluster:
        yield cluster


def _dashboard(client: Any) -> str:
    link = str(client.dashboard_link)
    if importlib.util.find_spec("bokeh") is None:
        link += " (not served: install bokeh>=3.1 to see it)"
    return link


def _plan(settings: Settings, path: Path, parameters: dict[str, Any], declared: dict[str, Any],
          n_chunks: int | None, client: Any) -> BatchRun:
    key = set_key(parameters)
    if "job_ids" in declared and key is not None:
        slots = max(1, sum(client.nthreads().values()))
        parts = chunking.plan(settings, key, chunks=n_chunks, n_slots=slots)
    else:
        parts = [[]]
    run_id = records.new_run_id(str(path), parameters)
    out_dir = settings.var_dir / "runs" / run_id
    out_dir.mkdir(parents=True, exist_ok=True)
    run = BatchRun(id=run_id, notebook=str(path), parameters=parameters, started_by=records.started_by(),
                   scheduler=str(client.scheduler.address), output_dir=str(out_dir))
    run.chunks = [ChunkRecord(chunk=i, job_ids=ids, output_path=str(out_dir / f"chunk-{i:03d}.ipynb"))
                  for i, ids in enumerate(parts)]
    run.n_chunks = len(run.chunks)
    return run


def _spec_factory(settings: Settings, path: Path, run: BatchRun,
                  declared: dict[str, Any]) -> Callable[[ChunkRecord], ChunkSpec]:
    overrides, env = split_settings(settings)
    text = path.read_text(encoding="utf-8")

    def make(c: ChunkRecord) -> ChunkSpec:
        params = dict(run.parameters)
        extra = {"run_id": run.id, "chunk": c.chunk, "job_ids": c.job_ids, "settings_overrides": overrides}
        params.update({k: v for k, v in extra.items() if k in declared})
        return ChunkSpec(run.id, c.chunk, c.attempts, text, params, settings.batch_kernel, env)

    return make
