"""``cbm import weather`` and ``cbm import terrain``: ancillary data per parcel set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from backend.cli.base import Aoi, Ptype, Replace, Year, echo, settings
from backend.cli.ingest import import_app


@import_app.command("weather")
def import_weather_cmd(
    file: Annotated[Path, typer.Argument(help="Daily gridded NetCDF (AgERA5 / ERA5-Land style) or a CSV "
                                              "of station series (station, lon, lat, date, "
                                              "'name (unit)' columns, e.g. 'tmax (degC)').")],
    aoi: Aoi,
    year: Year,
    ptype: Ptype = "",
    replace: Replace = False,
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


@import_app.command("terrain")
def import_terrain_cmd(
    dem: Annotated[str, typer.Argument(help="DEM raster (COG, GeoTIFF or VRT; local path, s3:// or "
                                            "https://), elevations in metres, any CRS.")],
    aoi: Aoi,
    year: Year,
    ptype: Ptype = "",
    replace: Replace = False,
) -> None:
    """Terrain per parcel from a DEM (all or nothing): elevation mean, slope mean/max, aspect.

    Slope in degrees on the DEM grid in ground metres (also for a lon/lat DEM); aspect is the
    circular mean of the downslope bearings (degrees from north, none where flat). Exit 65 for
    a DEM without CRS, unreadable, or not covering every parcel with elevations, 66 for an
    unknown parcel set, 73 when the set has terrain and --replace is not given.
    """
    from backend.ancillary import import_terrain

    r = import_terrain(settings(), dem, aoi=aoi, year=year, ptype=ptype, replace=replace)
    echo(f"terrain {aoi} {year}: {r.n_parcels} parcels from {r.crs} DEM ({r.pixel_m:.1f} m pixels), "
         f"{r.seconds:.1f} s")
