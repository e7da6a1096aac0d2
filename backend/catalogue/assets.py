"""Find the band files of a catalogued image, whatever the provider calls its assets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backend.catalogue.profiles import KIND_BANDS, KIND_MASK

CBM_ASSETS = "cbm:assets"  # stored item property: canonical band -> provider asset key
CBM_BANDS = "cbm:bands"  # stored item property: canonical band -> {asset, band, scale, offset}


def _mapping(image: Mapping[str, Any]) -> dict[str, str]:
    item = image.get("item", image)
    mapping = item.get("properties", {}).get(CBM_ASSETS)
    if mapping:
        return dict(mapping)
    # an item stored without the mapping: asset keys are canonical names
    kind = str(image.get("kind"))
    names = (KIND_BANDS[kind] + ((m,) if (m := KIND_MASK[kind]) else ())
             if kind in KIND_BANDS else tuple(item["assets"]))
    return {name: name for name in names}


def band_hrefs(image: Mapping[str, Any]) -> dict[str, str]:
    """Canonical band -> absolute href of an image (mask band, e.g. ``SCL``, included).

    Args:
        image: a row of ``images`` (with ``item``, and ``kind``) or a stored item JSON.

    Returns:
        The stats bands then the mask; bands whose asset is missing are left out. Several
        bands may share one href (a multi-band file): see :func:`band_indexes`.
    """
    item = image.get("item", image)
    assets = item["assets"]
    return {band: assets[key]["href"] for band, key in _mapping(image).items() if key in assets}


def band_indexes(image: Mapping[str, Any]) -> dict[str, int | None]:
    """Canonical band -> 1-based band index in its file.

    None when the catalogue declared none: the file must then hold one band only
    (see :mod:`backend.catalogue.bands`).
    """
    item = image.get("item", image)
    refs = item.get("properties", {}).get(CBM_BANDS) or {}
    out: dict[str, int | None] = {}
    for band in band_hrefs(image):
        ref = refs.get(band) or {}
        out[band] = int(ref["band"]) if ref.get("band") else None
    return out
