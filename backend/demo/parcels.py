"""Declared parcels of the demo area, as an agency would deliver them (warts and all)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from shapely import affinity
from shapely.geometry import LineString, MultiPolygon
from shapely.geometry.base import BaseGeometry

from backend.demo import broken
from backend.demo.crops import CROPS, draw_crops, draw_wrong_crop
from backend.demo.landscape import make_landscape
from backend.demo.params import CRS, DemoParams

log = logging.getLogger(__name__)

SLIVER_CROP = 4  # index of "Temporary grassland" in CROPS: field-margin strips


@dataclass
class ParcelSet:
    """Fields of the landscape and the declarations made on them.

    Attributes:
        fields: Geometry of every field (declared or not) that the imagery is drawn from.
        true_crop: Index into ``CROPS`` of the crop really grown on each field.
        block: Farm block of each field.
        declared: Field index of each declared parcel (in pid order).
        pids: Parcel id of each declared parcel.
        declared_crop: Declared crop index of each declared parcel.
        shape_kind: ``regular``, ``hole``, ``multipolygon`` or ``sliver``.
        declared_area_ha: Declared area of each declared parcel.
        overdeclared: Whether the declared area was deliberately inflated.
        farmer_ids: Farmer of each declared parcel.
        broken_rows: Deliberately broken rows appended to the delivery.
        water: Canal geometry; roads: road geometry.
    """

    fields: np.ndarray
    true_crop: np.ndarray
    block: np.ndarray
    declared: np.ndarray
    pids: list[str]
    declared_crop: np.ndarray
    shape_kind: list[str]
    declared_area_ha: np.ndarray
    overdeclared: np.ndarray
    farmer_ids: list[str]
    water: BaseGeometry
    roads: BaseGeometry
    broken_rows: list[broken.BrokenRow] = field(default_factory=list)

    @property
    def wrong_crop(self) -> np.ndarray:
        """Whether each declared parcel's declared crop differs from the true one."""
        return np.asarray(self.declared_crop != self.true_crop[self.declared])


def _punch_hole(geom: BaseGeometry, rng: np.random.Generator) -> BaseGeometry | None:
    """Cut a farmyard or pond out of the interior of ``geom``; None if it does not fit."""
    r = float(rng.uniform(12.0, 25.0))
    core = geom.buffer(-(r + 8.0))
    if core.is_empty:
        return None
    return geom.difference(core.representative_point().buffer(r, quad_segs=4))


def _split_by_track(geom: BaseGeometry, angle: float) -> BaseGeometry | None:
    """Split ``geom`` in two with a 5 m track across it; None if that fails."""
    c = geom.centroid
    line = affinity.rotate(LineString([(c.x, c.y - 5000), (c.x, c.y + 5000)]), angle, origin=c)
    parts = [p for p in shapely.get_parts(geom.difference(line.buffer(2.5))) if p.area > 500]
    return MultiPolygon(parts) if len(parts) >= 2 else None


def _cut_sliver(geom: BaseGeometry) -> tuple[BaseGeometry, BaseGeometry] | None:
    """Split a 9 m strip off the longest side of ``geom``: (rest, sliver) or None."""
    xy = np.asarray(broken.largest(geom).exterior.coords)
    k = int(np.argmax(np.hypot(*np.diff(xy, axis=0).T)))
    edge = LineString(xy[k : k + 2])
    sliver = broken.largest(geom.intersection(edge.buffer(9.0, cap_style="flat")))
    rest = broken.largest(geom.difference(edge.buffer(12.0, cap_style="flat")))
    if sliver.is_empty or rest.is_empty or sliver.area < 900:
        return None
    return rest, sliver


