"""Import daily weather for a parcel set: read, link parcels to cells, store (all or nothing).

Stored per cell (grid cell or station) and variable, one float32 value per day, only for the
cells some parcel is linked to; each parcel is linked to the grid cells it overlaps with the
share of its area in each (weights sum to 1), or to its nearest station. A grid that does
not cover every parcel, or a linked cell without a value on some day, refuses the import.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from backend.ancillary.weather_read import WeatherData, read_netcdf, read_stations_csv
from backend.db import connect
from backend.db import queries_ancillary as q
from backend.errors import AlreadyExists, InvalidInput
from backend.parcels.sets import ParcelSetKey, resolve_set
from backend.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WeatherImport:
    """What an import stored."""

    set_id: int
    kind: str
    first_day: str
    n_days: int
    variables: dict[str, str]  # variable -> stored unit
    n_cells: int  # cells (or stations) linked to parcels
    n_links: int
    seconds: float
    phases: dict[str, float] | None = None  # seconds: read (the file), link (parcels to cells), store


def read_weather(path: Path) -> WeatherData:
    """A NetCDF grid (``.nc``, ``.nc4``, ``.netcdf``) or a CSV of station series.

    Raises:
        InvalidInput: another kind of file, or a bad file (see the readers).
        ImageReadError: the file cannot be read.
    """
    if not path.is_file():
        raise InvalidInput(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix in (".nc", ".nc4", ".netcdf", ".cdf"):
        return read_netcdf(path)
    if suffix in (".csv", ".txt"):
        return read_stations_csv(path)
    raise InvalidInput(f"{path.name}: give a NetCDF grid (.nc) or a CSV of station series (.csv)")


def _epsg(data: WeatherData) -> int:
    epsg = data.crs.to_epsg()
    if epsg is None:
        raise InvalidInput(f"the grid's CRS has no EPSG code ({data.crs.name}): give the file in "
                           "lon/lat or in an EPSG CRS")
    return epsg


def _check_values(data: WeatherData, cells: list[int]) -> None:
    """Refuse a linked cell (or station) without a value on some day."""
    for name, values in data.values.items():
        bad = np.argwhere(np.isnan(values[:, cells]))
        if bad.size:
            day, i = (int(v) for v in bad[0])
            cell = cells[i]
            where = f"station {data.names[cell]}" if data.names else f"grid cell {cell}"
            date = np.datetime64(data.first_day) + np.timedelta64(day, "D")
            raise InvalidInput(f"{name}: {where}, which parcels are linked to, has no value on {date} "
                               f"({len(bad)} missing values in all): fill the gaps in the file")


def _link(conn: q.Conn, data: WeatherData, src: int, set_id: int, set_srid: int) -> tuple[int, list[str]]:
    """Link the set's parcels to the file's cells; the parcels not covered (count, first pids)."""
    if data.grid is not None:
        q.link_grid(conn, src, set_id, asdict(data.grid), srid=_epsg(data), set_srid=set_srid)
        return q.uncovered_grid(conn, src)
    rows = ((i, float(lon), float(lat)) for i, (lon, lat) in enumerate(data.cells))
    q.load_stations(conn, rows, srid=_epsg(data), set_srid=set_srid)
    q.link_nearest(conn, src, set_id)
    return q.uncovered(conn, src, set_id)


def import_weather(settings: Settings, path: str | Path, *, aoi: str, year: int, ptype: str = "",
                   replace: bool = False) -> WeatherImport:
    """Import a weather file for the parcel set (aoi, year, ptype), all or nothing.

    Raises:
        ParcelSetNotFound: no such parcel set.
        AlreadyExists: the set has weather and ``replace`` is False.
        InvalidInput: a bad file, a grid that does not cover every parcel, missing values.
        ImageReadError: the file cannot be read.
    """
    t0 = time.perf_counter()
    path = Path(path)
    data = read_weather(path)
    phases = {"read": time.perf_counter() - t0}
    with connect(settings) as conn, conn.transaction():
        pset = resolve_set(conn, ParcelSetKey(aoi, year, ptype))
        set_id = int(pset["id"])
        if q.weather_source(conn, set_id) is not None:
            if not replace:
                raise AlreadyExists(f"{aoi} {year} already has weather: give --replace to replace it")
            q.delete_weather(conn, set_id)
        src = q.insert_source(conn, set_id, str(path), data.kind, data.first_day, data.n_days,
                              list(data.values), data.units)
        t1 = time.perf_counter()
        n_out, pids = _link(conn, data, src, set_id, int(pset["srid"]))
        if n_out:
            raise InvalidInput(f"{path.name}: the grid does not cover {n_out} parcel(s) of {aoi} {year} "
                               f"(e.g. {', '.join(pids)}): give a file whose grid covers the parcel set")
        cells = q.linked_cells(conn, src)
        phases["link"] = time.perf_counter() - t1
        _check_values(data, cells)
        q.copy_series(conn, ((src, c, name, np.ascontiguousarray(v[:, c], dtype="<f4").tobytes())
                             for name, v in data.values.items() for c in cells))
        n_links = q.count_links(conn, src)
    phases["store"] = time.perf_counter() - t0 - phases["read"] - phases["link"]
    result = WeatherImport(set_id, data.kind, data.first_day.isoformat(), data.n_days, dict(data.units),
                           len(cells), int(n_links), time.perf_counter() - t0, phases)
    log.info("weather %s -> %s %s: %s", path, aoi, year, result)
    return result
