"""Read the parts of an image's bands that cover parcels, one grid (resolution) at a time.

Bands are opened through :mod:`backend.storage` (local, ``s3://``, ``https://``) and read only
over the block-aligned window that covers the parcels; a whole band is never downloaded.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from collections.abc import Generator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
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
    indexes: Mapping[str, int] = field(default_factory=dict)  # band -> 1-based band of its file

    def index(self, band: str) -> int:
        """The band number of ``band`` in its file (1 unless a multi-band file)."""
        return self.indexes.get(band, 1)

    @property
    def key(self) -> tuple[object, ...]:
        """Identifies the grid for label-raster caching."""
        g = self.grid
        return (str(g.crs), tuple(g.transform)[:6], g.shape)


def open_groups(hrefs: Mapping[str, str],
                indexes: Mapping[str, int | None] | None = None) -> list[BandGroup]:
    """Open every band file once and group the bands by grid.

    Args:
        hrefs: canonical band -> href (several bands may share a multi-band file).
        indexes: canonical band -> 1-based band in its file, None (or missing) when the
            catalogue declared none: the file must then hold a single band.

    Raises:
        ImageReadError: a band is missing, corrupt or unreachable.
        InvalidInput: the bands are not north-up or have no CRS; a multi-band file without a
            declared band, a band number beyond the file's bands, or a file whose band
            description names another band.
    """
    indexes = indexes or {}
    groups: dict[tuple[object, ...], dict[str, object]] = {}
    by_href: dict[str, list[str]] = {}
    for band, href in hrefs.items():
        by_href.setdefault(href, []).append(band)
    for href, names in by_href.items():
        with open_raster(href) as ds:
            if ds.crs is None:
                raise InvalidInput(f"band {names[0]} ({href}) has no CRS: fix the image or its item")
            grid = GridSpec.from_dataset(ds)
            key = (str(ds.crs), tuple(ds.transform)[:6], (ds.height, ds.width))
            entry = groups.setdefault(key, {"grid": grid, "hrefs": {}, "nodata": {}, "indexes": {}})
            for band in names:
                index = _checked_index(ds, href, band, indexes.get(band), set(hrefs))
                entry["hrefs"][band] = href  # type: ignore[index]
                entry["nodata"][band] = ds.nodatavals[index - 1]  # type: ignore[index]
                entry["indexes"][band] = index  # type: ignore[index]
    return [BandGroup(e["grid"], e["hrefs"], e["nodata"], e["indexes"])  # type: ignore[arg-type]
            for e in groups.values()]


def _checked_index(ds: Any, href: str, band: str, index: int | None, known: set[str]) -> int:
    """The band number to read, never a guess (see :func:`open_groups`)."""
    if index is None:
        if ds.count > 1:
            raise InvalidInput(f"band {band}: {href} holds {ds.count} bands and the catalogue "
                               f"does not say which is {band}: name the bands in the item "
                               "('bands'/'eo:bands') or the file (band descriptions), re-add it")
        index = 1
    if not 1 <= index <= ds.count:
        raise InvalidInput(f"band {band}: {href} has {ds.count} band(s), not band {index}")
    described = (ds.descriptions[index - 1] or "").strip()
    if described and described != band and described in known:
        raise InvalidInput(f"band {band}: band {index} of {href} is described as {described}")
    return index


Read = tuple[str, Window] | tuple[str, Window, int]  # (href, window[, 1-based band])


def _split(read: Read) -> tuple[str, Window, int]:
    return (read[0], read[1], read[2]) if len(read) == 3 else (read[0], read[1], 1)


def read_window(href: str, window: Window, index: int = 1) -> np.ndarray:
    """Read band ``index`` of ``href`` over ``window`` (block-aligned; pixels outside are 0).

    Raises:
        ImageReadError: the read failed (truncated file, object store error, timeout).
    """
    try:
        with open_raster(href) as ds:
            return ds.read(index, window=window, boundless=False)
    except (RasterioIOError, rasterio.errors.RasterioError) as exc:
        raise _read_error(href, window, exc) from None


def read_ahead(reads: Sequence[Read], *, depth: int = 1, workers: int = 1,
               reuse: bool = False) -> Generator[np.ndarray, None, None]:
    """Yield :func:`read_window` of each ``(href, window[, band])`` in order, decoding ahead.

    While the caller works on one band, the next ``depth`` bands are decoded in ``workers``
    background threads (GDAL releases the GIL; on object storage several reads then wait on
    the network at once; ``depth`` is at least ``workers``). Datasets are opened and closed
    in the calling thread, inside its ``rasterio.Env``; the threads only run ``read`` on an
    open dataset (GDAL's configuration is process-wide). A file read for several bands (a multi-band file) is
    opened once and closed after its last read. At most ``depth + 1`` bands are held at a
    time (plus the one the caller still refers to).

    With ``reuse``, bands are decoded into buffers kept from the previous call (of the same
    window shape and dtype), so that a worker does not page in fresh memory for every band
    of every image: a yielded array is then valid only until the caller asks for the next
    one (copy what must live longer).

    Raises:
        ImageReadError: a read failed (raised when its band is reached).
    """
    parts = [_split(r) for r in reads]
    depth = max(depth, workers)
    left = Counter(href for href, _, _ in parts)
    opened: dict[str, Any] = {}
    locks: dict[str, threading.Lock] = {}  # one dataset is never read by two threads at once
    pending: deque[tuple[str, Future[np.ndarray]]] = deque()
    pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="cbm-read")
    buffers = _BUFFERS.take() if reuse else None
    try:
        for i in range(len(parts)):
            for href, window, index in parts[i + len(pending) : i + depth + 1]:
                if href not in opened:
                    opened[href] = open_raster(href)
                    locks[href] = threading.Lock()
                ds = opened[href]
                out = buffers.get(window, ds.dtypes[index - 1]) if buffers is not None else None
                pending.append((href, pool.submit(_locked_read, ds, locks[href], index, window,
                                                  out)))
            href, future = pending.popleft()
            try:
                arr = future.result()
                yield arr
            except (RasterioIOError, rasterio.errors.RasterioError) as exc:
                raise _read_error(href, parts[i][1], exc) from None
            finally:
                left[href] -= 1
                if not left[href]:
                    opened.pop(href).close()
            if buffers is not None:
                buffers.give_back(arr)  # the caller has asked for the next band
    finally:
        for _, future in pending:
            future.cancel()
        pool.shutdown(wait=True)
        for ds in opened.values():
            ds.close()
        if buffers is not None:
            _BUFFERS.keep(buffers)


Key = tuple[tuple[int, int], str]


class _Buffers:
    """Band buffers by (shape, dtype) for one :func:`read_ahead` call."""

    def __init__(self, free: dict[Key, list[np.ndarray]]) -> None:
        self.free = free
        self.handed: list[np.ndarray] = []  # every buffer this call handed out

    def get(self, window: Window, dtype: str) -> np.ndarray | None:
        """A buffer for ``window`` (None for a window with fractional offsets or sizes)."""
        if any(v != int(v) for v in (window.row_off, window.col_off, window.height, window.width)):
            return None
        key = ((int(window.height), int(window.width)), np.dtype(dtype).name)
        free = self.free.get(key)
        buf = free.pop() if free else np.empty(key[0], key[1])
        self.handed.append(buf)
        return buf

    def give_back(self, arr: np.ndarray) -> None:
        """Free the buffer of ``arr`` (if it is one of ours) for the next reads."""
        if any(buf is arr for buf in self.handed):
            self.free.setdefault((arr.shape, arr.dtype.name), []).append(arr)


class _BufferPool:
    """The buffers of the last :func:`read_ahead` call (memory: one image's bands in flight)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._free: dict[Key, list[np.ndarray]] = {}

    def take(self) -> _Buffers:
        """The kept buffers, for one call (a concurrent call starts without)."""
        with self._lock:
            free, self._free = self._free, {}
        return _Buffers(free)

    def keep(self, buffers: _Buffers) -> None:
        """Keep the buffers the call handed out (each once); drop those it did not need."""
        kept: dict[Key, list[np.ndarray]] = {}
        unique = {id(buf): buf for buf in buffers.handed}
        for buf in unique.values():
            kept.setdefault((buf.shape, buf.dtype.name), []).append(buf)
        with self._lock:
            self._free = kept


_BUFFERS = _BufferPool()


def _locked_read(ds: Any, lock: threading.Lock, index: int, window: Window,
                 out: np.ndarray | None = None) -> np.ndarray:
    with lock:
        if not ds.name.startswith(REMOTE):
            return ds.read(index, window=window, boundless=False, out=out)
        return _read_strips(ds, index, window, out)


REMOTE = ("s3://", "http://", "https://", "/vsis3/", "/vsicurl/", "/vsiaz/", "/vsigs/")


def _read_strips(ds: Any, index: int, window: Window, out: np.ndarray | None) -> np.ndarray:
    """Read a remote window one row of blocks at a time: one request per row, no overshoot.

    GDAL fetches the blocks of one ``read`` as one multi-range request only up to a budget
    (about 10 MB); past it, it reads on with growing read-ahead chunks that overshoot the
    window's last block of every row (a 4096² window of 512² deflate blocks: 34.2 MB fetched
    for 24.0 MB of blocks, 22 requests). A row of blocks at a time stays inside the budget:
    24.2 MB in 8 requests (bench/s3.py).
    """
    rows = ds.block_shapes[index - 1][0]
    r0, r1 = int(window.row_off), int(window.row_off + window.height)
    if window.height <= rows or r0 != window.row_off or r1 != window.row_off + window.height:
        return ds.read(index, window=window, boundless=False, out=out)
    if out is None:
        out = np.empty((r1 - r0, int(window.width)), ds.dtypes[index - 1])
    cut = list(range(r0, r1, rows)) if r0 % rows == 0 else [r0, *range(r0 - r0 % rows + rows, r1, rows)]
    for a, b in zip(cut, [*cut[1:], r1], strict=True):
        strip = Window(window.col_off, a, window.width, b - a)
        ds.read(index, window=strip, boundless=False, out=out[a - r0 : b - r0])
    return out


def _read_error(href: str, window: Window, exc: Exception) -> ImageReadError:
    forget_cached(href)
    return ImageReadError(f"cannot read {href} window {window}: {exc}")