def _shape_specials(ps: ParcelSet, rng: np.random.Generator, n_each: int, angle: float) -> None:
    """Give a few large declared parcels holes, two parts, or a sliver strip."""
    fields = list(ps.fields)
    areas = shapely.area(ps.fields)
    big = [i for i in range(len(ps.declared)) if areas[ps.declared[i]] > 20_000]
    order = rng.permutation(big)
    todo = ["hole"] * n_each + ["multipolygon"] * n_each
    for i, kind in zip(order, todo, strict=False):
        f = ps.declared[i]
        g = _punch_hole(fields[f], rng) if kind == "hole" else _split_by_track(fields[f], angle)
        if g is not None:
            fields[f], ps.shape_kind[i] = g, kind
    for i in order[2 * n_each :][: max(1, n_each // 2)]:
        cut = _cut_sliver(fields[ps.declared[i]])
        if cut is None:
            continue
        fields[ps.declared[i]] = cut[0]
        fields.append(cut[1])
        ps.true_crop = np.append(ps.true_crop, SLIVER_CROP)
        ps.block = np.append(ps.block, ps.block[ps.declared[i]])
        ps.declared = np.append(ps.declared, len(fields) - 1)
        ps.shape_kind.append("sliver")
    ps.fields = np.array(fields, dtype=object)


def _declare(ps: ParcelSet, rng: np.random.Generator, n_target: int) -> None:
    """Assign pids, declared crops, areas and farmers (trimming to ``n_target``)."""
    ps.declared = ps.declared[:n_target]
    ps.shape_kind = ps.shape_kind[:n_target]
    n = len(ps.declared)
    order = np.argsort(rng.permutation(n), kind="stable")
    ps.declared = ps.declared[order]
    ps.shape_kind = [ps.shape_kind[i] for i in order]
    ps.pids = [f"P{i + 1:06d}" for i in range(n)]
    crop = ps.true_crop[ps.declared].copy()
    wrong = rng.random(n) < 0.04
    wrong[int(rng.integers(n))] = True
    for i in np.flatnonzero(wrong):
        crop[i] = draw_wrong_crop(rng, int(crop[i]))
    ps.declared_crop = crop
    area = shapely.area(ps.fields[ps.declared]) / 10_000.0
    ps.overdeclared = rng.random(n) < 0.01
    ps.overdeclared[int(rng.integers(n))] = True
    factor = np.where(ps.overdeclared, rng.uniform(1.15, 1.4, n), 1 + rng.normal(0, 0.004, n))
    ps.declared_area_ha = np.round(area * factor, 2)
    farmer_of_block = rng.integers(1, max(2, int(ps.block.max() * 0.7) + 2), ps.block.max() + 1)
    ps.farmer_ids = [f"F{farmer_of_block[ps.block[f]]:05d}" for f in ps.declared]


def make_parcels(params: DemoParams, rng: np.random.Generator) -> ParcelSet:
    """Generate the landscape, the declarations and the broken rows.

    Args:
        params: Build parameters.
        rng: Random generator of the parcel stream.
    """
    n = params.n_parcels
    n_special = max(1, n // 300)
    ls = make_landscape(params, rng, n)
    chosen = np.sort(rng.choice(ls.declarable(), size=n - max(1, n_special // 2), replace=False))
    ps = ParcelSet(
        fields=ls.fields, true_crop=draw_crops(rng, len(ls.fields)), block=ls.block,
        declared=chosen, pids=[], declared_crop=np.zeros(0, int),
        shape_kind=["regular"] * len(chosen), declared_area_ha=np.zeros(0),
        overdeclared=np.zeros(0, bool), farmer_ids=[], water=ls.water, roads=ls.roads,
    )
    _shape_specials(ps, rng, n_special, ls.angle)
    fill = [int(i) for i in rng.permutation(ls.declarable()) if i not in set(ps.declared)]
    ps.declared = np.concatenate([ps.declared, fill[: max(0, n - len(ps.declared))]]).astype(int)
    ps.shape_kind += ["regular"] * (len(ps.declared) - len(ps.shape_kind))
    _declare(ps, rng, n)
    ps.broken_rows = broken.make_broken_rows(params, rng, ps.fields[ps.declared], ps.pids)
    log.info("parcels: %d fields, %d declared, %d broken rows",
             len(ps.fields), len(ps.declared), len(ps.broken_rows))
    return ps


def to_geodataframe(ps: ParcelSet) -> tuple[gpd.GeoDataFrame, list[int]]:
    """Return the delivery (declared parcels plus broken rows, sorted by pid).

    Returns:
        The GeoDataFrame and the GeoPackage fid (1-based row) of each broken row.
    """
    rows = [
        (ps.pids[i], -1, CROPS[c].code, CROPS[c].name, ps.farmer_ids[i],
         float(ps.declared_area_ha[i]), ps.fields[f])
        for i, (f, c) in enumerate(zip(ps.declared, ps.declared_crop, strict=True))
    ]
    rows += [(b.pid, k, b.crop_code, b.crop_name, b.farmer_id, b.declared_area_ha, b.geometry)
             for k, b in enumerate(ps.broken_rows)]
    rows.sort(key=lambda r: (r[0], r[1]))
    fids = {r[1]: n + 1 for n, r in enumerate(rows) if r[1] >= 0}
    df = pd.DataFrame(rows, columns=["pid", "_b", "crop_code", "crop_name", "farmer_id",
                                     "declared_area_ha", "geometry"]).drop(columns="_b")
    df["crop_code"] = df["crop_code"].astype("Int64")
    gdf = gpd.GeoDataFrame(df, geometry="geometry", crs=CRS)
    return gdf, [fids[k] for k in range(len(ps.broken_rows))]


def write_parcels(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """Write the parcels GeoPackage byte-for-byte reproducibly (fixed GPKG timestamp)."""
    key = "OGR_CURRENT_DATE"
    old = pyogrio.get_gdal_config_option(key)
    pyogrio.set_gdal_config_options({key: "2025-01-01T00:00:00.000Z"})
    try:
        gdf.to_file(path, layer="parcels", driver="GPKG", engine="pyogrio")
    finally:
        pyogrio.set_gdal_config_options({key: old})

