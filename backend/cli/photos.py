"""``cbm photos``: geotagged photos of a field campaign attached to parcels."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Annotated

import typer

from backend.cli.base import Aoi, Year, app, echo, settings

photos_app = typer.Typer(help="Geotagged photos attached to parcels.", no_args_is_help=True)
app.add_typer(photos_app, name="photos")
EXIT_PARTIAL = 4


@photos_app.command("import")
def photos_import(
    folder: Annotated[Path, typer.Argument(help="Folder of JPEG photos (not recursive).")],
    aoi: Aoi,
    year: Year,
    condition: Annotated[str | None, typer.Option(help="Check the photos' time against this "
                                                  "condition's window.")] = None,
) -> None:
    """Store, check and link every photo of FOLDER; one report line per file.

    Each photo goes to the parcel holding its GPS position; a file named PID__name.jpg is
    attached to parcel PID (with the distance when it was taken outside). Exit 0 when every
    file is stored (or was already), 4 when some were refused, 65 when all were.
    """
    from backend.photos.batch import import_folder

    def line(name: str, outcome: str, detail: str) -> None:
        echo(f"{name}: {outcome}: {detail}")

    report = import_folder(settings(), folder, aoi=aoi, year=year, uploader=f"cli:{getpass.getuser()}",
                           condition=condition, on_file=line)
    stored, already, refused = (report.count(k) for k in ("stored", "already", "refused"))
    echo(f"{stored} stored, {already} already stored, {refused} refused of {len(report.lines)} files")
    if refused:
        typer.echo(f"error: {refused} of {len(report.lines)} files refused (see the lines above)", err=True)
        sys.exit(65 if refused == len(report.lines) else EXIT_PARTIAL)
