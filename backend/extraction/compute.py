"""Statistics of one image for a set of parcels: labels per grid, masks, stats, SCL histogram.

Pure with respect to the database: inputs are the opened band groups and the parcels in the
image CRS; output is a :class:`ImageResult` ready to be written with ``COPY``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass

import numpy as np

from backend.extraction.engine import band_stats, scl_histogram
from backend.extraction.labels import ParcelGrid, coarse_slices, parcel_grid
from backend.extraction.pixels import Selection, select_by_classes, select_pixels
from backend.extraction.reader import REMOTE, BandGroup, read_ahead

N_STATS = 8


@dataclass(frozen=True)
class ImageResult:
    """Rows of one image: one per parcel that lies (partly) in the image."""

    parcel_ids: np.ndarray
    n_total: np.ndarray
    valid_frac: np.ndarray
    stats: np.ndarray  # (n, nbands, 8) in the image's band order
    hist: np.ndarray | None  # (n, 12) for S2


class GridCache:
    """Label rasters per (parcel subset, grid): computed once, reused for every image."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self._items: OrderedDict[tuple[object, ...], ParcelGrid | None] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[object, ...], make: Callable[[], ParcelGrid | None]) -> ParcelGrid | None:
        """Return the cached grid for ``key`` or make, cache and return it."""
        if key in self._items:
            self.hits += 1
            self._items.move_to_end(key)
            return self._items[key]
        self.misses += 1
        value = make()
        self._items[key] = value
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return value


def compute_image(
    kind: str,
    bands: Sequence[str],
    groups: Sequence[BandGroup],
    parcel_ids: np.ndarray,
    geoms: np.ndarray,
    *,
    scl_classes: Sequence[int],
    negative_buffer_m: float,
    cache: GridCache,
    cache_key: tuple[object, ...],
    remote_read_workers: int = 1,
) -> ImageResult:
    """Compute the stats of every parcel and band of one image.

    Args:
        kind: 's2', 'bs' or 'c6'.
        bands: stats bands in ``images.bands`` order.
        groups: the image's bands grouped by grid (SCL among them for S2).
        parcel_ids: ``parcels.id`` of the parcels in the image, aligned with ``geoms``.
        geoms: the parcels in the image CRS.
        scl_classes: S2 SCL classes to mask.
        negative_buffer_m: inward buffer before rasterising.
        cache: label-raster cache.
        cache_key: identifies the parcel subset (set, CRS, ids) for the cache.
        remote_read_workers: bands read at once (threads) ahead of the one being computed
            when the image is on object storage or HTTP (the waits on the network overlap);
            local files are read one band ahead.
    """
    n = len(parcel_ids)

    def grid_for(group: BandGroup) -> ParcelGrid | None:
        return cache.get((*cache_key, group.key, negative_buffer_m),
                         lambda: parcel_grid(geoms, group.grid, negative_buffer_m=negative_buffer_m))

    scl_group = next((g for g in groups if "SCL" in g.hrefs), None)  # None: mask 'none', no histogram
    pg20 = grid_for(scl_group) if scl_group is not None else None
    plan = [(g, pg, names) for g in sorted(groups, key=lambda g: g.grid.transform.a)  # finest first
            if (names := [b for b in bands if b in g.hrefs]) and (pg := grid_for(g)) is not None]
    reads = [(g.hrefs[b], pg.window, g.index(b)) for g, pg, names in plan for b in names]
    if scl_group is not None and pg20 is not None:
        reads.insert(0, (scl_group.hrefs["SCL"], pg20.window, scl_group.index("SCL")))
    stats = np.full((n, len(bands), N_STATS), np.nan, np.float32)
    stats[:, :, 0] = 0
    scl = hist = None
    remote = any(href.startswith(REMOTE) for href, _, _ in reads)
    workers = remote_read_workers if remote else 1
    with closing(read_ahead(reads, workers=workers, reuse=True)) as arrays:  # next bands
        if scl_group is not None and pg20 is not None:                       # read meanwhile
            scl = next(arrays).copy()  # used for every band: not to be overwritten
            hist = _histogram(scl, pg20, n)
        for group, pg, names in plan:
            sels = [_selection(layer, pg20, scl, scl_classes, slot)
                    for slot, layer in enumerate(pg.all_layers)]
            for b, arr in zip(names, arrays, strict=False):
                stats[:, bands.index(b), :] = _layered_stats(pg, sels, arr, group.nodata.get(b))
    if hist is None and scl_group is not None:
        hist = np.zeros((n, 12), np.int32)
    n_total = plan[0][1].n_total if plan else np.zeros(n, np.int64)
    frac = np.zeros(n, np.float32)
    if plan:  # valid fraction: valid pixels of the first band of the finest grid
        np.divide(stats[:, bands.index(plan[0][2][0]), 0], n_total, out=frac, where=n_total > 0)
    return ImageResult(parcel_ids, n_total, np.clip(frac, 0, 1), stats, hist)


def _layered_stats(pg: ParcelGrid, sels: Sequence[Selection], arr: np.ndarray,
                   nodata: float | int | None) -> np.ndarray:
    """Band statistics of every parcel: each layer's parcels from that layer's selection."""
    out = band_stats(sels[0], arr, nodata)
    for layer, sel in zip(pg.layers, sels[1:], strict=True):
        assert layer.members is not None
        rows, cols = layer.slices_in(pg)
        out[layer.members] = band_stats(sel, arr[rows, cols], nodata)[layer.members]
    return out


def _histogram(scl: np.ndarray, pg20: ParcelGrid, n: int) -> np.ndarray:
    """SCL class counts per parcel over all layers (each parcel lies in one layer)."""
    hist = scl_histogram(scl, pg20.labels, n, pixels=pg20.pixels)
    for layer in pg20.layers:
        rows, cols = layer.slices_in(pg20)
        hist += scl_histogram(scl[rows, cols], layer.labels, n, pixels=layer.pixels)
    return hist


def _selection(pg: ParcelGrid, pg20: ParcelGrid | None, scl: np.ndarray | None,
               scl_classes: Sequence[int], slot: int = 0) -> Selection:
    """The parcel pixels of ``pg`` not masked by the SCL (read at 20 m, used as is on 10 m).

    ``pg`` is one layer; ``pg20`` is the first layer of the SCL's grid (its whole window).
    """
    if scl is None or pg20 is None:
        return select_pixels(pg.pixels, None, slot=slot)
    if pg.transform.a == pg20.transform.a:
        rows, cols = pg.slices_in(pg20)
        return select_by_classes(pg.pixels, scl[rows, cols], scl_classes, slot=slot)
    factor = round(pg20.transform.a / pg.transform.a)
    rows, cols = coarse_slices(pg, pg20)
    return select_by_classes(pg.pixels, scl[rows, cols], scl_classes, factor=factor, slot=slot)
