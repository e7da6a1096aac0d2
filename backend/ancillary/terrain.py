"""Import terrain for a parcel set from a DEM (COG, VRT, any GDAL raster): all or nothing.

Each parcel gets its mean elevation, mean and max slope and aspect (see
:mod:`backend.ancillary.terrain_grid`) over the DEM pixels whose centres it holds (a parcel
smaller than a pixel: the pixels it touches). The DEM is read tile by tile, each tile's window
only as large as its parcels need plus one pixel for the slope's neighbours. A DEM without a
CRS, rotated, unreadable, or not covering every parcel with elevations refuses the import.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import shapely
from affine import Affine
from pyproj import CRS, Transformer
from rasterio.features import geometry_mask
from rasterio.windows import Window

from backend.ancillary.terrain_grid import ParcelTerrain, parcel_terrain, pixel_metres, slope_aspect
from backend.db import connect
from backend.db import queries_ancillary as q
from backend.errors import AlreadyExists, ImageReadError, InvalidInput
from backend.parcels.sets import ParcelSetKey, resolve_set
from backend.settings import Settings
from backend.storage import open_raster, raster_env

log = logging.getLogger(__name__)
TILE = 512  # DEM pixels per side of the tiles parcels are grouped in (by their first pixel)


@dataclass(frozen=True)
class TerrainImport:
    """What an import stored."""

    set_id: int
    n_parcels: int
    crs: str
    pixel_m: float  # mean ground pixel size over the parcels' tiles
    seconds: float


@dataclass(frozen=True)
class _Parcel:
    id: int
    pid: str
    geom: shapely.Geometry  # in the DEM's CRS
    box: tuple[int, int, int, int]  # row0, col0, row1, col1 (exclusive) of its bounds on the DEM grid


def _open(href: str) -> rasterio.io.DatasetReader:
    try:
        ds = open_raster(href)
    except ImageReadError as exc:
        raise InvalidInput(f"{exc}: give a DEM GeoTIFF / COG / VRT") from None
    if ds.crs is None:
        ds.close()
        raise InvalidInput(f"{href}: the DEM has no CRS: set one (gdal_edit.py -a_srs EPSG:...)")
    t = ds.transform
    if t.b != 0 or t.d != 0 or t.a <= 0:
        ds.close()
        raise InvalidInput(f"{href}: the DEM grid is rotated or flipped: warp it north-up (gdalwarp)")
    return ds


def _parcels(rows: list[dict[str, Any]], set_srid: int, ds: rasterio.io.DatasetReader) -> list[_Parcel]:
    """The parcels in the DEM's CRS with their pixel boxes; refuses those outside the DEM."""
    to_dem = Transformer.from_crs(CRS.from_epsg(set_srid), CRS.from_user_input(ds.crs), always_xy=True)
    geoms = shapely.transform(shapely.from_wkb([r["wkb"] for r in rows]),
                              lambda xy: np.column_stack(to_dem.transform(xy[:, 0], xy[:, 1])))
    inv = ~ds.transform
    out, outside = [], []
    for r, g in zip(rows, geoms, strict=True):
        x0, y0, x1, y1 = g.bounds
        c0, r0 = inv @ (x0, y1)
        c1, r1 = inv @ (x1, y0)
        r0, r1 = sorted((r0, r1))
        box = (math.floor(r0), math.floor(c0), math.ceil(r1), math.ceil(c1))
        if box[0] < 0 or box[1] < 0 or box[2] > ds.height or box[3] > ds.width:
            outside.append(r["pid"])
        out.append(_Parcel(int(r["id"]), r["pid"], g, box))
    if outside:
        raise InvalidInput(f"the DEM does not cover {len(outside)} parcel(s) (e.g. "
                           f"{', '.join(outside[:5])}): give a DEM covering the parcel set")
    return out


