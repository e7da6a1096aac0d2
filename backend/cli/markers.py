"""``cbm markers``: markers and traffic-light decisions from the signatures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from backend.cli.base import Aoi, Year, app, echo, settings

markers_app = typer.Typer(help="Markers and traffic-light decisions from the signatures.",
                          no_args_is_help=True)
app.add_typer(markers_app, name="markers")


@markers_app.command("run")
def markers_run(
    aoi: Aoi,
    year: Year,
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
    aoi: Aoi,
    year: Year,
    pid: Annotated[str, typer.Option(help="The parcel's id (pid) in the set.")],
    run: Annotated[int | None, typer.Option(help="Marker run id (default: the latest).")] = None,
) -> None:
    """Print the story of a parcel: markers, decisions, evidence used."""
    from backend.markers import explain

    echo(explain(settings(), aoi=aoi, year=year, pid=pid, run_id=run))
