"""Read daily weather: a gridded NetCDF (xarray) or a CSV of station series.

Both give a :class:`WeatherData`: consecutive days, cells (grid cells with their bounds in
the grid's CRS, or stations with their lon/lat) and, per variable, a ``(days, cells)`` float32
array in the stored unit (:mod:`backend.ancillary.units`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from pyproj import CRS
from pyproj.exceptions import CRSError

from backend.ancillary.units import canonical_name, parse_unit
from backend.errors import ImageReadError, InvalidInput

_LON = ("lon", "longitude", "long", "x")
_LAT = ("lat", "latitude", "y")
_CSV_UNIT = re.compile(r"^\s*(?P<name>[^\[\(]+?)\s*[\[\(](?P<unit>[^\]\)]+)[\]\)]\s*$")


@dataclass(frozen=True)
class GridSpec:
    """A regular grid in its own CRS, the cell of a point found by arithmetic.

    Column ``i`` spans ``x0 + i * dx`` to ``x0 + (i + 1) * dx`` (``dx`` < 0 when x decreases
    along the file's axis), row ``j`` likewise in y; cell number ``j * nx + i``, the order of
    :attr:`WeatherData.cells`.
    """

    x0: float
    dx: float
    nx: int
    y0: float
    dy: float
    ny: int

    def __post_init__(self) -> None:
        if self.nx < 1 or self.ny < 1:
            raise ValueError(f"a grid needs at least one cell, not {self.nx} x {self.ny}")
        if not (np.isfinite([self.x0, self.dx, self.y0, self.dy]).all() and self.dx and self.dy):
            raise ValueError(f"grid origin and cell size must be finite and non-zero: {self}")


@dataclass
class WeatherData:
    """Daily series of one file, converted to the stored units."""

    kind: str  # grid or stations
    first_day: dt.date
    n_days: int
    crs: CRS  # of the cell geometries
    cells: np.ndarray  # grid: (n, 4) xmin, ymin, xmax, ymax; stations: (n, 2) lon, lat
    values: dict[str, np.ndarray] = field(default_factory=dict)  # variable -> (days, cells)
    units: dict[str, str] = field(default_factory=dict)  # variable -> stored unit
    names: list[str] = field(default_factory=list)  # station names
    grid: GridSpec | None = None  # grid files: the regular grid the cells come from


def _consecutive(days: pd.DatetimeIndex, where: str) -> tuple[dt.date, int]:
    if len(days) == 0:
        raise InvalidInput(f"{where}: no days")
    steps = np.diff(days.normalize().values).astype("timedelta64[D]").astype(int)
    if len(steps) and (bad := np.flatnonzero(steps != 1)).size:
        i = int(bad[0])
        raise InvalidInput(f"{where}: days are not consecutive daily steps: {days[i]:%Y-%m-%d} is "
                           f"followed by {days[i + 1]:%Y-%m-%d} (give one value per day, no gaps)")
    return days[0].date(), len(days)


def _time_name(ds: xr.Dataset, path: Path) -> str:
    for name, coord in ds.coords.items():
        if np.issubdtype(coord.dtype, np.datetime64) and coord.ndim == 1:
            return str(name)
    raise InvalidInput(f"{path.name}: no time axis (a coordinate of dates, e.g. 'time'): a daily "
                       "weather file needs one")


def _axis(ds: xr.Dataset, names: tuple[str, ...]) -> str | None:
    return next((str(n) for n in ds.coords if str(n).lower() in names and ds[n].ndim == 1), None)


def _grid_crs(ds: xr.Dataset, xname: str, path: Path) -> CRS:
    for var in ds.data_vars.values():
        mapping = var.attrs.get("grid_mapping")
        if mapping and mapping in ds.variables:
            attrs = ds[mapping].attrs
            text = attrs.get("crs_wkt") or attrs.get("spatial_ref")
            try:
                return CRS.from_user_input(text) if text else CRS.from_cf(attrs)
            except CRSError as exc:
                raise InvalidInput(f"{path.name}: unreadable grid mapping {mapping}: {exc}") from None
    if xname.lower() in ("lon", "longitude", "long"):
        return CRS.from_epsg(4326)
    raise InvalidInput(f"{path.name}: projected x/y coordinates without a CRS: add a CF grid_mapping "
                       "variable (crs_wkt) or give lon/lat coordinates")


def _bounds(centres: np.ndarray, name: str) -> tuple[np.ndarray, float, float]:
    """Each cell's (low, high) bounds along one axis, and the axis's origin and signed step."""
    if centres.size < 2:
        raise InvalidInput(f"coordinate {name} has {centres.size} value: the cell size is unknown")
    steps = np.diff(centres)
    if not np.allclose(steps, steps[0], rtol=1e-6):
        raise InvalidInput(f"coordinate {name} is not evenly spaced: give a regular grid")
    half = abs(steps[0]) / 2
    step = float(centres[-1] - centres[0]) / (centres.size - 1)
    return np.stack([centres - half, centres + half], axis=1), float(centres[0]) - step / 2, step


def read_netcdf(path: Path) -> WeatherData:
    """Read a daily gridded NetCDF (AgERA5 / ERA5-Land style) into stored units.

    Raises:
        InvalidInput: no time axis, no coordinates, unevenly spaced cells, gaps in the days,
            no variable on the grid, or units that cannot be recognised.
        ImageReadError: the file cannot be opened.
    """
    try:
        ds = xr.open_dataset(path, decode_times=True)
    except (OSError, ValueError) as exc:
        raise ImageReadError(f"cannot read {path}: {exc}") from None
    with ds:
        tname = _time_name(ds, path)
        xname, yname = _axis(ds, _LON), _axis(ds, _LAT)
        if xname is None or yname is None:
            raise InvalidInput(f"{path.name}: no lon/lat (or x/y) coordinates: the grid cannot be "
                               "placed")
        first, n = _consecutive(pd.DatetimeIndex(ds[tname].values), path.name)
        grid = [v for v in ds.data_vars.values() if set(v.dims) == {tname, yname, xname}]
        if not grid:
            raise InvalidInput(f"{path.name}: no variable on ({tname}, {yname}, {xname})")
        xb, x0, dx = _bounds(ds[xname].values.astype(float), xname)
        yb, y0, dy = _bounds(ds[yname].values.astype(float), yname)
        ny, nx = len(yb), len(xb)
        cells = np.column_stack([np.tile(xb[:, 0], ny), np.repeat(yb[:, 0], nx),
                                 np.tile(xb[:, 1], ny), np.repeat(yb[:, 1], nx)])
        cells = np.column_stack([np.minimum(cells[:, 0], cells[:, 2]), np.minimum(cells[:, 1], cells[:, 3]),
                                 np.maximum(cells[:, 0], cells[:, 2]), np.maximum(cells[:, 1], cells[:, 3])])
        data = WeatherData("grid", first, n, _grid_crs(ds, xname, path), cells,
                           grid=GridSpec(x0, dx, nx, y0, dy, ny))
        for var in grid:
            _add_variable(data, str(var.name), var.attrs.get("units"),
                          var.transpose(tname, yname, xname).values.reshape(n, ny * nx))
    return data


def _add_variable(data: WeatherData, name: str, units: Any, values: np.ndarray) -> None:
    unit = parse_unit(name, units)
    stored = canonical_name(name)
    if stored in data.values:
        raise InvalidInput(f"two variables are {stored}: keep one of them in the file")
    converted = values.astype(np.float64) * unit.scale + unit.offset
    data.values[stored] = converted.astype(np.float32)
    data.units[stored] = unit.stored


def read_stations_csv(path: Path) -> WeatherData:
    """Read a CSV of station series: station, lon, lat, date, then ``name [unit]`` columns.

    Raises:
        InvalidInput: missing columns, a column without its unit, unknown units, unreadable
            dates or coordinates, a station with a missing (or repeated) day, or stations
            covering different days.
    """
    try:
        frame = pd.read_csv(path)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InvalidInput(f"cannot read {path.name} as CSV: {exc}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    lower = {c.lower(): c for c in frame.columns}
    missing = [c for c in ("station", "lon", "lat", "date") if c not in lower]
    if missing:
        raise InvalidInput(f"{path.name}: missing column(s) {', '.join(missing)} (give station, lon, "
                           "lat, date and one 'name [unit]' column per variable)")
    frame = frame.rename(columns={lower[c]: c for c in ("station", "lon", "lat", "date")})
    try:
        frame["date"] = pd.to_datetime(frame["date"], format="%Y-%m-%d")
    except ValueError as exc:
        raise InvalidInput(f"{path.name}: unreadable date (give YYYY-MM-DD): {exc}") from None
    frame = frame.sort_values(["station", "date"], kind="stable")
    stations = list(dict.fromkeys(frame["station"].astype(str)))
    days = None
    for name, rows in frame.groupby(frame["station"].astype(str), sort=False):
        if rows["date"].duplicated().any():
            raise InvalidInput(f"{path.name}: station {name} has a day twice")
        got = _consecutive(pd.DatetimeIndex(rows["date"]), f"{path.name}: station {name}")
        if days is not None and got != days:
            raise InvalidInput(f"{path.name}: station {name} covers {got[1]} days from {got[0]}, "
                               f"others {days[1]} from {days[0]}: give every station the same days")
        days = got
    assert days is not None
    coords = frame.groupby(frame["station"].astype(str), sort=False)[["lon", "lat"]].first()
    data = WeatherData("stations", days[0], days[1], CRS.from_epsg(4326),
                       coords.loc[stations].to_numpy(dtype=float), names=stations)
    for column in frame.columns:
        if column in ("station", "lon", "lat", "date"):
            continue
        match = _CSV_UNIT.match(column)
        if match is None:
            raise InvalidInput(f"{path.name}: column {column!r} has no unit: name it like "
                               "'precipitation [mm]' or 'tmax [degC]'")
        table = frame.pivot(index="date", columns="station", values=column)[stations]
        _add_variable(data, match["name"], match["unit"], table.to_numpy(dtype=float))
    return data
