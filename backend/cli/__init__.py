"""The ``cbm`` command: database, ingestion, extraction, batch, markers, API, demo.

Errors are printed as one line on stderr with a meaningful exit code (see ``backend.errors``);
``--debug`` shows the traceback instead. Each command group lives in its own module.
"""

from __future__ import annotations

import sys

import typer

from backend.cli import api, batch, card, db, demo, ingest, markers, photos, qa  # noqa: F401  (register commands)
from backend.cli.base import _state, app
from backend.errors import CbmError

__all__ = ["app", "main"]


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
