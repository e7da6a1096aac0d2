"""The ``cbm`` command: database, ingestion, extraction, demo.

Errors are printed as one line on stderr with a meaningful exit code (see ``backend.errors``);
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from backend.errors import CbmError
from backend.logging_setup import setup_logging
from backend.settings import Settings, get_settings

app = typer.Typer(help="Checks by Monitoring platform.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
db_app = typer.Typer(help="The database: embedded cluster lifecycle and migrations.",
                     no_args_is_help=True)
app.add_typer(db_app, name="db")

_state = {"debug": False}


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show progress logs.")] = False,
) -> None:
    """Checks by Monitoring: ingest, extract, decide, serve."""
    _state["debug"] = debug
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    setup_logging(level)


def settings() -> Settings:
    """Settings for a command (raises a one-line ConfigError when invalid)."""
    return get_settings()


def echo(message: str) -> None:
    """Print a result line on stdout."""
    typer.echo(message)


# ------------------------------------------------------------------------------ db
@db_app.command("start")
def db_start() -> None:
    """Create (on first use) and start the embedded PostgreSQL+PostGIS cluster."""
    from backend.db import cluster

    echo(cluster.start(settings()))


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded cluster."""
    from backend.db import cluster

    echo(cluster.stop(settings()))


@db_app.command("status")
def db_status() -> None:
    """Say whether the database is running, stopped or unreachable (exit 0 only if running)."""
    from backend.db import cluster

    state, message = cluster.status(settings())
    echo(f"{state.value}: {message}")
    if state is not cluster.DbState.RUNNING:
        raise typer.Exit(3)


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply pending schema migrations."""
    from backend.db import connect
    from backend.db.migrate import migrate

    with connect(settings()) as conn:
        applied = migrate(conn)
    echo("applied: " + ", ".join(applied) if applied else "schema is up to date")


@db_app.command("url")
def db_url(
    show_password: Annotated[bool, typer.Option(help="Print the password too.")] = False,
) -> None:
    """Print the connection string of the project database (for psql and other tools)."""
    from backend.db import database_url, redact

    url = database_url(settings())
    echo(url if show_password else redact(url))


# ------------------------------------------------------------------------------ import
import_app = typer.Typer(help="Import agencies' data (parcel sets).", no_args_is_help=True)
app.add_typer(import_app, name="import")


def _parse_extent(extent: str | None) -> tuple[float, float, float, float] | None:
    if extent is None:
        return None
    try:
        parts = tuple(float(v) for v in extent.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4:
        raise typer.BadParameter("give minlon,minlat,maxlon,maxlat in WGS84, e.g. 4.1,51.9,4.6,52.2")
    return parts[0], parts[1], parts[2], parts[3]


@import_app.command("parcels")
def import_parcels_cmd(
    file: Annotated[Path, typer.Argument(help="GeoPackage, Shapefile (.shp or .zip), GeoJSON, "
                                              "FlatGeobuf or GeoParquet.")],
    aoi: Annotated[str, typer.Option(help="AOI code, e.g. nl (lower case letters, digits, _).")],
    year: Annotated[int, typer.Option(help="Year of the declarations.")],
    ptype: Annotated[str, typer.Option(help="Optional parcel-set variant.")] = "",
    id_col: Annotated[str | None, typer.Option(help="Column of the parcel id.")] = None,
    crop_code_col: Annotated[str | None, typer.Option(help="Column of the crop code.")] = None,
    crop_name_col: Annotated[str | None, typer.Option(help="Column of the crop name.")] = None,
    layer: Annotated[str | None, typer.Option(help="Layer to read (multi-layer files).")] = None,
    mapping: Annotated[Path | None, typer.Option(help="YAML column mapping (pid, cropcode, "
                                                      "cropname, layer).")] = None,
    crs: Annotated[str | None, typer.Option(help="CRS of a file that has none, e.g. EPSG:28992.")] = None,
    extent: Annotated[str | None, typer.Option(help="AOI extent minlon,minlat,maxlon,maxlat: "
                                                    "parcels outside are rejected.")] = None,
    replace: Annotated[bool, typer.Option(help="Replace an existing set of the same AOI and year.")] = False,
    report: Annotated[Path | None, typer.Option(help="Write the validation report here "
                                                     "(.csv or .json).")] = None,
) -> None:
    """Import a parcel set (all or nothing), with a per-row report of repairs and rejections."""
    from backend.parcels import ColumnMapping, import_parcels, load_mapping

    cols = (load_mapping(mapping) if mapping else ColumnMapping()).override(
        pid=id_col, cropcode=crop_code_col, cropname=crop_name_col, layer=layer)
    r = import_parcels(settings(), file, aoi=aoi, year=year, ptype=ptype, mapping=cols, crs=crs,
                       replace=replace, report_path=report, aoi_extent=_parse_extent(extent),
                       progress=True)
    echo(f"imported {r.n_imported} of {r.n_read} parcels into {aoi} {year} (set {r.set_id}, "
         f"EPSG:{r.srid}): {r.n_repaired} repaired, {r.n_rejected} rejected, "
         f"{r.n_jobs} extraction jobs, {r.seconds:.1f} s")
    echo(f"report: {r.report_path}")


# ------------------------------------------------------------------------------ catalogue
catalogue_app = typer.Typer(help="The image catalogue (STAC).", no_args_is_help=True)
app.add_typer(catalogue_app, name="catalogue")


@catalogue_app.command("add")
def catalogue_add(
    source: Annotated[str, typer.Argument(help="STAC API URL, static catalogue/collection/item "
                                               "JSON, or a folder of COGs.")],
    collection: Annotated[str | None, typer.Option(help="Collection to search / assign.")] = None,
    kind: Annotated[str | None, typer.Option(help="s2, bs or c6 (folders of COGs).")] = None,
    profile: Annotated[Path | None, typer.Option(help="YAML file of asset-name profiles.")] = None,
    bbox: Annotated[str | None, typer.Option(help="minlon,minlat,maxlon,maxlat (STAC API).")] = None,
    start: Annotated[str | None, typer.Option(help="First date, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option(help="Last date, YYYY-MM-DD.")] = None,
    max_cloud: Annotated[float | None, typer.Option(min=0, max=100, help="Max cloud cover %.")] = None,
) -> None:
    """Add images to the catalogue (idempotent) and create their extraction jobs."""
    from backend.catalogue import add_source

    r = add_source(settings(), source, collection=collection, kind=kind, profile=profile,
                   bbox=_parse_extent(bbox), start=start, end=end, max_cloud=max_cloud,
                   progress=True, on_error=lambda rej: typer.echo(f"rejected: {rej}", err=True))
    echo(str(r))
    if r.seen and not (r.added + r.updated + r.unchanged):
        raise typer.Exit(1)


@catalogue_app.command("list")
def catalogue_list(
    kind: Annotated[str | None, typer.Option(help="s2, bs or c6.")] = None,
) -> None:
    """Summarise the catalogue: images per collection and date range."""
    from backend.catalogue import summary

    for row in summary(settings()):
        if kind is None or row.get("kind") == kind:
            echo("  ".join(f"{k}={v}" for k, v in row.items()))


# ------------------------------------------------------------------------------ extract
@app.command("extract")
def extract_cmd(
    aoi: Annotated[str, typer.Option(help="AOI code of the parcel set, e.g. nl.")],
    year: Annotated[int, typer.Option(help="Year of the parcel set.")],
    limit: Annotated[int | None, typer.Option(min=1, help="Process at most this many jobs.")] = None,
    force: Annotated[bool, typer.Option(help="Re-extract finished and failed jobs (replaces rows).")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Extract parcel signatures: claim pending jobs (image x parcel set) until none is left."""
    from backend.extraction.service import extract

    r = extract(settings(), aoi=aoi, year=year, limit=limit, force=force, progress=progress)
    echo(f"{r.done} images done, {r.retried} to retry, {r.failed} failed, {r.rows} band-rows "
         f"for {r.parcels} parcel-images in {r.seconds:.1f} s")
    for job_id, message in r.errors:
        typer.echo(f"job {job_id}: {message}", err=True)
    if r.failed:
        raise typer.Exit(1)


