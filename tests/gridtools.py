"""The small test grid shared by the scene builders: origin, CRS, cell rectangles and COG writer.

Every synthetic scene of the suite (extraction, chips, API, batch, reliability) lies on this
10 m grid in EPSG:32631 with its top-left corner at (X0, Y0); rows grow southwards.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import Polygon, box

X0, Y0 = 600_000.0, 5_700_000.0
CRS = "EPSG:32631"


def rect(c0: int, r0: int, c1: int, r1: int) -> Polygon:
    """The rectangle of 10 m cells, columns c0..c1 and rows r0..r1 (end exclusive)."""
    return box(X0 + c0 * 10, Y0 - r1 * 10, X0 + c1 * 10, Y0 - r0 * 10)


def write_cog(path: Path, arr: np.ndarray, res: float, nodata: float | None = None) -> None:
    """One tiled single-band GeoTIFF (16² blocks) at resolution ``res`` from the grid origin."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", driver="GTiff", width=arr.shape[1], height=arr.shape[0], count=1,
                       dtype=arr.dtype, crs=CRS, transform=from_origin(X0, Y0, res, res),
                       tiled=True, blockxsize=16, blockysize=16, nodata=nodata) as ds:
        ds.write(arr, 1)
