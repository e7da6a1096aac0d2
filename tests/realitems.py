"""Real provider STAC items (../shared/realdata/stac) pointed at small local rasters.

``localise`` keeps a copy of a real item as the provider published it (properties, band
metadata, radiometry fields, asset keys) but points the given assets at local files written
by the test, drops the other band assets (their hrefs cannot be reached here) and the asset
projection fields (the files' own headers are read instead), and sets the footprint to the
local rasters. Rasters are on a small grid in EPSG:32633 (Sentinel-2 tile 33UWP).
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio
from pyproj import Transformer
from rasterio.transform import from_origin
from shapely.geometry import box, mapping

SHARED_REALDATA = Path(os.environ.get("CBM_REALDATA_DIR")
                       or Path(__file__).resolve().parents[1].parent / "shared" / "realdata")
"""The real samples: ``../shared/realdata`` beside the repository, or ``CBM_REALDATA_DIR``."""
REALDATA = SHARED_REALDATA / "stac"
CRS = "EPSG:32633"
X0, Y0 = 500_000.0, 5_350_000.0
SIZE = 64  # pixels at 10 m
# pid -> (col0, row0, col1, row1) in 10 m pixels (exclusive end)
PARCELS = {"A": (2, 2, 12, 10), "B": (20, 4, 30, 14), "C": (40, 40, 50, 60)}


@cache
def _real(name: str) -> dict[str, Any]:
    return json.loads((REALDATA / name).read_text())


def real_item(name: str) -> dict[str, Any]:
    """A deep copy of a real item (the first feature of an item collection)."""
    doc = _real(name)
    return copy.deepcopy(doc["features"][0] if doc.get("type") == "FeatureCollection" else doc)


def write_raster(path: Path, arrays: np.ndarray, res: float, *, driver: str = "GTiff",
                 nodata: float | None = 0, descriptions: Sequence[str] | None = None) -> Path:
    """A tiled raster of ``arrays`` (bands, rows, cols) on the grid; JP2 is lossless."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = arrays if arrays.ndim == 3 else arrays[None]
    options: dict[str, Any] = ({"QUALITY": 100, "REVERSIBLE": "YES"} if driver == "JP2OpenJPEG"
                               else {"tiled": True, "blockxsize": 16, "blockysize": 16})
    with rasterio.open(path, "w", driver=driver, width=arrays.shape[2], height=arrays.shape[1],
                       count=arrays.shape[0], dtype=arrays.dtype, crs=CRS, nodata=nodata,
                       transform=from_origin(X0, Y0, res, res), **options) as ds:
        ds.write(arrays)
        for i, name in enumerate(descriptions or ()):
            ds.set_band_description(i + 1, name)
    return path


def footprint() -> dict[str, Any]:
    """The local rasters' square in lon/lat (GeoJSON)."""
    to_ll = Transformer.from_crs(CRS, 4326, always_xy=True)
    w, s = to_ll.transform(X0, Y0 - SIZE * 10)
    e, n = to_ll.transform(X0 + SIZE * 10, Y0)
    return mapping(box(w, s, e, n))


def localise(doc: dict[str, Any], files: Mapping[str, Path], *, item_id: str | None = None,
             keep: Sequence[str] = ()) -> dict[str, Any]:
    """Point ``files`` (asset key -> local path) of a real item at local rasters (see module)."""
    doc = copy.deepcopy(doc)
    if item_id:
        doc["id"] = item_id
    assets = {}
    for key, path in files.items():
        asset = doc["assets"].get(key, {"roles": ["data"]})
        asset = {k: v for k, v in asset.items() if not k.startswith("proj:") and k != "alternate"}
        asset["href"] = str(path)
        assets[key] = asset
    for key in keep:
        assets[key] = doc["assets"][key]
    doc["assets"] = assets
    doc["properties"] = {k: v for k, v in doc["properties"].items() if not k.startswith("proj:")}
    doc["geometry"] = footprint()
    doc["bbox"] = list(box(*np.array(doc["geometry"]["coordinates"][0]).reshape(-1, 2).min(0),
                           *np.array(doc["geometry"]["coordinates"][0]).reshape(-1, 2).max(0)).bounds)
    doc["links"] = []
    return doc


def rect(c0: int, r0: int, c1: int, r1: int) -> Any:
    """The rectangle of 10 m cells c0..c1, r0..r1 (end exclusive) of the grid."""
    return box(X0 + c0 * 10, Y0 - r1 * 10, X0 + c1 * 10, Y0 - r0 * 10)


def parcels_file(path: Path) -> Path:
    """A GeoPackage of :data:`PARCELS` in the grid's CRS."""
    gdf = gpd.GeoDataFrame({"pid": list(PARCELS), "crop_code": ["1"] * len(PARCELS)},
                           geometry=[rect(*r) for r in PARCELS.values()], crs=CRS)
    gdf.to_file(path)
    return path


def window(arr: np.ndarray, pid: str, res: int = 10) -> np.ndarray:
    """The pixels of parcel ``pid`` in an array at 10 or 20 m."""
    c0, r0, c1, r1 = (v * 10 // res for v in PARCELS[pid])
    return arr[r0:r1, c0:c1]


def expected(values: np.ndarray) -> list[float]:
    """count, mean, std, min, max, p25, p50, p75 with numpy (float64)."""
    v = values.astype(np.float64).ravel()
    return [v.size, v.mean(), v.std(), v.min(), v.max(), *np.percentile(v, [25, 50, 75])]
