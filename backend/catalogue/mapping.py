"""Choose an item's profile and map its bands: asset, band index and stored radiometry.

The result is stored in the item as ``cbm:bands`` (canonical band -> ``{"asset", "band",
"scale", "offset"}``, see :mod:`backend.extraction.radiometry` for the unit) and
``cbm:assets`` (canonical band -> asset key, mask included).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from backend.catalogue.bands import (
    AmbiguousBand,
    BandRef,
    band_entry,
    band_lists,
    locate,
    multiband_assets,
)
from backend.catalogue.profiles import CollectionProfile
from backend.errors import InvalidInput
from backend.extraction import radiometry

_L1C = re.compile(r"(?i)(l1c|msil1c|s2msi1c)")
_GRD = re.compile(r"(?i)(^|[-_])grd($|[-_])")


class UnsupportedProduct(InvalidInput):
    """A product level the platform does not extract (S2 L1C, S1 GRD)."""


@dataclass(frozen=True)
class BandMap:
    """The chosen profile and where its bands are in one item."""

    profile: CollectionProfile
    refs: Mapping[str, BandRef]  # canonical band (mask included) -> location
    radiometry: Mapping[str, radiometry.Linear]  # stats band -> stored transform

    @property
    def bands(self) -> tuple[str, ...]:
        """Stats bands present, in canonical order."""
        return tuple(b for b in self.profile.bands if b in self.refs)

    @property
    def mask(self) -> str:
        """The mask the image has: ``SCL`` or ``none``."""
        m = self.profile.mask
        return m if m and m in self.refs else "none"

    def properties(self) -> dict[str, Any]:
        """``cbm:assets`` and ``cbm:bands`` of the stored item."""
        bands = {b: {"asset": r.asset, "band": r.index if r.declared else None,
                     **self.radiometry.get(b, radiometry.Linear()).as_dict()}
                 for b, r in self.refs.items()}
        return {"cbm:assets": {b: r.asset for b, r in self.refs.items()}, "cbm:bands": bands}


def refuse_unsupported(collection: str | None, item_id: str, props: Mapping[str, Any]) -> None:
    """Refuse Sentinel-2 L1C and Sentinel-1 GRD items, with the reason and what to do.

    Raises:
        UnsupportedProduct: the item is L1C or GRD.
    """
    text = " ".join(str(v) for v in (collection, props.get("s2:product_type"),
                                      props.get("product:type"), item_id) if v)
    if _L1C.search(text) or props.get("processing:level") == "L1C":
        raise UnsupportedProduct("Sentinel-2 L1C (top-of-atmosphere) is not supported: catalogue "
                                 "the L2A (surface reflectance) collection instead")
    if collection and _GRD.search(collection):
        raise UnsupportedProduct("Sentinel-1 GRD is not calibrated backscatter: calibrate to "
                                 "backscatter first (e.g. gamma0 terrain-corrected, such as "
                                 "Planetary Computer sentinel-1-rtc) and catalogue that")


def _refs(profile: CollectionProfile, assets: Mapping[str, Mapping[str, Any]],
          multiband: Mapping[str, list[dict[str, Any]]],
          lists: Mapping[str, list[dict[str, Any]]]) -> dict[str, BandRef]:
    refs = {}
    for band in profile.canonical:
        ref = locate(band, profile.assets[band], assets, multiband, lists)
        if ref is not None:
            refs[band] = ref
    return refs


def choose(
    profiles: Sequence[CollectionProfile], collection: str | None, item_id: str,
    props: Mapping[str, Any], assets: Mapping[str, Mapping[str, Any]],
    *, memo: dict[bytes, BandMap] | None = None,
) -> BandMap:
    """The profile that finds the most stats bands in the item, and its band map.

    ``memo`` (a dict kept for one import, with the same ``profiles``) remembers the band map
    of each item shape: what the choice reads of an item (collection, asset keys, roles, band
    lists, asset scale/offset, S2 baseline). The items of one provider share their shape, so
    the bands are located once per shape, not once per item.

    Raises:
        InvalidInput: no profile matches the collection or finds a stats band; a band is
            ambiguous (:class:`~backend.catalogue.bands.AmbiguousBand`); L1C or GRD.
    """
    refuse_unsupported(collection, item_id, props)
    if memo is None or (key := _shape_key(collection, item_id, props, assets)) is None:
        return _choose(profiles, collection, item_id, props, assets)
    if (bmap := memo.get(key)) is None:  # a refusal is not remembered
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        bmap = memo[key] = _choose(profiles, collection, item_id, props, assets)
    return bmap


_SHAPE_FIELDS = ("roles", "bands", "eo:bands", "raster:bands", "raster:scale", "raster:offset")
_MEMO_SIZE = 4096


def _shape_key(collection: str | None, item_id: str, props: Mapping[str, Any],
               assets: Mapping[str, Mapping[str, Any]]) -> bytes | None:
    """Everything :func:`_choose` reads of an item (None when it cannot be serialised)."""
    try:
        return orjson.dumps([collection, radiometry.baseline(props, item_id),
                             [(k, [a.get(f) for f in _SHAPE_FIELDS]) for k, a in assets.items()]])
    except TypeError:
        return None


def _choose(
    profiles: Sequence[CollectionProfile], collection: str | None, item_id: str,
    props: Mapping[str, Any], assets: Mapping[str, Mapping[str, Any]],
) -> BandMap:
    candidates = [p for p in profiles if p.matches(collection)]
    if not candidates:
        raise InvalidInput(f"no collection profile matches collection {collection!r}")
    best: tuple[int, CollectionProfile, dict[str, BandRef]] | None = None
    ambiguous: list[AmbiguousBand] = []
    lists = band_lists(assets)
    multiband = multiband_assets(assets, lists)
    for p in candidates:
        try:
            refs = _refs(p, assets, multiband, lists)
        except AmbiguousBand as exc:  # this profile would have to guess; another may not
            ambiguous.append(exc)
            continue
        n = sum(1 for b in p.bands if b in refs)
        if n and (best is None or n > best[0]):
            best = (n, p, refs)
    if best is None and ambiguous:
        raise ambiguous[0]
    if best is None:
        names = ", ".join(sorted(p.name for p in candidates))
        raise InvalidInput(f"no band asset found (profiles tried: {names}; item assets: "
                           f"{', '.join(sorted(assets)) or 'none'})")
    _, profile, refs = best
    return BandMap(profile, refs, _radiometry(profile, refs, item_id, props, assets, lists))


def _radiometry(profile: CollectionProfile, refs: Mapping[str, BandRef], item_id: str,
                props: Mapping[str, Any], assets: Mapping[str, Mapping[str, Any]],
                lists: Mapping[str, list[dict[str, Any]]]) -> dict[str, radiometry.Linear]:
    item_baseline = radiometry.baseline(props, item_id) if profile.kind == "s2" else None
    out = {}
    for band, ref in refs.items():
        asset = assets[ref.asset]
        scale, offset = radiometry.declared(asset, band_entry(asset, ref.index, lists[ref.asset]))
        out[band] = radiometry.to_stored(profile.kind, band == profile.mask, scale, offset,
                                         item_baseline)
    return out
