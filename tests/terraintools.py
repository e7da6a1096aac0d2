"""Terrain test data: DEMs of known shape (plane, cone, flat) and parcels on their grids."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from rasterio.transform import from_origin

from backend.parcels import import_parcels

UTM = 32631
# On UTM 31N's central meridian (x = 500 000) the scale factor is exactly k0 = 0.9996: one grid
# metre is 1 / 0.9996 ground metres, so a grid gradient g is a ground gradient 0.9996 g.
K0 = 0.9996
X0, Y0, RES, N = 499_000.0, 5_763_000.0, 10.0, 200  # 2 km square DEM, 10 m pixels


def centres(n: int = N, x0: float = X0, y0: float = Y0, res: float = RES) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (x, y) of an n x n north-up grid, as (row, col) arrays."""
    cols, rows = np.meshgrid(np.arange(n), np.arange(n))
    return x0 + (cols + 0.5) * res, y0 - (rows + 0.5) * res


def write_dem(path: Path, z: np.ndarray, *, crs: object = UTM, transform: object = None,
              nodata: float | None = None) -> Path:
    """A tiled float64 GeoTIFF (no CRS when ``crs`` is None)."""
    transform = transform or from_origin(X0, Y0, RES, RES)
    with rasterio.open(path, "w", driver="GTiff", width=z.shape[1], height=z.shape[0], count=1,
                       dtype="float64", crs=crs, transform=transform, nodata=nodata, tiled=True,
                       blockxsize=64, blockysize=64) as ds:
        ds.write(z.astype(np.float64), 1)
    return path


def square(cx: float, cy: float, half: float) -> shapely.Polygon:
    """A square parcel (half side ``half``) centred on (cx, cy)."""
    return shapely.box(cx - half, cy - half, cx + half, cy + half)


def parcel_set(settings, tmp_path: Path, parcels: dict[str, shapely.Polygon], crs: int = UTM,
               aoi: str = "tr", year: int = 2025) -> int:
    gdf = gpd.GeoDataFrame({"pid": list(parcels), "crop_name": ["grass"] * len(parcels)},
                           geometry=list(parcels.values()), crs=crs)
    path = tmp_path / f"{aoi}_{year}.gpkg"
    gdf.to_file(path)
    return import_parcels(settings, path, aoi=aoi, year=year).set_id


def inside(geom: shapely.Geometry, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Pixel centres inside a parcel (shapely, independently of the import's rasteriser)."""
    return shapely.contains_xy(geom, xs, ys)


def circular_diff(a: float, b: float) -> float:
    """Smallest angle in degrees between two bearings."""
    return abs((a - b + 180.0) % 360.0 - 180.0)
