"""Split overlapping parcels into layers whose label rasters have no shared pixel.

A label raster holds one parcel per pixel, but parcels overlap (slivers, double declarations,
landscape features inside fields) and every parcel must get the statistics of *all* pixels
whose centre it contains. So the parcels are coloured: two parcels that share a pixel centre
on the grid get different layers, and each layer is rasterised on its own.

Shared pixels are found on the grid itself, the way GDAL burns each polygon (two parcels that
only touch along an edge can still share a row of centres lying exactly on that edge): a
count raster of the parcels that intersect another parcel tells where two or more burn, and
the parcels containing those pixel centres are the conflicting ones. A set in which no two
parcels intersect costs one STRtree query; a set with touching but not overlapping parcels
costs one extra rasterisation; both give one layer.
"""

from __future__ import annotations

import logging

import numpy as np
import shapely
from affine import Affine
from rasterio.enums import MergeAlg
from rasterio.features import rasterize

log = logging.getLogger(__name__)


def overlap_layers(geoms: np.ndarray, transform: Affine, shape: tuple[int, int]) -> np.ndarray:
    """Layer (0, 1, ...) of each parcel such that no two parcels of a layer share a pixel.

    Args:
        geoms: Polygons in the grid CRS (missing or empty ones allowed: layer 0).
        transform: Affine transform of the raster (window) the parcels are burnt on.
        shape: ``(height, width)`` of that raster.

    Returns:
        ``int32`` layer per geometry; all zeros when no pixel centre is shared.
    """
    geoms = np.asarray(geoms, dtype=object)
    layer = np.zeros(geoms.size, np.int32)
    edges = shared_pixel_pairs(geoms, transform, shape)
    if edges.size:
        layer[:] = greedy_colouring(geoms.size, edges)
        log.debug("%d parcels share pixels: %d layers", np.unique(edges).size, layer.max() + 1)
    return layer


def intersecting_pairs(geoms: np.ndarray) -> np.ndarray:
    """``(m, 2)`` index pairs ``i < j`` of geometries that intersect (touching included)."""
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="intersects")
    keep = i < j
    return np.stack([i[keep], j[keep]], axis=1).astype(np.int64)


def shared_pixel_pairs(geoms: np.ndarray, transform: Affine, shape: tuple[int, int]) -> np.ndarray:
    """``(m, 2)`` unique pairs ``i < j`` of parcels that may both burn a pixel of the raster.

    Every pair that GDAL's centre rule burns into one pixel is listed. A pixel burnt twice
    names its pair from two label rasters (later parcel wins / earlier parcel wins); a pixel
    burnt three times or more asks which parcels contain its centre, so a pair may also be
    listed when the centre lies on one parcel's boundary without being burnt (harmless: one
    more layer at worst).
    """
    valid = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    idx = np.flatnonzero(valid)
    pairs = intersecting_pairs(geoms[idx]) if idx.size > 1 else np.empty((0, 2), np.int64)
    if not pairs.size:
        return np.empty((0, 2), np.int64)
    cand = idx[np.unique(pairs)]

    def burn(order: np.ndarray, merge: MergeAlg = MergeAlg.replace) -> np.ndarray:
        values = (cand[order] + 1).tolist() if merge is MergeAlg.replace else [1] * order.size
        return rasterize(zip(geoms[cand[order]], values, strict=True), out_shape=shape,
                         transform=transform, fill=0, all_touched=False, merge_alg=merge,
                         dtype="int32")

    count = burn(np.arange(cand.size), MergeAlg.add)
    two, many = count == 2, np.nonzero(count >= 3)
    del count
    if not two.any() and not many[0].size:
        return np.empty((0, 2), np.int64)
    last, first = burn(np.arange(cand.size))[two], burn(np.arange(cand.size)[::-1])[two]
    found = [np.stack([first, last], axis=1).astype(np.int64) - 1]
    if many[0].size:
        rows, cols = many
        xs = transform.c + (cols + 0.5) * transform.a  # north-up grids only
        ys = transform.f + (rows + 0.5) * transform.e
        tree = shapely.STRtree(geoms[cand])
        p, g = tree.query(shapely.points(xs, ys), predicate="dwithin", distance=1e-6 * abs(transform.a))
        found.append(_clique_pairs(p, cand[g]))
    return _unique_pairs(np.concatenate(found), geoms.size)


def _unique_pairs(pairs: np.ndarray, n: int) -> np.ndarray:
    """Rows sorted ``i < j``, duplicates dropped."""
    lo, hi = np.minimum(pairs[:, 0], pairs[:, 1]), np.maximum(pairs[:, 0], pairs[:, 1])
    key = np.unique(lo * np.int64(n) + hi)
    return np.stack([key // n, key % n], axis=1)


def _clique_pairs(point: np.ndarray, parcel: np.ndarray) -> np.ndarray:
    """All pairs of parcels that contain the same point."""
    order = np.lexsort((parcel, point))
    point, parcel = point[order], parcel[order]
    out = [np.empty((0, 2), np.int64)]
    for d in range(1, point.size):
        same = point[d:] == point[:-d]
        if not same.any():
            break
        out.append(np.stack([parcel[:-d][same], parcel[d:][same]], axis=1).astype(np.int64))
    return np.concatenate(out)


def greedy_colouring(n: int, edges: np.ndarray) -> np.ndarray:
    """Colour ``n`` nodes so that no edge joins two of one colour (largest degree first).

    Nodes without edges get colour 0. Python loops over the overlapping parcels only.
    """
    colour = np.zeros(n, np.int32)
    both = np.concatenate([edges, edges[:, ::-1]])
    both = both[np.argsort(both[:, 0], kind="stable")]
    nodes, starts, degree = np.unique(both[:, 0], return_index=True, return_counts=True)
    neigh = both[:, 1].tolist()
    assigned = [0] * n
    done = [False] * n
    node_list, start_list, degree_list = nodes.tolist(), starts.tolist(), degree.tolist()
    for k in np.argsort(-degree, kind="stable").tolist():
        s = start_list[k]
        used = {assigned[v] for v in neigh[s:s + degree_list[k]] if done[v]}
        c = 0
        while c in used:
            c += 1
        assigned[node_list[k]], done[node_list[k]] = c, True
    colour[nodes] = np.asarray(assigned, np.int32)[nodes]
    return colour