def _tiles(parcels: list[_Parcel]) -> Iterator[list[_Parcel]]:
    groups: dict[tuple[int, int], list[_Parcel]] = defaultdict(list)
    for p in parcels:
        groups[(p.box[0] // TILE, p.box[1] // TILE)].append(p)
    yield from (groups[k] for k in sorted(groups))


def _inside(p: _Parcel, transform: Any, r0: int, c0: int) -> tuple[slice, slice, np.ndarray]:
    rows, cols = slice(p.box[0] - r0, p.box[2] - r0), slice(p.box[1] - c0, p.box[3] - c0)
    shape = (p.box[2] - p.box[0], p.box[3] - p.box[1])
    sub = transform @ Affine.translation(p.box[1], p.box[0])
    mask = geometry_mask([p.geom], shape, sub, invert=True)
    if not mask.any():
        mask = geometry_mask([p.geom], shape, sub, invert=True, all_touched=True)
    return rows, cols, mask


def _tile_terrain(ds: rasterio.io.DatasetReader, crs: CRS, tile: list[_Parcel],
                  to_lonlat: Transformer) -> tuple[list[tuple[_Parcel, ParcelTerrain]], float]:
    r0 = max(0, min(p.box[0] for p in tile) - 1)
    c0 = max(0, min(p.box[1] for p in tile) - 1)
    r1 = min(ds.height, max(p.box[2] for p in tile) + 1)
    c1 = min(ds.width, max(p.box[3] for p in tile) + 1)
    window = Window(c0, r0, c1 - c0, r1 - r0)
    try:
        z = ds.read(1, window=window, masked=True).astype(np.float64).filled(np.nan)
    except rasterio.errors.RasterioIOError as exc:
        raise InvalidInput(f"{ds.name}: cannot read the DEM ({exc}): the file is corrupt or "
                           "truncated") from None
    cx, cy = ds.transform @ ((c0 + c1) / 2, (r0 + r1) / 2)
    dx, dy = pixel_metres(crs, ds.transform, np.arange(r0, r1), to_lonlat.transform(cx, cy))
    slope, east, north = slope_aspect(z, dx, dy, north_up=ds.transform.e < 0)
    out = []
    for p in tile:
        rows, cols, mask = _inside(p, ds.transform, r0, c0)
        if np.isnan(z[rows, cols][mask]).any():
            raise InvalidInput(f"the DEM has no elevation (nodata) in parcel {p.pid}: give a DEM without "
                               "voids over the parcels (fill them, e.g. gdal_fillnodata.py)")
        out.append((p, parcel_terrain(z[rows, cols], slope[rows, cols], east[rows, cols],
                                      north[rows, cols], mask)))
    return out, float(np.mean((dx + dy) / 2))


def compute_terrain(settings: Settings, dem: str, rows: list[dict[str, Any]],
                    set_srid: int) -> tuple[list[tuple[_Parcel, ParcelTerrain]], str, float]:
    """Terrain of the parcels ``rows`` (id, pid, wkb in ``set_srid``): (results, CRS name, pixel m).

    Raises:
        InvalidInput: an unreadable DEM, no CRS, a rotated grid, parcels outside or over nodata.
    """
    with raster_env(settings), _open(dem) as ds:
        crs = CRS.from_user_input(ds.crs)
        parcels = _parcels(rows, set_srid, ds)
        to_lonlat = Transformer.from_crs(crs, CRS.from_epsg(4326), always_xy=True)
        results, sizes = [], []
        for tile in _tiles(parcels):
            res, size = _tile_terrain(ds, crs, tile, to_lonlat)
            results += res
            sizes.append(size)
    return results, crs.name, float(np.mean(sizes)) if sizes else 0.0


def import_terrain(settings: Settings, dem: str | Path, *, aoi: str, year: int, ptype: str = "",
                   replace: bool = False) -> TerrainImport:
    """Import a DEM's terrain for the parcel set (aoi, year, ptype), all or nothing.

    Raises:
        ParcelSetNotFound: no such parcel set.
        AlreadyExists: the set has terrain and ``replace`` is False.
        InvalidInput: see :func:`compute_terrain`.
    """
    t0 = time.perf_counter()
    dem = str(dem)
    with connect(settings) as conn, conn.transaction():
        pset = resolve_set(conn, ParcelSetKey(aoi, year, ptype))
        set_id = int(pset["id"])
        if q.terrain_source(conn, set_id) is not None and not replace:
            raise AlreadyExists(f"{aoi} {year} already has terrain: give --replace to replace it")
        results, crs_name, pixel_m = compute_terrain(settings, dem, q.parcel_geoms(conn, set_id),
                                                     int(pset["srid"]))
        if not results:
            raise InvalidInput(f"{aoi} {year} has no parcels")
        q.delete_terrain(conn, set_id)
        q.insert_terrain(conn, set_id, dem, crs_name, pixel_m,
                         ((p.id, t.elevation, t.slope_mean, t.slope_max, t.aspect, t.n_pixels)
                          for p, t in results))
    result = TerrainImport(set_id, len(results), crs_name, pixel_m, time.perf_counter() - t0)
    log.info("terrain %s -> %s %s: %s", dem, aoi, year, result)
    return result
