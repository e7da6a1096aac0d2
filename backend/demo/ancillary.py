"""SYNTHETIC ancillary data of the demo area: a daily weather grid (NetCDF) and a DEM (COG).

Written beside the demo build (``var/demo/ancillary/``) by ``cbm demo run`` and imported with
``cbm import weather`` / ``cbm import terrain``; the build's own files are not touched. The
weather follows the demo's own rain days (``phenology.weather``, the same stream the imagery's
soil moisture comes from): amounts on those days, none on the others, a little spatial
variation between the 0.01-degree cells; temperatures follow the season. The DEM is a polder
a few metres below sea level with gentle undulation (Flevoland is flat).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Transformer

from backend.demo.cog import write_cog
from backend.demo.noise import smooth_noise
from backend.demo.params import CRS, N_DAYS, STREAM_WEATHER, YEAR, DemoParams, Grid, aoi_bounds, rng_for

STREAM_ANCILLARY = 8
"""Random stream of the weather amounts, temperatures and DEM (apart from the imagery's 1..7)."""
CELL_DEG = 0.01
DEM_RES = 30.0
UNITS = {"Precipitation_Flux": "mm d-1", "Temperature_Air_2m_Mean_24h": "degC",
         "Temperature_Air_2m_Min_24h": "degC", "Temperature_Air_2m_Max_24h": "degC"}


@dataclass(frozen=True)
class WeatherGrid:
    """Daily weather on a lon/lat grid: (days, lat, lon) float32 arrays, lat north to south."""

    lons: np.ndarray
    lats: np.ndarray
    precipitation: np.ndarray  # mm/day
    tmean: np.ndarray  # °C
    tmin: np.ndarray
    tmax: np.ndarray

    def cell_of(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lat index, lon index) of the cells holding points."""
        return (np.abs(self.lats[None, :] - np.asarray(lat)[:, None]).argmin(axis=1),
                np.abs(self.lons[None, :] - np.asarray(lon)[:, None]).argmin(axis=1))


def cell_centres(params: DemoParams, margin: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres (lons west to east, lats north to south) of the grid over the AOI."""
    to_ll = Transformer.from_crs(CRS, 4326, always_xy=True)
    x0, y0, x1, y1 = to_ll.transform_bounds(*aoi_bounds(params), densify_pts=21)
    i0, i1 = int(np.floor(x0 / CELL_DEG)) - margin, int(np.floor(x1 / CELL_DEG)) + margin
    j0, j1 = int(np.floor(y0 / CELL_DEG)) - margin, int(np.floor(y1 / CELL_DEG)) + margin
    lons = (np.arange(i0, i1 + 1) + 0.5) * CELL_DEG
    lats = (np.arange(j1, j0 - 1, -1) + 0.5) * CELL_DEG
    return lons.round(6), lats.round(6)


def temperatures(rng: np.random.Generator, shape: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """(tmean, tmin, tmax) in °C, (days, ny, nx): a seasonal cycle, day-to-day anomalies."""
    doy = np.arange(N_DAYS)
    anomaly = np.zeros(N_DAYS)
    for d in range(1, N_DAYS):
        anomaly[d] = 0.8 * anomaly[d - 1] + rng.normal(0, 1.3)
    tmean = 10.5 - 7.5 * np.cos(2 * np.pi * (doy - 20) / N_DAYS) + anomaly
    spread = rng.uniform(2.5, 5.0, N_DAYS)
    offset = rng.normal(0, 0.2, shape)
    cube = tmean[:, None, None] + offset[None]
    return (cube.astype(np.float32), (cube - spread[:, None, None]).astype(np.float32),
            (cube + 1.3 * spread[:, None, None]).astype(np.float32))


def demo_weather(params: DemoParams) -> WeatherGrid:
    """The demo's weather: rain on its rain days (gamma amounts), seasonal temperatures."""
    rain_days, _ = _rain_days(params.seed)
    rng = rng_for(params.seed, STREAM_ANCILLARY, 0)
    lons, lats = cell_centres(params)
    shape = (len(lats), len(lons))
    amount = np.where(rain_days, 0.2 + rng.gamma(0.9, 3.5, N_DAYS), 0.0)
    pattern = rng.uniform(0.8, 1.2, (N_DAYS, *shape))
    precip = (amount[:, None, None] * pattern).round(1).astype(np.float32)
    return WeatherGrid(lons, lats, precip, *temperatures(rng, shape))


def _rain_days(seed: int) -> tuple[np.ndarray, np.ndarray]:
    from backend.demo.phenology import weather

    return weather(rng_for(seed, STREAM_WEATHER))


def write_weather(path: Path, g: WeatherGrid) -> Path:
    """Write the grid as an AgERA5-style NetCDF (variable names and units as AgERA5 has them)."""
    import dask
    import xarray as xr

    days = pd.date_range(f"{YEAR}-01-01", periods=N_DAYS, freq="D")
    dims = ("time", "lat", "lon")
    data = {"Precipitation_Flux": g.precipitation, "Temperature_Air_2m_Mean_24h": g.tmean,
            "Temperature_Air_2m_Min_24h": g.tmin, "Temperature_Air_2m_Max_24h": g.tmax}
    ds = xr.Dataset({k: (dims, v, {"units": UNITS[k]}) for k, v in data.items()},
                    coords={"time": days, "lat": ("lat", g.lats, {"units": "degrees_north"}),
                            "lon": ("lon", g.lons, {"units": "degrees_east"})},
                    attrs={"title": "SYNTHETIC demo weather (backend.demo), not real observations"})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.nc")
    with dask.config.set(scheduler="synchronous"):  # numpy arrays; never a process-wide client
        ds.to_netcdf(tmp)
    tmp.replace(path)
    return path


def write_dem(path: Path, params: DemoParams) -> Path:
    """A SYNTHETIC polder DEM over the AOI (30 m COG, metres): about -4.5 m, undulating by ~1 m."""
    rng = rng_for(params.seed, STREAM_ANCILLARY, 1)
    n = round(params.size_m / DEM_RES)
    g = Grid(res=DEM_RES, width=n, height=n)
    cols, rows = np.meshgrid(np.arange(n), np.arange(n))
    z = -4.5 + 0.6 * smooth_noise(rng, (n, n), 25.0) + 0.0004 * DEM_RES * (cols - rows)
    write_cog(path, z.astype(np.float32), g, nodata=-9999.0, description="elevation")
    return path
