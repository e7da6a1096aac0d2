"""``cbm db``: the embedded cluster and migrations."""

from __future__ import annotations

from typing import Annotated

import typer

from backend.cli.base import Aoi, Ptype, Year, app, echo, settings

db_app = typer.Typer(help="The database: embedded cluster lifecycle and migrations.",
                     no_args_is_help=True)
app.add_typer(db_app, name="db")

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


@db_app.command("cluster-signatures")
def db_cluster_signatures(
    aoi: Aoi,
    year: Year,
    ptype: Ptype = "",
) -> None:
    """Rewrite a set's signatures in parcel order: faster cold time-series reads.

    Locks the set's signatures while it runs (API reads and extraction of that set wait):
    run it when an extraction campaign is finished.
    """
    from backend.extraction import cluster_signatures

    echo(cluster_signatures(settings(), aoi, year, ptype))
