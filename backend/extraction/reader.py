"""Read the parts of an image's bands that cover parcels, one grid (resolution) at a time.

Bands are opened through :mod:`backend.storage` (local, ``s3://``, ``https://``) and read only
over the block-aligned window that covers the parcels; a whole band is never downloaded.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Generator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import rasterio
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from backend.errors import ImageReadError, InvalidInput
from backend.extraction.labels import GridSpec
from backend.storage import forget_cached, open_raster

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
        raise _read_error(href, window, exc) from None


def read_ahead(reads: Sequence[tuple[str, Window]], *, depth: int = 1) -> Generator[np.ndarray, None, None]:
    """Yield :func:`read_window` of each ``(href, window)`` in order, decoding ahead in a thread.

    While the caller works on one band, the next ``depth`` bands are decoded in a background
    thread (GDAL releases the GIL). Datasets are opened and closed in the calling thread,
    inside its ``rasterio.Env``; the thread only runs ``read`` on an open dataset (GDAL's
    configuration is process-wide). At most ``depth + 1`` bands are held at a time (plus the
    one the caller still refers to).

    Raises:
        ImageReadError: a read failed (raised when its band is reached).
    """
    pending: deque[tuple[Any, Future[np.ndarray]]] = deque()
    pool = ThreadPoolExecutor(1, thread_name_prefix="cbm-read")
    try:
        for i in range(len(reads)):
            for href, window in reads[i + len(pending) : i + depth + 1]:
                ds = open_raster(href)
                pending.append((ds, pool.submit(ds.read, 1, window=window, boundless=False)))
            ds, future = pending.popleft()
            try:
                yield future.result()
            except (RasterioIOError, rasterio.errors.RasterioError) as exc:
                raise _read_error(*reads[i], exc) from None
            finally:
                ds.close()
    finally:
        for _, future in pending:
            future.cancel()
        pool.shutdown(wait=True)
        for ds, _ in pending:
            ds.close()


def _read_error(href: str, window: Window, exc: Exception) -> ImageReadError:
    forget_cached(href)
    return ImageReadError(f"cannot read {href} window {window}: {exc}")
