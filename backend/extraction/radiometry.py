"""Declared radiometry: from a provider's digital numbers to the one stored unit per kind.

Stored units (``signatures.stats`` values), the same for every provider and year:

* ``s2`` reflectance bands: **reflectance x 10 000**, i.e. the digital numbers of processing
  baseline < 04.00 (no offset). Markers and indices (``backend.markers``) expect this scale.
  ``reflectance = DN * raster:scale + raster:offset`` per asset; when an asset declares no
  scale the L2A quantification value 10 000 is assumed (scale 0.0001); when it declares no
  offset, the offset is -0.1 (-1000 DN) if the item states a processing baseline >= 04.00
  (``s2:processing_baseline``, ``processing:version`` or ``_N0400_`` in the product id),
  else 0. So a baseline 05.xx value of 2345 DN is stored as 1345.
* ``SCL`` (and any mask): class values, never scaled.
* ``bs``/``c6``: ``DN * raster:scale + raster:offset`` as declared (1 and 0 when not).

A linear transform ``v' = a * v + b`` moves the statistics exactly: count unchanged; mean,
min, max and the percentiles transform the same way (with min/max and p25/p75 swapped when
``a < 0``); std is multiplied by ``|a|``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

S2_REFLECTANCE_UNIT = 10_000.0
S2_QUANTIFICATION = 1e-4
BASELINE_OFFSET_FROM = (4, 0)
BASELINE_OFFSET = -0.1  # reflectance, i.e. -1000 DN
_BASELINE_IN_ID = re.compile(r"_N(\d{2})(\d{2})(?:_|$)")
STATS = ("count", "mean", "std", "min", "max", "p25", "p50", "p75")


@dataclass(frozen=True)
class Linear:
    """``stored = scale * DN + offset``."""

    scale: float = 1.0
    offset: float = 0.0

    @property
    def identity(self) -> bool:
        """True when the transform changes nothing."""
        return self.scale == 1.0 and self.offset == 0.0

    def as_dict(self) -> dict[str, float]:
        """JSON form stored with the image (``cbm:bands``)."""
        return {"scale": self.scale, "offset": self.offset}


def baseline(properties: Mapping[str, Any], item_id: str = "") -> tuple[int, int] | None:
    """The S2 processing baseline an item states, as (major, minor), or None."""
    for key in ("s2:processing_baseline", "processing:version", "processing:baseline"):
        value = properties.get(key)
        if isinstance(value, str | int | float) and (m := re.fullmatch(r"(\d+)\.(\d+)", str(value))):
            return int(m[1]), int(m[2])
    for text in (properties.get("s2:product_uri"), item_id):
        if isinstance(text, str) and (m := _BASELINE_IN_ID.search(text.removesuffix(".SAFE"))):
            return int(m[1]), int(m[2])
    return None


def _number(*values: Any) -> float | None:
    for v in values:
        if isinstance(v, int | float) and not isinstance(v, bool):
            return float(v)
    return None


def declared(asset: Mapping[str, Any], entry: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """The (scale, offset) an asset declares for one band (band entry over asset level)."""
    scale = _number(entry.get("raster:scale"), entry.get("scale"), asset.get("raster:scale"))
    offset = _number(entry.get("raster:offset"), entry.get("offset"), asset.get("raster:offset"))
    return scale, offset


def to_stored(kind: str, is_mask: bool, scale: float | None, offset: float | None,
              item_baseline: tuple[int, int] | None) -> Linear:
    """The transform from a band's DN to the stored unit of its kind (see the module docstring)."""
    if is_mask:
        return Linear()
    if kind == "s2":
        if offset is None:
            offset = BASELINE_OFFSET if item_baseline and item_baseline >= BASELINE_OFFSET_FROM else 0.0
        scale = S2_QUANTIFICATION if scale is None else scale
        return Linear(_clean(scale * S2_REFLECTANCE_UNIT), _clean(offset * S2_REFLECTANCE_UNIT))
    return Linear(1.0 if scale is None else scale, 0.0 if offset is None else offset)


def _clean(x: float) -> float:
    """Round away binary noise (0.0001 * 10000 = 1.0000000000000002)."""
    return float(f"{x:.12g}")


def apply(stats: np.ndarray, transforms: Sequence[Linear]) -> None:
    """Transform stats ``(n, nbands, 8)`` in place, band ``k`` by ``transforms[k]``."""
    for k, t in enumerate(transforms):
        if t.identity:
            continue
        s = stats[:, k, :].astype(np.float64)
        out = s * t.scale + t.offset
        out[:, 0] = s[:, 0]  # count
        out[:, 2] = s[:, 2] * abs(t.scale)  # std
        if t.scale < 0:
            out[:, [3, 4]] = out[:, [4, 3]]  # min <-> max
            out[:, [5, 7]] = out[:, [7, 5]]  # p25 <-> p75
        stats[:, k, :] = out.astype(stats.dtype)


def transforms_of(image: Mapping[str, Any], bands: Sequence[str]) -> list[Linear]:
    """The stored transform of each stats band of a catalogued image (identity if none)."""
    item = image.get("item", image)
    refs = item.get("properties", {}).get("cbm:bands") or {}
    out = []
    for b in bands:
        r = refs.get(b) or {}
        out.append(Linear(float(r.get("scale", 1.0)), float(r.get("offset", 0.0))))
    return out
