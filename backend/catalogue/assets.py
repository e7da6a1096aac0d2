"""Find the band files of a catalogued image, whatever the provider calls its assets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backend.catalogue.profiles import KIND_BANDS, KIND_MASK

CBM_ASSETS = "cbm:assets"  # stored item property: canonical band -> provider asset key


def band_hrefs(image: Mapping[str, Any]) -> dict[str, str]:
    """Canonical band -> absolute href of an image (mask band, e.g. ``SCL``, included).

    Args:
        image: a row of ``images`` (with ``item``, and ``kind``) or a stored item JSON.

    Returns:
        The stats bands in ``images.bands`` order, then the mask; bands whose asset is
        missing are left out.
    """
    item = image.get("item", image)
    mapping = item.get("properties", {}).get(CBM_ASSETS)
    if not mapping:  # an item stored without the mapping: asset keys are canonical names
        kind = str(image.get("kind"))
        names = (KIND_BANDS[kind] + ((m,) if (m := KIND_MASK[kind]) else ())
                 if kind in KIND_BANDS else tuple(item["assets"]))
        mapping = {name: name for name in names}
    assets = item["assets"]
    return {band: assets[key]["href"] for band, key in mapping.items() if key in assets}