# ------------------------------------------------------------------------------ batch
batch_app = typer.Typer(help="Batch notebooks (papermill on Dask); every run kept as a record.",
                        no_args_is_help=True)
app.add_typer(batch_app, name="batch")
_EXTRACT_NB = Path(__file__).resolve().parent.parent / "notebooks" / "batch" / "extract.ipynb"
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

    Parameters: -p KEY VALUE (repeatable), e.g. -p aoi nl -p year 2025.
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

    Parameters: -p KEY VALUE (repeatable); -p aoi nl -p year 2025 watches one parcel set only.
    """
    import threading

    from backend.batch.watch import graceful_signals, watch

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


# ------------------------------------------------------------------------------ api
@app.command("serve")
def serve_cmd(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64,
                                         help="Worker processes (limits are per worker).")] = 1,
) -> None:
    """Serve the REST API with uvicorn (JRC /query endpoints, docs at /docs)."""
    import uvicorn

    from backend.api.middleware import install_log_record_factory

    s = settings()
    install_log_record_factory()
    secrets = [v.get_secret_value() for v in (s.secret_key, s.admin_password, s.pg_password) if v]
    setup_logging(logging.INFO, secrets=secrets)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"))
    uvicorn.run("backend.api.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                access_log=False, log_config=None, proxy_headers=False)


users_app = typer.Typer(help="API users, roles and AOI grants.", no_args_is_help=True)
app.add_typer(users_app, name="users")


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="admin, analyst or consumer.")],
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin.")] = False,
) -> None:
    """Create a user (the password is argon2-hashed; it is never printed or logged)."""
    from backend.api.services.users import add_user
    from backend.db import connect

    password = _read_password(password_stdin)
    with connect(settings(), autocommit=True) as conn:
        add_user(conn, username, password, role, actor="cli")
    echo(f"user {username} added ({role}); grant AOIs with `cbm users grant {username} AOI`")


@users_app.command("passwd")
def users_passwd(
    username: Annotated[str, typer.Argument(help="Login name.")],
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin.")] = False,
) -> None:
    """Change a user's password."""
    from backend.api.services.users import set_password
    from backend.db import connect

    password = _read_password(password_stdin)
    with connect(settings(), autocommit=True) as conn:
        set_password(conn, username, password, actor="cli")
    echo(f"password of {username} changed")


