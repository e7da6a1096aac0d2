"""Deliberately broken rows of the parcel delivery, for the import report."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import LineString, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

from backend.demo.crops import CROPS
from backend.demo.params import DemoParams, aoi_bounds


@dataclass(frozen=True)
class BrokenRow:
    """One broken row and why it is broken."""

    pid: str
    problem: str
    description: str
    geometry: BaseGeometry | None
    crop_code: int | None
    crop_name: str | None
    farmer_id: str
    declared_area_ha: float


def largest(geom: BaseGeometry) -> BaseGeometry:
    """Return the largest polygon part of ``geom`` (empty polygon if none)."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"]
    return max(parts, key=lambda p: p.area) if parts else Polygon()


def _area_ha(geom: BaseGeometry | None) -> float:
    return round(geom.area / 10_000.0, 2) if geom is not None else 0.0


def _specs(
    params: DemoParams, anchor: tuple[float, float], sample: BaseGeometry
) -> list[tuple[str, str, BaseGeometry | None]]:
    """Return (problem, description, geometry) of every broken row."""
    x, y = anchor
    minx, miny, maxx, maxy = aoi_bounds(params)
    side = max(params.size_m + 4000.0, 7100.0)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    shell = [(x, y), (x + 120, y), (x + 120, y + 80), (x, y + 80)]
    return [
        ("self_intersection", "bow-tie polygon whose ring crosses itself",
         Polygon([(x, y), (x + 150, y + 100), (x + 150, y), (x, y + 100)])),
        ("hole_outside_shell", "polygon whose inner ring crosses its outer ring",
         Polygon(shell, [[(x + 60, y + 20), (x + 160, y + 20), (x + 160, y + 60),
                          (x + 60, y + 60)]])),
        ("duplicate_pid", "second row with the pid of another parcel, shifted 40 m",
         affinity.translate(sample, 40.0, 0.0)),
        ("empty_geometry", "empty polygon", Polygon()),
        ("null_geometry", "no geometry at all", None),
        ("point_geometry", "a point instead of a polygon", Point(x + 50, y + 50)),
        ("line_geometry", "a line string instead of a polygon",
         LineString([(x, y), (x + 200, y + 30), (x + 350, y + 10)])),
        ("huge_area", "absurdly large parcel covering the whole area",
         box(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)),
        ("outside_aoi", "plausible parcel 60 km east of the area",
         affinity.translate(sample, 60_000.0, 0.0)),
        ("tiny_area", "parcel of 9 m2", box(x + 300, y, x + 303, y + 3)),
        ("zero_area", "degenerate polygon with collinear vertices",
         Polygon([(x, y + 400), (x + 50, y + 400), (x + 100, y + 400)])),
        ("missing_crop_code", "valid geometry without a crop code",
         affinity.translate(sample, 0.0, 400.0)),
        ("unknown_crop_code", "crop code 9999 is not in the crop list",
         affinity.translate(sample, 0.0, -400.0)),
        ("overlap", "overlaps another parcel by more than half its area",
         affinity.translate(sample, 15.0, 10.0)),
    ]


def make_broken_rows(
    params: DemoParams,
    rng: np.random.Generator,
    declared: np.ndarray,
    pids: list[str],
) -> list[BrokenRow]:
    """Make the broken rows; new rows get pids after the last valid one.

    Args:
        params: Build parameters (AOI).
        rng: Random generator of the parcel stream.
        declared: Geometries of the declared parcels (in pid order).
        pids: Their pids.
    """
    k = int(rng.integers(len(pids)))
    sample = largest(declared[k])
    minx, miny, *_ = aoi_bounds(params)
    anchor = (minx + float(rng.uniform(0.2, 0.6)) * params.size_m,
              miny + float(rng.uniform(0.2, 0.6)) * params.size_m)
    rows, nxt = [], len(pids)
    for problem, desc, geom in _specs(params, anchor, sample):
        crop = CROPS[int(rng.integers(len(CROPS)))]
        code: int | None = crop.code
        name: str | None = crop.name
        if problem == "missing_crop_code":
            code, name = None, None
        elif problem == "unknown_crop_code":
            code, name = 9999, "Unknown crop"
        if problem == "duplicate_pid":
            pid = pids[k]
        else:
            nxt += 1
            pid = f"P{nxt:06d}"
        farmer = f"F{int(rng.integers(1, 99_999)):05d}"
        rows.append(BrokenRow(pid, problem, desc, geom, code, name, farmer, _area_ha(geom)))
    return rows
