"""The output grid of a CARD-BS product and the DEM resampled onto it.

sarsen geocodes onto the grid of the DEM it is given, so the DEM is first warped (bilinear)
onto the user's UTM grid; the terrain-corrected backscatter then lands on exactly that grid.
A DEM that does not cover every output pixel is refused: a gap would silently become a
geolocation error or a hole in the product.

Heights: a DEM whose CRS declares a vertical datum (e.g. EPSG:9707, WGS 84 + EGM96 height) is
converted to ellipsoidal heights by PROJ on the way to ECEF; when PROJ lacks the geoid grid it
falls back to a "ballpark" transformation that ignores the geoid (40-50 m in Europe, a 60-70 m
shift in range): such a DEM is refused. A DEM without a vertical CRS is taken as ellipsoidal
heights (sarsen's convention).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import rasterio.crs
from pyproj import CRS, Transformer
from pyproj.crs import CompoundCRS
from rasterio.enums import Resampling
from rasterio.transform import Affine
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform_bounds
from shapely import wkt
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

from backend.errors import ConfigError, InvalidInput


@dataclass(frozen=True)
class Grid:
    """A north-up output grid: CRS, pixel size (m) and pixel-aligned bounds."""

    crs: str
    resolution: int
    bounds: tuple[float, float, float, float]

    def __post_init__(self) -> None:
        code = CRS.from_user_input(self.crs).to_epsg() or 0
        if not (32601 <= code <= 32660 or 32701 <= code <= 32760):
            raise InvalidInput(f"{self.crs}: the output grid is a UTM zone (EPSG:326xx north, 327xx south)")
        if self.resolution not in (10, 20):
            raise InvalidInput(f"resolution {self.resolution} m: CARD-BS is made at 10 or 20 m")

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        w, s, e, n = self.bounds
        return round((n - s) / self.resolution), round((e - w) / self.resolution)

    @property
    def transform(self) -> Affine:
        """The affine transform of the grid (north-up)."""
        return Affine(self.resolution, 0, self.bounds[0], 0, -self.resolution, self.bounds[3])


def make_grid(footprint: BaseGeometry, crs: str, resolution: int,
              bbox: tuple[float, float, float, float] | None = None) -> Grid:
    """The grid over ``bbox`` (lon/lat) if given, else over the product footprint (lon/lat).

    A bbox is kept whole (pixels outside the swath are NaN), so every product of an area lands
    on the same grid. Bounds are snapped outward to multiples of the resolution, so products
    of one zone and resolution share pixel edges.
    """
    area = footprint if bbox is None else box(*bbox)
    if not area.intersects(footprint):
        raise InvalidInput(f"the bbox {bbox} does not overlap the product footprint "
                           f"{tuple(round(v, 3) for v in footprint.bounds)}")
    Grid(crs, resolution, (0, 0, 1, 1))  # validate the CRS and resolution first
    w, s, e, n = transform_bounds("EPSG:4326", crs, *area.bounds, densify_pts=21)
    r = resolution
    return Grid(crs, resolution, (math.floor(w / r) * r, math.floor(s / r) * r,
                                  math.ceil(e / r) * r, math.ceil(n / r) * r))


def footprint_from_wkt(text: str) -> BaseGeometry:
    """The product footprint from xarray-sentinel's ``geospatial_bounds`` (WKT, lon/lat)."""
    return wkt.loads(text)


def warp_dem(dem: str | None, grid: Grid, out: Path) -> Path:
    """Write the DEM warped onto ``grid`` (float32, bilinear) as a GeoTIFF; return its path.

    Raises:
        ConfigError: no DEM is configured (``CBM_DEM``).
        InvalidInput: the DEM cannot be read, its geoid cannot be applied, or it does not
            cover every pixel of the grid.
    """
    if not dem:
        raise ConfigError("no DEM configured: set CBM_DEM to a COG or VRT of the area (e.g. "
                          "Copernicus DEM GLO-30 tiles in a VRT)")
    try:
        src_ctx = rasterio.open(dem)
    except rasterio.errors.RasterioError as exc:
        raise InvalidInput(f"DEM {dem} cannot be opened: {exc}") from None
    rows, cols = grid.shape
    with src_ctx as src:
        out_crs = _check_vertical(src, dem, grid)
        with WarpedVRT(src, crs=grid.crs, transform=grid.transform, width=cols, height=rows,
                       resampling=Resampling.bilinear, src_nodata=src.nodata, nodata=np.nan,
                       dtype="float32") as vrt:
            heights = vrt.read(1)
    missing = ~np.isfinite(heights)
    if missing.any():
        raise InvalidInput(f"the DEM {dem} does not cover the product on the requested grid: "
                           f"{int(missing.sum())} of {heights.size} pixels of {grid.bounds} "
                           f"({grid.crs}) have no height; extend CBM_DEM or narrow the bbox")
    profile = {"driver": "GTiff", "width": cols, "height": rows, "count": 1, "dtype": "float32",
               "crs": out_crs, "transform": grid.transform, "tiled": True, "blockxsize": 256,
               "blockysize": 256}
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(heights, 1)
    return out


def _check_vertical(src: rasterio.io.DatasetReader, dem: str, grid: Grid) -> rasterio.crs.CRS:
    """The CRS of the warped DEM: the grid's, with the DEM's vertical datum if it has one."""
    if src.crs is None:
        raise InvalidInput(f"DEM {dem} has no CRS")
    crs = CRS.from_user_input(src.crs.to_wkt())
    if not crs.is_compound:
        return rasterio.crs.CRS.from_user_input(grid.crs)  # heights taken as ellipsoidal
    x, y = (src.bounds.left + src.bounds.right) / 2, (src.bounds.bottom + src.bounds.top) / 2
    t = Transformer.from_crs(crs, "EPSG:4979", always_xy=True)
    if "ballpark" in t.description.lower():
        raise InvalidInput(f"DEM {dem} has heights above a geoid ({crs.sub_crs_list[1].name}) and PROJ "
                           "has no grid to convert them to ellipsoidal heights (it would ignore the "
                           "geoid: a 60-70 m shift); install the geoid grid (projsync) or give a DEM "
                           f"in ellipsoidal heights (centre {x:.3f},{y:.3f})")
    out = CompoundCRS(f"{grid.crs} + {crs.sub_crs_list[1].name}",
                      [CRS.from_user_input(grid.crs), crs.sub_crs_list[1]])
    return rasterio.crs.CRS.from_wkt(out.to_wkt())