@users_app.command("grant")
def users_grant(
    username: Annotated[str, typer.Argument(help="Login name.")],
    aoi: Annotated[str, typer.Argument(help="AOI code, or '*' for every AOI.")],
) -> None:
    """Grant a user read access to an AOI."""
    from backend.api.services.users import grant_aoi
    from backend.db import connect

    with connect(settings(), autocommit=True) as conn:
        added = grant_aoi(conn, username, aoi, actor="cli")
    echo(f"{username} {'granted' if added else 'already had'} {aoi}")


@users_app.command("list")
def users_list() -> None:
    """List users with role, state and AOI grants."""
    from backend.api.services.users import list_users
    from backend.db import connect

    with connect(settings()) as conn:
        for u in list_users(conn):
            state = "" if u["active"] else " (inactive)"
            echo(f"{u['username']}\t{u['role']}{state}\t{','.join(u['aois']) or '-'}")


# ------------------------------------------------------------------------------ markers
markers_app = typer.Typer(help="Markers and traffic-light decisions from the signatures.",
                          no_args_is_help=True)
app.add_typer(markers_app, name="markers")


@markers_app.command("run")
def markers_run(
    aoi: Annotated[str, typer.Option(help="AOI code of the parcel set.")],
    year: Annotated[int, typer.Option(help="Year of the parcel set.")],
    catalogue: Annotated[Path, typer.Option(help="Condition catalogue (YAML) of the scheme and year.")],
) -> None:
    """Compute markers and decide every condition of the catalogue for every parcel (a new run)."""
    from backend.markers import run_markers

    r = run_markers(settings(), aoi=aoi, year=year, catalogue=catalogue)
    echo(f"marker run {r.run_id}: {r.n_parcels} parcels, {r.n_results} marker results "
         f"in {r.seconds:.1f} s (inputs {r.input_hash[:12]})")
    for cond, colours in r.colours.items():
        echo(f"  {cond}: " + ", ".join(f"{k} {v}" for k, v in colours.items()))


@markers_app.command("explain")
def markers_explain(
    aoi: Annotated[str, typer.Option(help="AOI code of the parcel set.")],
    year: Annotated[int, typer.Option(help="Year of the parcel set.")],
    pid: Annotated[str, typer.Option(help="The parcel's id (pid) in the set.")],
    run: Annotated[int | None, typer.Option(help="Marker run id (default: the latest).")] = None,
) -> None:
    """Print the story of a parcel: markers, decisions, evidence used."""
    from backend.markers import explain

    echo(explain(settings(), aoi=aoi, year=year, pid=pid, run_id=run))


# ------------------------------------------------------------------------------ demo
demo_app = typer.Typer(help="The synthetic demo area (generated by our code, with ground truth).",
                       no_args_is_help=True)
app.add_typer(demo_app, name="demo")


@demo_app.command("run")
def demo_run() -> None:
    """Run the demo pipeline on the project database and say how to connect."""
    from backend.demo.pipeline import run_demo

    for line in run_demo(settings()):
        echo(line)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``cbm`` console script."""
    args = sys.argv[1:] if argv is None else argv
    try:
        # standalone mode: click handles usage errors (exit 2) and --help itself.
        app(args=args, prog_name="cbm")
    except CbmError as exc:
        if _state["debug"] or "--debug" in args:
            raise
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
