"""Which asset (and which band of that asset's file) holds each canonical band of an item.

A provider asset is usually one single-band file, but it may be one band of a multi-band file
(a ``B02-B03-B04-B08-B11-B12`` mosaic, a true-colour file). The band list of an asset comes
from STAC 1.1 ``bands``, else ``eo:bands``, else ``raster:bands`` (merged by position).

Rules for a canonical band ``B`` that a profile maps to asset key ``K``:

1. ``K`` is in the item (``K#N`` in a profile names band ``N`` of ``K`` explicitly):

   * its band list has one entry, or none: a single-band file (a file that turns out to
     hold several bands is refused when it is opened: :mod:`backend.extraction.reader`);
   * it has several: the entry named ``B`` (or ``K``); none or several such -> refused.

2. ``K`` is not in the item: the one multi-band data asset whose band list has an entry
   named ``B`` (or ``K``); true-colour/visual/preview assets are never used. Several
   candidates -> refused.

Two bands located at the same band of the same file are refused too
(:func:`check_distinct`): several assets pointing at one multi-band file without saying
which band each is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from backend.errors import InvalidInput

_SKIP_ROLES = {"visual", "overview", "thumbnail", "metadata", "tiles"}
_SKIP_KEYS = re.compile(r"(?i)^(tci|visual|preview|thumbnail|rendered)")
_EXPLICIT = re.compile(r"^(?P<key>.+)#(?P<index>[1-9][0-9]*)$")
_NAME_FIELDS = ("name", "common_name", "eo:common_name")


class AmbiguousBand(InvalidInput):
    """A band cannot be located without guessing (a multi-band file and no band name)."""


@dataclass(frozen=True)
class BandRef:
    """Where a canonical band is: an asset key and the 1-based band index in its file."""

    asset: str
    index: int = 1
    declared: bool = False  # True when the index comes from a multi-band list or ``K#N``


def band_list(asset: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The band entries of an asset: ``bands`` (STAC 1.1), ``eo:bands``, ``raster:bands``.

    Entries at the same position are merged (``eo:bands`` names, ``raster:bands`` scale).
    """
    lists: list[list[Any]] = [v for k in ("bands", "eo:bands", "raster:bands")
                              if isinstance(v := asset.get(k), list) and v]
    if not lists:
        return []
    n = max(len(v) for v in lists)
    merged: list[dict[str, Any]] = [{} for _ in range(n)]
    for entries in reversed(lists):  # the first list wins on conflicting keys
        for i, entry in enumerate(entries):
            if isinstance(entry, dict):
                merged[i].update(entry)
    return merged


def _named(entry: Mapping[str, Any], names: Sequence[str]) -> bool:
    wanted = {n.lower() for n in names}
    return any(str(value).lower() in wanted for f in _NAME_FIELDS if (value := entry.get(f)))


def _usable(key: str, asset: Mapping[str, Any]) -> bool:
    roles = set(asset.get("roles") or [])
    return not (roles & _SKIP_ROLES) and not _SKIP_KEYS.match(key)


def band_lists(assets: Mapping[str, Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """:func:`band_list` of every asset of an item (computed once, used for every band)."""
    return {k: band_list(a) for k, a in assets.items()}


def multiband_assets(assets: Mapping[str, Mapping[str, Any]],
                     lists: Mapping[str, list[dict[str, Any]]] | None = None
                     ) -> dict[str, list[dict[str, Any]]]:
    """The band lists of the usable data assets that list several bands (rule 2's candidates).

    ``lists`` is :func:`band_lists` of ``assets``, when the caller has it already.
    """
    return {k: entries for k, a in assets.items()
            if _usable(k, a) and len(entries := lists[k] if lists is not None else band_list(a)) > 1}


def locate(band: str, key: str, assets: Mapping[str, Mapping[str, Any]],
           multiband: Mapping[str, list[dict[str, Any]]] | None = None,
           lists: Mapping[str, list[dict[str, Any]]] | None = None) -> BandRef | None:
    """Where ``band`` (mapped to asset ``key`` by a profile) is in an item, or None if absent.

    ``multiband`` is :func:`multiband_assets` of ``assets`` and ``lists`` its
    :func:`band_lists`, when the caller has them already (it locates every band of several
    profiles in one item).

    Raises:
        AmbiguousBand: the band would have to be guessed (see the module docstring).
    """
    explicit = _EXPLICIT.match(key)
    if explicit and explicit["key"] in assets:
        return BandRef(explicit["key"], int(explicit["index"]), declared=True)
    if key in assets:
        entries = lists[key] if lists is not None else band_list(assets[key])
        if len(entries) <= 1:  # a single-band file (checked when it is opened)
            return BandRef(key, 1)
        hits = [i for i, e in enumerate(entries) if _named(e, (band, key))]
        if len(hits) != 1:
            raise AmbiguousBand(
                f"asset {key} holds {len(entries)} bands and {len(hits) or 'none'} of them "
                f"named {band}: name its bands (STAC 'bands'/'eo:bands') or map {band} to "
                f"'{key}#<band number>' in a profile")
        return BandRef(key, hits[0] + 1, declared=True)
    if multiband is None:
        multiband = multiband_assets(assets)
    found = [(k, i) for k, entries in multiband.items()
             for i, e in enumerate(entries) if _named(e, (band, key))]
    if len(found) > 1:
        raise AmbiguousBand(f"band {band} is in several assets "
                            f"({', '.join(f'{k} band {i + 1}' for k, i in found)}): map it to "
                            f"one asset in a profile")
    if found:
        k, i = found[0]
        return BandRef(k, i + 1, declared=True)
    return None


def band_entry(asset: Mapping[str, Any], index: int,
               entries: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The band-list entry ``index`` (1-based) of an asset, or {} when it has none.

    ``entries`` is the asset's :func:`band_list`, when the caller has it already.
    """
    entries = band_list(asset) if entries is None else entries
    return entries[index - 1] if 0 < index <= len(entries) else {}


def check_distinct(refs: Mapping[str, BandRef], hrefs: Mapping[str, str]) -> None:
    """Refuse two canonical bands that would read the same band of the same file.

    Raises:
        AmbiguousBand: e.g. assets ``blue`` and ``green`` both point at ``mosaic.tif`` and
            neither names its band.
    """
    seen: dict[tuple[str, int], str] = {}
    for band, ref in refs.items():
        where = (hrefs[ref.asset], ref.index)
        if where in seen:
            raise AmbiguousBand(
                f"bands {seen[where]} and {band} would both read band {ref.index} of {where[0]}: "
                "the file holds several bands and the item does not say which is which; list "
                "them in the asset ('bands'/'eo:bands' with names) or map each band to "
                "'<asset>#<band number>' in a profile")
        seen[where] = band
