"""Image catalogue: STAC items in, image queries out.

Sources: STAC APIs, static catalogues, item files, folders of COGs.
See :func:`add_source`, :func:`list_images` and :func:`summary`.
"""

from backend.catalogue.assets import band_hrefs
from backend.catalogue.filters import ItemFilter
from backend.catalogue.models import AddResult, Rejection
from backend.catalogue.profiles import (
    BUILTIN_PROFILES,
    KIND_BANDS,
    CollectionProfile,
    load_profiles,
)
from backend.catalogue.service import add_source, get_image, list_images, summary

__all__ = [
    "BUILTIN_PROFILES",
    "KIND_BANDS",
    "AddResult",
    "CollectionProfile",
    "ItemFilter",
    "Rejection",
    "add_source",
    "band_hrefs",
    "get_image",
    "list_images",
    "load_profiles",
    "summary",
]
