"""The ``cbm`` Typer app, its global options and the helpers every command module uses."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from backend.logging_setup import setup_logging
from backend.settings import Settings, get_settings

app = typer.Typer(help="Checks by Monitoring platform.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)

_state = {"debug": False}

# The options every command that names a parcel set declares: one wording and default everywhere.
Aoi = Annotated[str, typer.Option(help="AOI code of the parcel set, e.g. nl (a-z, 0-9, _).")]
Year = Annotated[int, typer.Option(help="Year of the parcel set.")]
Ptype = Annotated[str, typer.Option(help="Parcel-set variant (empty: the main set).")]
Replace = Annotated[bool, typer.Option(help="Replace what exists (the set, its weather or terrain, the "
                                            "product) instead of refusing.")]


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


def lonlat_box(value: str | None, *, ordered: bool = False) -> tuple[float, float, float, float] | None:
    """``minlon,minlat,maxlon,maxlat`` (WGS84) as four numbers; None stays None.

    Raises:
        typer.BadParameter: not four numbers, or (``ordered``) a minimum not below its maximum.
    """
    if value is None:
        return None
    try:
        parts = tuple(float(v) for v in value.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4 or (ordered and not (parts[0] < parts[2] and parts[1] < parts[3])):
        raise typer.BadParameter("give minlon,minlat,maxlon,maxlat in WGS84, e.g. 4.1,51.9,4.6,52.2")
    return parts[0], parts[1], parts[2], parts[3]
