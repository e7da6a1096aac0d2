"""``cbm import weather`` (and terrain next): ancillary data per parcel set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from backend.cli.base import echo, settings
from backend.cli.ingest import import_app


@import_app.command("weather")
def import_weather_cmd(
    file: Annotated[Path, typer.Argument(help="Daily gridded NetCDF (AgERA5 / ERA5-Land style) or a CSV "
                                              "of station series (station, lon, lat, date, "
                                              "'name (unit)' columns, e.g. 'tmax (degC)').")],
    aoi: Annotated[str, typer.Option(help="AOI code of the parcel set, e.g. nl.")],
    year: Annotated[int, typer.Option(help="Year of the parcel set.")],
    ptype: Annotated[str, typer.Option(help="Optional parcel-set variant.")] = "",
    replace: Annotated[bool, typer.Option(help="Replace the set's weather.")] = False,
) -> None:
    """Import daily weather for a parcel set (all or nothing): parcels linked to cells or stations.

    Exit 65 for a bad file (no time axis or coordinates, unknown units, gaps in the days, a
    grid not covering the parcels), 66 for an unknown parcel set, 73 when the set has weather
    and --replace is not given.
    """
    from backend.ancillary import import_weather

    r = import_weather(settings(), file, aoi=aoi, year=year, ptype=ptype, replace=replace)
    units = ", ".join(f"{k} [{u}]" for k, u in r.variables.items())
    echo(f"weather {aoi} {year}: {r.kind}, {r.n_days} days from {r.first_day}, {units}; "
         f"{r.n_cells} {'stations' if r.kind == 'stations' else 'cells'} linked to parcels "
         f"({r.n_links} links), {r.seconds:.1f} s")
