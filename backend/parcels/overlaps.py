"""Overlapping parcels of an import: how many, how much, which pairs; refuse above a share.

Declarations do overlap (slivers, double declarations, features inside fields). Extraction
gives every parcel all of its own pixels whatever overlaps it, so overlaps are imported by
default and reported; ``CBM_MAX_OVERLAP_SHARE`` (or ``--max-overlap-share``) refuses an
import in which some parcel has more than that share of its area under another parcel.

Only overlaps with a positive area count: parcels that share an edge or a corner do not
overlap. Intersections below :data:`MIN_OVERLAP_M2` are digitising noise and are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from backend.errors import InvalidInput
from backend.extraction.layers import intersecting_pairs
from backend.parcels.report import ReportRow

MIN_OVERLAP_M2 = 0.01
"""Intersections smaller than this (1 dm²) are not overlaps."""


@dataclass(frozen=True)
class Overlaps:
    """The overlapping pairs of a set of parcels.

    Attributes:
        first: Row index (0-based, in the file) of the first parcel of each pair.
        second: Row index of the second parcel (``first < second``).
        area_m2: Area of each pair's intersection in m².
        share: Intersection / area of the smaller parcel of the pair (1.0: one covers the other).
    """

    first: np.ndarray
    second: np.ndarray
    area_m2: np.ndarray
    share: np.ndarray

    @property
    def n_parcels(self) -> int:
        """Number of parcels that overlap at least one other."""
        return int(np.unique(np.concatenate([self.first, self.second])).size)

    def summary(self) -> dict[str, Any]:
        """Counts for the import summary (``parcel_sets.report``)."""
        return {"n_parcels": self.n_parcels, "n_pairs": int(self.first.size),
                "max_area_m2": round(float(self.area_m2.max()), 2) if self.first.size else 0.0,
                "max_share": round(float(self.share.max()), 4) if self.first.size else 0.0}


def find_overlaps(geoms: np.ndarray, kept: np.ndarray | None = None, *,
                  m2_per_unit2: float = 1.0) -> Overlaps:
    """Pairs of parcels whose intersection has a positive area (above :data:`MIN_OVERLAP_M2`).

    Args:
        geoms: Valid polygons, one per file row, in a projected CRS.
        kept: Rows to consider (e.g. the rows an import keeps); None: all.
        m2_per_unit2: Square metres per squared CRS unit.

    Returns:
        The :class:`Overlaps`, pairs sorted by row.
    """
    geoms = np.asarray(geoms, dtype=object)
    rows = np.arange(geoms.size) if kept is None else np.flatnonzero(kept)
    sub = geoms[rows]
    ok = ~(shapely.is_missing(sub) | shapely.is_empty(sub))
    rows, sub = rows[ok], sub[ok]
    pairs = intersecting_pairs(sub) if sub.size > 1 else np.empty((0, 2), np.int64)
    a, b = sub[pairs[:, 0]], sub[pairs[:, 1]]
    area = shapely.area(shapely.intersection(a, b, grid_size=None)) * m2_per_unit2
    smaller = np.minimum(shapely.area(a), shapely.area(b)) * m2_per_unit2
    keep = area >= MIN_OVERLAP_M2
    first, second = rows[pairs[keep, 0]], rows[pairs[keep, 1]]
    order = np.lexsort((second, first))
    share = np.divide(area[keep], smaller[keep], out=np.ones(int(keep.sum())), where=smaller[keep] > 0)
    return Overlaps(first[order], second[order], area[keep][order], np.minimum(share[order], 1.0))


def overlap_rows(overlaps: Overlaps, pids: np.ndarray) -> list[ReportRow]:
    """One ``overlap`` report row per pair (on the first parcel's row, naming the second)."""
    out = []
    for i, j, area, share in zip(overlaps.first.tolist(), overlaps.second.tolist(),
                                 overlaps.area_m2.tolist(), overlaps.share.tolist(), strict=True):
        out.append(ReportRow(i + 1, _pid(pids[i]), "overlap", "overlap",
                             f"overlaps row {j + 1} (pid {_pid(pids[j])}): {area:.2f} m², "
                             f"{share:.1%} of the smaller parcel"))
    return out


def refuse_overlaps(overlaps: Overlaps, max_share: float, pids: np.ndarray, report_path: Path) -> None:
    """Refuse overlaps covering more than ``max_share`` of the smaller parcel of a pair.

    Raises:
        InvalidInput: Naming how many pairs exceed the share, the worst one and the report.
    """
    above = np.flatnonzero(overlaps.share > max_share)
    if not above.size:
        return
    k = int(above[np.argmax(overlaps.share[above])])
    i, j = int(overlaps.first[k]), int(overlaps.second[k])
    raise InvalidInput(
        f"{above.size} pair(s) of parcels overlap by more than {max_share:.0%} of the smaller "
        f"parcel (--max-overlap-share or CBM_MAX_OVERLAP_SHARE); the largest: rows {i + 1} and "
        f"{j + 1} (pids {_pid(pids[i])}, {_pid(pids[j])}) share {overlaps.share[k]:.0%}. Fix the parcels or "
        f"raise the share (1 imports every overlap); pairs in {report_path}")


def _pid(value: object) -> str | None:
    return None if value is None else str(value)
