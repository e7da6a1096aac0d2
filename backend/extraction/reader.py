"""Read the parts of an image's bands that cover parcels, one grid (resolution) at a time.

Bands are opened through :mod:`backend.storage` (local, ``s3://``, ``https://``) and read only
over the block-aligned window that covers the parcels; a whole band is never downloaded.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import rasterio
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from backend.errors import ImageReadError, InvalidInput
from backend.extraction.labels import GridSpec
from backend.storage import open_raster

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BandGroup:
    """Bands of one image that share a grid (e.g. the 10 m or the 20 m bands of S2)."""

    grid: GridSpec
    hrefs: Mapping[str, str]
    nodata: Mapping[str, float | int | None]

    @property
    def key(self) -> tuple[object, ...]:
        """Identifies the grid for label-raster caching."""
        g = self.grid
        return (str(g.crs), tuple(g.transform)[:6], g.shape)


def open_groups(hrefs: Mapping[str, str]) -> list[BandGroup]:
    """Open every band header once and group the bands by grid.

    Raises:
        ImageReadError: a band is missing, corrupt or unreachable.
        InvalidInput: the bands are not north-up or have no CRS.
    """
    groups: dict[tuple[object, ...], dict[str, object]] = {}
    for band, href in hrefs.items():
        with open_raster(href) as ds:
            if ds.crs is None:
                raise InvalidInput(f"band {band} ({href}) has no CRS: fix the image or its item")
            grid = GridSpec.from_dataset(ds)
            key = (str(ds.crs), tuple(ds.transform)[:6], (ds.height, ds.width))
            entry = groups.setdefault(key, {"grid": grid, "hrefs": {}, "nodata": {}})
            entry["hrefs"][band] = href  # type: ignore[index]
            entry["nodata"][band] = ds.nodata  # type: ignore[index]
    return [BandGroup(e["grid"], e["hrefs"], e["nodata"]) for e in groups.values()]  # type: ignore[arg-type]


def read_window(href: str, window: Window) -> np.ndarray:
    """Read band 1 of ``href`` over ``window`` (block-aligned; pixels outside the image are 0).

    Raises:
        ImageReadError: the read failed (truncated file, object store error, timeout).
    """
    try:
        with open_raster(href) as ds:
            return ds.read(1, window=window, boundless=False)
    except (RasterioIOError, rasterio.errors.RasterioError) as exc:
        raise ImageReadError(f"cannot read {href} window {window}: {exc}") from None
