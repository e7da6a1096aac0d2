"""Weather test data: a parcel set in UTM 31N and daily NetCDF / CSV files with known values."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import xarray as xr
from pyproj import Transformer

from backend.parcels import import_parcels

UTM = 32631
TO_UTM = Transformer.from_crs(4326, UTM, always_xy=True)
LONS = 4.905 + 0.01 * np.arange(10)  # cell centres, 0.01 degree cells from 4.90 to 5.00
LATS = 52.045 - 0.01 * np.arange(10)  # north to south, as ERA5 files are
DAYS = pd.date_range("2025-01-01", periods=12, freq="D")


def lonlat_box(lon: float, lat: float, half_m: float = 50.0) -> shapely.Polygon:
    """A square parcel of 2 * half_m around (lon, lat), in UTM."""
    x, y = TO_UTM.transform(lon, lat)
    return shapely.box(x - half_m, y - half_m, x + half_m, y + half_m)


# A inside cell (lon 4.955, lat 52.005); B across the cell boundary at lon 4.96; C elsewhere
PARCELS = {"A": lonlat_box(4.955, 52.005), "B": lonlat_box(4.9602, 52.015), "C": lonlat_box(4.9237, 51.9734)}


def parcel_set(settings, tmp_path: Path, parcels: dict[str, shapely.Polygon] | None = None,
               aoi: str = "wx", year: int = 2025) -> int:
    parcels = parcels or PARCELS
    gdf = gpd.GeoDataFrame({"pid": list(parcels), "crop_name": ["grass"] * len(parcels)},
                           geometry=list(parcels.values()), crs=UTM)
    path = tmp_path / f"{aoi}_{year}.gpkg"
    gdf.to_file(path)
    r = import_parcels(settings, path, aoi=aoi, year=year)
    return r.set_id


def grid_values(seed: int = 1) -> dict[str, np.ndarray]:
    """(days, lat, lon) float32 arrays as AgERA5 stores them (K, mm d-1, m s-1)."""
    rng = np.random.default_rng(seed)
    shape = (len(DAYS), len(LATS), len(LONS))
    tmean = (275 + 5 * rng.random(shape)).astype(np.float32)
    return {"Precipitation_Flux": (rng.random(shape) * 12).astype(np.float32),
            "Temperature_Air_2m_Mean_24h": tmean,
            "Temperature_Air_2m_Min_24h": tmean - np.float32(3.5),
            "Temperature_Air_2m_Max_24h": tmean + np.float32(4.25),
            "Wind_Speed_10m_Mean": (rng.random(shape) * 8).astype(np.float32)}


UNITS = {"Precipitation_Flux": "mm d-1", "Temperature_Air_2m_Mean_24h": "K",
         "Temperature_Air_2m_Min_24h": "K", "Temperature_Air_2m_Max_24h": "K",
         "Wind_Speed_10m_Mean": "m s-1"}


def write_grid(path: Path, values: dict[str, np.ndarray] | None = None, *,
               units: dict[str, str] | None = None,
               lons: np.ndarray = LONS, lats: np.ndarray = LATS, days: pd.DatetimeIndex = DAYS,
               with_time: bool = True, with_coords: bool = True) -> Path:
    values = values if values is not None else grid_values()
    units = units or UNITS
    dims = ("time" if with_time else "step", "lat", "lon")
    ds = xr.Dataset({name: (dims, arr, {"units": units[name]}) for name, arr in values.items()})
    if with_time:
        ds = ds.assign_coords(time=days)
    if with_coords:
        ds = ds.assign_coords(lat=("lat", lats, {"units": "degrees_north"}),
                              lon=("lon", lons, {"units": "degrees_east"}))
    ds.to_netcdf(path)
    return path


def cell_of(lon: float, lat: float) -> tuple[int, int]:
    """(lat index, lon index) of the cell holding a point."""
    return int(np.argmin(abs(LATS - lat))), int(np.argmin(abs(LONS - lon)))


def cell_polygon(i: int, j: int) -> shapely.Polygon:
    """Cell (lat index i, lon index j) in UTM, its four corners transformed (as PostGIS does)."""
    x0, x1 = LONS[j] - 0.005, LONS[j] + 0.005
    y0, y1 = LATS[i] - 0.005, LATS[i] + 0.005
    xs, ys = TO_UTM.transform([x0, x1, x1, x0], [y0, y0, y1, y1])
    return shapely.Polygon(zip(xs, ys, strict=True))
