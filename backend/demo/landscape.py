"""Field layout of the demo area: blocks of elongated Voronoi fields, roads and a canal."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import LineString, MultiPoint, Polygon, box
from shapely.geometry.base import BaseGeometry

from backend.demo.params import DemoParams, aoi_bounds

log = logging.getLogger(__name__)

MIN_HA, MAX_HA = 0.2, 20.0


@dataclass(frozen=True)
class Landscape:
    """All fields of the area (declared or not) and the non-field features.

    Attributes:
        fields: Field polygons (object array of shapely Polygons).
        block: Block (farm) index of each field.
        water: Canal polygon(s).
        roads: Road polygon(s).
        angle: Rotation of the field pattern in degrees.
    """

    fields: np.ndarray
    block: np.ndarray
    water: BaseGeometry
    roads: BaseGeometry
    angle: float

    @property
    def areas_ha(self) -> np.ndarray:
        """Area of every field in hectares."""
        return np.asarray(shapely.area(self.fields)) / 10_000.0

    def declarable(self) -> np.ndarray:
        """Indices of fields whose area is plausible for a declared parcel."""
        a = self.areas_ha
        return np.flatnonzero((a >= MIN_HA) & (a <= MAX_HA))


def _rotate_xy(xy: np.ndarray, angle: float, centre: tuple[float, float]) -> np.ndarray:
    """Rotate points (n, 2) by ``angle`` degrees about ``centre``."""
    t = np.deg2rad(angle)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    c = np.asarray(centre)
    return (xy - c) @ rot.T + c


def _lattice(
    rng: np.random.Generator,
    bounds: tuple[float, float, float, float],
    dx: float,
    dy: float,
    jitter: float = 0.25,
) -> np.ndarray:
    """Jittered lattice of points (n, 2) covering ``bounds`` with spacing dx, dy."""
    x = np.arange(bounds[0] - dx, bounds[2] + dx, dx)
    y = np.arange(bounds[1] - dy, bounds[3] + dy, dy)
    xx, yy = np.meshgrid(x, y)
    pts = np.column_stack([xx.ravel(), yy.ravel()])
    pts += rng.uniform(-jitter, jitter, pts.shape) * np.array([dx, dy])
    return pts


def _infrastructure(
    aoi: Polygon, angle: float, rng: np.random.Generator
) -> tuple[BaseGeometry, BaseGeometry]:
    """Return (water, roads): a canal and two perpendicular roads across the AOI."""
    c = aoi.centroid
    size = aoi.bounds[2] - aoi.bounds[0]

    def line(offset_u: float, offset_v: float, along_u: bool) -> LineString:
        d = 2 * size
        pts = [(-d, offset_v), (d, offset_v)] if along_u else [(offset_u, -d), (offset_u, d)]
        ln = LineString([(c.x + px, c.y + py) for px, py in pts])
        return affinity.rotate(ln, angle, origin=c)

    o = rng.uniform(-0.3, 0.3, 3) * size
    roads = shapely.union(line(0, o[0], True).buffer(3.5), line(o[1], 0, False).buffer(3.5))
    water = line(0, o[2] + (0.1 * size if abs(o[2] - o[0]) < 0.1 * size else 0), True).buffer(18)
    return water.intersection(aoi), roads.intersection(aoi)


def _field_points(
    rng: np.random.Generator, aoi: Polygon, angle: float, cell_m2: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (points, block index of each point, block polygons) of the field layout."""
    c = (aoi.centroid.x, aoi.centroid.y)
    big = affinity.scale(aoi, 1.6, 1.6)
    coarse = _rotate_xy(_lattice(rng, big.bounds, 900.0, 600.0, 0.3), angle, c)
    blocks = np.asarray(
        shapely.intersection(
            shapely.get_parts(shapely.voronoi_polygons(MultiPoint(coarse), extend_to=big)), aoi
        )
    )
    blocks = blocks[~shapely.is_empty(blocks)]
    pts_all, blk_all = [], []
    for b, poly in enumerate(blocks):
        area = cell_m2 * float(rng.lognormal(0.36, 0.85))
        aspect = float(rng.uniform(1.3, 3.0))
        dx = float(np.sqrt(area * aspect))
        local = affinity.rotate(poly, -angle, origin=c)
        pts = _rotate_xy(_lattice(rng, local.bounds, dx, area / dx), angle, c)
        pts = pts[shapely.contains_xy(poly, pts[:, 0], pts[:, 1])]
        if len(pts) == 0:
            pts = np.array([[poly.representative_point().x, poly.representative_point().y]])
        pts_all.append(pts)
        blk_all.append(np.full(len(pts), b))
    return np.concatenate(pts_all), np.concatenate(blk_all), blocks


def _largest_part(geom: BaseGeometry) -> BaseGeometry:
    """Return the largest polygon of a (multi)polygon, or an empty polygon."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"]
    return max(parts, key=lambda p: p.area) if parts else Polygon()


def _cut_fields(
    rng: np.random.Generator, aoi: Polygon, land: BaseGeometry, angle: float, cell_m2: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return (fields, block index) for one field density."""
    pts, blk, blocks = _field_points(rng, aoi, angle, cell_m2)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(MultiPoint(pts), extend_to=aoi, ordered=True)
    )
    shapely.prepare(land)
    geoms = shapely.intersection(shapely.intersection(cells, blocks[blk]), land)
    margin = rng.uniform(1.5, 3.5, len(geoms))
    geoms = shapely.simplify(shapely.buffer(geoms, -margin, join_style="mitre"), 0.5)
    fields = np.array([_largest_part(g) for g in geoms], dtype=object)
    keep = ~shapely.is_empty(fields) & (shapely.area(fields) > 50.0)
    return fields[keep], blk[keep]


def make_landscape(params: DemoParams, rng: np.random.Generator, n_declared: int) -> Landscape:
    """Lay out the fields of the AOI so that at least ``n_declared`` are declarable.

    Args:
        params: Build parameters (AOI size).
        rng: Random generator of the parcel stream.
        n_declared: Number of fields that must have a plausible declared area.
    """
    aoi = box(*aoi_bounds(params))
    angle = float(rng.uniform(-35.0, 35.0))
    water, roads = _infrastructure(aoi, angle, rng)
    land = aoi.difference(shapely.union(water, roads))
    cell_m2 = land.area / (1.12 * n_declared)
    for _ in range(8):
        fields, block = _cut_fields(rng, aoi, land, angle, cell_m2)
        ls = Landscape(fields, block, water, roads, angle)
        if len(ls.declarable()) >= n_declared:
            log.debug("landscape: %d fields, %d declarable", len(fields), len(ls.declarable()))
            return ls
        cell_m2 *= 0.85
    raise RuntimeError("could not lay out enough fields; increase size_m")
