"""Vectorised validation of parcel rows (shapely 2 array functions, no loop over all rows).

Each row gets one outcome code, checked in this order (the first failure wins):
missing pid, duplicate pid, null geometry, empty geometry, non-polygon type, invalid geometry
(repaired with ``make_valid``, or rejected when the repair is not a polygon of similar area),
absurd area, outside the AOI extent. Duplicate pids reject *every* row sharing the id: the
file does not say which one is right, and ids must be unique in a set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import pandas as pd
import shapely

# Parcels smaller than this (m²) are digitising slivers, larger ones are not agricultural parcels.
MIN_PARCEL_AREA_M2 = 10.0
MAX_PARCEL_AREA_M2 = 10_000_000.0  # 10 km²
# A repaired geometry whose area differs from the original by more than this is rejected.
MAX_REPAIR_AREA_CHANGE = 0.10

_POLYGON, _MULTIPOLYGON = 3, 6


class Outcome(IntEnum):
    """What validation decided for a row (``OK`` and ``REPAIRED`` are imported)."""

    OK = 0
    REPAIRED = 1
    MISSING_PID = 2
    DUPLICATE_PID = 3
    NULL_GEOMETRY = 4
    EMPTY_GEOMETRY = 5
    NOT_POLYGON = 6
    UNREPAIRABLE = 7
    REPAIR_AREA_CHANGE = 8
    AREA_TOO_SMALL = 9
    AREA_TOO_LARGE = 10
    OUTSIDE_EXTENT = 11

    @property
    def code(self) -> str:
        """Stable lower-case code used in reports."""
        return self.name.lower()


@dataclass
class Validation:
    """Result of :func:`validate_rows`: one outcome per row plus the repaired geometries."""

    outcome: np.ndarray  # int8, Outcome per row
    geoms: np.ndarray  # repaired geometries (2-D, native CRS)
    area_m2: np.ndarray  # float64, NaN where there is no polygon
    invalid_reason: dict[int, str] = field(default_factory=dict)  # row index -> GEOS reason
    area_before_m2: dict[int, float] = field(default_factory=dict)  # row index -> before repair

    @property
    def kept(self) -> np.ndarray:
        """Boolean mask of the rows to import."""
        return self.outcome <= Outcome.REPAIRED

    @property
    def n_repaired(self) -> int:
        """Number of rows repaired and imported."""
        return int(np.count_nonzero(self.outcome == Outcome.REPAIRED))

    @property
    def n_rejected(self) -> int:
        """Number of rows rejected."""
        return int(np.count_nonzero(~self.kept))


def validate_rows(pids: np.ndarray, geoms: np.ndarray, *, m2_per_unit2: float = 1.0,
                  extent: shapely.Geometry | None = None) -> Validation:
    """Decide, for every row, whether it is imported as is, repaired, or rejected.

    Args:
        pids: parcel ids as ``str`` or ``None`` (already stripped).
        geoms: shapely geometries in a projected CRS (``None`` allowed).
        m2_per_unit2: square metres per square CRS unit (1 for metre CRSs).
        extent: polygon in the same CRS; rows not intersecting it are rejected.
    """
    outcome = np.zeros(len(pids), dtype=np.int8)
    geoms = np.asarray(geoms, dtype=object).copy()
    if shapely.has_z(geoms).any():
        geoms = shapely.force_2d(geoms)
    _mark(outcome, pd.isna(pids), Outcome.MISSING_PID)
    _mark(outcome, pd.Series(pids).duplicated(keep=False).to_numpy() & ~pd.isna(pids),
          Outcome.DUPLICATE_PID)
    type_id = shapely.get_type_id(geoms)
    _mark(outcome, type_id < 0, Outcome.NULL_GEOMETRY)
    _mark(outcome, shapely.is_empty(geoms), Outcome.EMPTY_GEOMETRY)
    _mark(outcome, ~np.isin(type_id, (_POLYGON, _MULTIPOLYGON)), Outcome.NOT_POLYGON)
    result = Validation(outcome, geoms, np.full(len(pids), np.nan))
    _repair_invalid(result, m2_per_unit2)
    alive = result.kept
    result.area_m2[alive] = shapely.area(geoms[alive]) * m2_per_unit2
    _mark(outcome, result.area_m2 < MIN_PARCEL_AREA_M2, Outcome.AREA_TOO_SMALL)
    _mark(outcome, result.area_m2 > MAX_PARCEL_AREA_M2, Outcome.AREA_TOO_LARGE)
    if extent is not None:
        shapely.prepare(extent)
        alive = result.kept
        outside = np.zeros(len(pids), dtype=bool)
        outside[alive] = ~shapely.intersects(extent, geoms[alive])
        _mark(outcome, outside, Outcome.OUTSIDE_EXTENT)
    return result


def _mark(outcome: np.ndarray, mask: np.ndarray, code: Outcome) -> None:
    """Give ``code`` to the rows of ``mask`` that have not been rejected yet."""
    outcome[mask & (outcome <= Outcome.REPAIRED)] = code


def _repair_invalid(result: Validation, m2_per_unit2: float) -> None:
    """Repair the invalid polygons in place (``make_valid`` on the invalid subset only)."""
    alive = np.flatnonzero(result.kept)
    idx = alive[~shapely.is_valid(result.geoms[alive])]
    if len(idx) == 0:
        return
    before = result.geoms[idx]
    # "structure" unions overlapping parts and, without collapsed parts, is always polygonal.
    fixed = shapely.make_valid(before, method="structure", keep_collapsed=False)
    area_before = shapely.area(before)
    area_after = shapely.area(fixed)
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.abs(area_after - area_before) / area_before
    polygonal = np.isin(shapely.get_type_id(fixed), (_POLYGON, _MULTIPOLYGON))
    bad_type = ~polygonal | shapely.is_empty(fixed)
    too_different = ~bad_type & ~(change <= MAX_REPAIR_AREA_CHANGE)
    ok = ~bad_type & ~too_different
    result.outcome[idx[bad_type]] = Outcome.UNREPAIRABLE
    result.outcome[idx[too_different]] = Outcome.REPAIR_AREA_CHANGE
    result.outcome[idx[ok]] = Outcome.REPAIRED
    result.geoms[idx[ok]] = fixed[ok]
    reasons = shapely.is_valid_reason(before)
    result.invalid_reason.update(zip(idx.tolist(), reasons.tolist(), strict=True))
    area_after_m2 = area_after * m2_per_unit2
    result.area_before_m2.update(zip(idx.tolist(), (area_before * m2_per_unit2).tolist(),
                                     strict=True))
    result.area_m2[idx[too_different]] = area_after_m2[too_different]


def as_multipolygons(geoms: np.ndarray) -> np.ndarray:
    """Promote Polygons to single-part MultiPolygons (vectorised); MultiPolygons unchanged."""
    geoms = np.asarray(geoms, dtype=object).copy()
    single = shapely.get_type_id(geoms) == _POLYGON
    if single.any():
        n = int(np.count_nonzero(single))
        geoms[single] = shapely.multipolygons(geoms[single], indices=np.arange(n))
    return geoms
