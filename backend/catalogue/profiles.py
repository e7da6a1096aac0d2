"""Collection profiles: how a provider names the assets of a kind of image.

Providers name the same Sentinel band differently (``B02`` in our layout and Planetary
Computer, ``blue`` in Earth Search, ``B02_10m`` in Copernicus Data Space). A
:class:`CollectionProfile` maps canonical band names to a provider's asset keys for the
collections whose id matches its pattern. **The band set is the provider's**: an image is
catalogued with the bands of the profile that its item has (at least one stats band), and the
mask it has (``SCL`` or none).

Canonical bands: S2 L2A ``B01 B02 B03 B04 B05 B06 B07 B08 B8A B09 B11 B12`` (L2A has no B10)
and the mask ``SCL``; S1 backscatter ``VV VH HH HV``; S1 coherence ``COH_VV COH_VH``.

Profile choice for an item: among the profiles whose pattern matches the item's collection
id, the one that finds the most stats bands in the item (first in order on a tie). This tells
Earth Search, CDSE and Planetary Computer apart although all call their collection
``sentinel-2-l2a``. Profiles given by the user come before the built-in ones.

Custom profiles come from a YAML file::

    profiles:
      - name: my-s2
        provider: my-agency
        collection: "my-sentinel-2.*"   # regular expression, full match on the collection id
        kind: s2
        assets: {B02: b2, B03: b3, B04: b4, B08: b8, SCL: scl, B11: "mosaic#5"}

``key#N`` names band ``N`` of a multi-band asset (see :mod:`backend.catalogue.bands`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from backend.errors import InvalidInput

S2_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")
# Every canonical stats band per kind, in the order of the stats arrays (``images.bands`` is
# the subset an image has, in this order).
KIND_BANDS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "s2": S2_BANDS,
    "bs": ("VV", "VH", "HH", "HV"),
    "c6": ("COH_VV", "COH_VH"),
})
# Canonical mask band per kind (optional: an image without one is catalogued with mask 'none').
KIND_MASK: Mapping[str, str | None] = MappingProxyType({"s2": "SCL", "bs": None, "c6": None})


@dataclass(frozen=True)
class CollectionProfile:
    """Asset naming of one provider's collection(s) for one kind of image.

    Attributes:
        name: short name of the profile (for messages and counts).
        collection: regular expression, full match on the STAC collection id
            (items without a collection id are matched as the empty string).
        kind: ``s2``, ``bs`` or ``c6``.
        assets: canonical band name -> provider asset key (``key#N``: band N of that asset),
            for the bands the provider may have; the mask (``SCL``) included.
        provider: who publishes the images (stored with each image).
    """

    name: str
    collection: str
    kind: str
    assets: Mapping[str, str] = field(default_factory=dict)
    provider: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KIND_BANDS:
            raise InvalidInput(f"profile {self.name!r}: kind must be one of "
                               f"{', '.join(KIND_BANDS)}, not {self.kind!r}")
        try:
            re.compile(self.collection)
        except re.error as exc:
            raise InvalidInput(f"profile {self.name!r}: bad collection pattern: {exc}") from None
        allowed = set(KIND_BANDS[self.kind]) | ({m} if (m := KIND_MASK[self.kind]) else set())
        unknown = sorted(set(self.assets) - allowed)
        if unknown:
            raise InvalidInput(f"profile {self.name!r}: {', '.join(unknown)} not a {self.kind} band "
                               f"(use {', '.join(sorted(allowed))})")
        if not any(b in self.assets for b in KIND_BANDS[self.kind]):
            raise InvalidInput(f"profile {self.name!r}: maps no {self.kind} band")
        object.__setattr__(self, "assets", MappingProxyType(dict(self.assets)))
        object.__setattr__(self, "provider", self.provider or self.name)

    @property
    def bands(self) -> tuple[str, ...]:
        """Canonical stats bands this profile can map, in ``images.bands`` order."""
        return tuple(b for b in KIND_BANDS[self.kind] if b in self.assets)

    @property
    def mask(self) -> str | None:
        """Canonical mask band (``SCL`` for S2) if the profile maps one, else None."""
        m = KIND_MASK[self.kind]
        return m if m and m in self.assets else None

    @property
    def canonical(self) -> tuple[str, ...]:
        """Every canonical band the profile maps: the stats bands then the mask."""
        return self.bands + ((self.mask,) if self.mask else ())

    def matches(self, collection: str | None) -> bool:
        """True if the collection id matches this profile's pattern."""
        return re.fullmatch(self.collection, collection or "") is not None


def _identity(kind: str) -> dict[str, str]:
    bands = KIND_BANDS[kind] + ((m,) if (m := KIND_MASK[kind]) else ())
    return {b: b for b in bands}


_CDSE_RES = {"B01": 60, "B02": 10, "B03": 10, "B04": 10, "B05": 20, "B06": 20, "B07": 20,
             "B08": 10, "B8A": 20, "B09": 60, "B11": 20, "B12": 20, "SCL": 20}
_ES_NAMES = {"B01": "coastal", "B02": "blue", "B03": "green", "B04": "red", "B05": "rededge1",
             "B06": "rededge2", "B07": "rededge3", "B08": "nir", "B8A": "nir08", "B09": "nir09",
             "B11": "swir16", "B12": "swir22", "SCL": "scl"}

# Copernicus Data Space: JP2 in the SAFE, every band at 10/20/60 m: the native resolution.
CDSE_S2 = CollectionProfile("cdse-s2", r"sentinel-2-l2a", "s2",
                            {b: f"{b}_{r}m" for b, r in _CDSE_RES.items()}, provider="cdse")
# Earth Search v1: COGs named by common name (also sentinel-2-c1-l2a, the collection 1 reprocessing).
EARTH_SEARCH_S2 = CollectionProfile("earth-search-s2", r"sentinel-2-l2a", "s2", _ES_NAMES,
                                    provider="earth-search")
EARTH_SEARCH_S2_C1 = CollectionProfile("earth-search-s2-c1", r"sentinel-2-c1-l2a", "s2", _ES_NAMES,
                                       provider="earth-search")
# Planetary Computer: COGs keyed by band name (hrefs need a SAS token: settings.pc_sign).
PLANETARY_S2 = CollectionProfile("planetary-computer-s2", r"sentinel-2-l2a", "s2", _identity("s2"),
                                 provider="planetary-computer")
PLANETARY_S1_RTC = CollectionProfile("planetary-computer-s1-rtc", r"sentinel-1-rtc", "bs",
                                     {"VV": "vv", "VH": "vh", "HH": "hh", "HV": "hv"},
                                     provider="planetary-computer")
# Our own names (demo data and folders of COGs): canonical asset keys, any collection id.
DEMO_PROFILES = (
    CollectionProfile("cbm-s2", ".*", "s2", _identity("s2"), provider="cbm"),
    CollectionProfile("cbm-bs", ".*", "bs", _identity("bs"), provider="cbm"),
    CollectionProfile("cbm-c6", ".*", "c6", _identity("c6"), provider="cbm"),
)
BUILTIN_PROFILES: tuple[CollectionProfile, ...] = (
    CDSE_S2, EARTH_SEARCH_S2, EARTH_SEARCH_S2_C1, PLANETARY_S2, PLANETARY_S1_RTC, *DEMO_PROFILES)

# Default collection id for items that have none (folders of COGs).
DEFAULT_COLLECTION = {"s2": "cbm-s2", "bs": "cbm-bs", "c6": "cbm-c6"}


def load_profiles(path: str | Path) -> tuple[CollectionProfile, ...]:
    """Read custom profiles from a YAML file (see the module docstring for the format).

    Raises:
        InvalidInput: the file is missing, not YAML, or a profile is malformed.
    """
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput(f"cannot read profile file {path}: {exc}") from None
    entries: Any = doc.get("profiles", [doc]) if isinstance(doc, dict) else doc
    if not isinstance(entries, list) or not entries:
        raise InvalidInput(f"{path}: expected a 'profiles:' list of profiles")
    profiles = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("assets"), dict):
            raise InvalidInput(f"{path}: profile {i + 1} needs name, collection, kind, assets")
        profiles.append(CollectionProfile(
            name=str(entry.get("name", f"custom-{i + 1}")),
            collection=str(entry.get("collection", ".*")),
            kind=str(entry.get("kind", "")),
            assets={str(k): str(v) for k, v in entry["assets"].items()},
            provider=str(entry.get("provider", "")),
        ))
    return tuple(profiles)


def resolve_profiles(
    profile: CollectionProfile | Sequence[CollectionProfile] | str | Path | None,
    kind: str | None = None,
) -> tuple[CollectionProfile, ...]:
    """The candidate profiles of an import: the given ones first, then the built-ins, of ``kind``.

    Args:
        profile: a profile, a sequence of profiles, a YAML file path, or None (built-ins only).
        kind: keep only profiles of this kind.

    Raises:
        InvalidInput: unknown kind, unreadable file, or no profile left.
    """
    if kind is not None and kind not in KIND_BANDS:
        raise InvalidInput(f"kind must be one of {', '.join(KIND_BANDS)}, not {kind!r}")
    if profile is None:
        given: tuple[CollectionProfile, ...] = ()
    elif isinstance(profile, CollectionProfile):
        given = (profile,)
    elif isinstance(profile, str | Path):
        given = load_profiles(profile)
    else:
        given = tuple(profile)
    names = {p.name for p in given}
    profiles = given + tuple(p for p in BUILTIN_PROFILES if p.name not in names)
    selected = tuple(p for p in profiles if kind is None or p.kind == kind)
    if not selected:
        raise InvalidInput(f"no collection profile of kind {kind!r}")
    return selected
