"""Collection profiles: how a provider names the assets of a kind of image.

Providers name the same Sentinel band differently (``B02`` in our demo, ``blue`` in Earth
Search, ``B02_10m`` in Copernicus Data Space). A :class:`CollectionProfile` maps our canonical
band names to a provider's asset keys for the collections whose id matches its pattern.

Profile choice for an item: the first profile (in order) whose pattern matches the item's
collection id *and* whose required assets are all in the item. This tells Earth Search and CDSE
apart although both call their collection ``sentinel-2-l2a``.

Custom profiles come from a YAML file::

    profiles:
      - name: my-s2
        collection: "my-sentinel-2.*"   # regular expression, full match on the collection id
        kind: s2
        assets: {B02: b2, B03: b3, B04: b4, B05: b5, B08: b8, B11: b11, SCL: scl}
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

# Canonical bands per kind, in the order of the stats arrays (``images.bands``).
KIND_BANDS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "s2": ("B02", "B03", "B04", "B05", "B08", "B11"),
    "bs": ("VV", "VH"),
    "c6": ("COH_VV", "COH_VH"),
})
# Canonical mask band per kind (required, not a stats band).
KIND_MASK: Mapping[str, str | None] = MappingProxyType({"s2": "SCL", "bs": None, "c6": None})


@dataclass(frozen=True)
class CollectionProfile:
    """Asset naming of one provider's collection(s) for one kind of image.

    Attributes:
        name: short name of the profile (for messages).
        collection: regular expression, full match on the STAC collection id
            (items without a collection id are matched as the empty string).
        kind: ``s2``, ``bs`` or ``c6``.
        assets: canonical band name -> provider asset key, for every band of the kind and
            its mask (``SCL`` for S2).
    """

    name: str
    collection: str
    kind: str
    assets: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KIND_BANDS:
            raise InvalidInput(f"profile {self.name!r}: kind must be one of "
                               f"{', '.join(KIND_BANDS)}, not {self.kind!r}")
        try:
            re.compile(self.collection)
        except re.error as exc:
            raise InvalidInput(f"profile {self.name!r}: bad collection pattern: {exc}") from None
        missing = [b for b in self.canonical if b not in self.assets]
        if missing:
            raise InvalidInput(f"profile {self.name!r}: no asset key for {', '.join(missing)}")
        object.__setattr__(self, "assets", MappingProxyType(dict(self.assets)))

    @property
    def bands(self) -> tuple[str, ...]:
        """Canonical stats bands, in ``images.bands`` order."""
        return KIND_BANDS[self.kind]

    @property
    def mask(self) -> str | None:
        """Canonical mask band (``SCL`` for S2) or None."""
        return KIND_MASK[self.kind]

    @property
    def canonical(self) -> tuple[str, ...]:
        """Every required canonical band: the stats bands then the mask."""
        return self.bands + ((self.mask,) if self.mask else ())

    def matches(self, collection: str | None) -> bool:
        """True if the collection id matches this profile's pattern."""
        return re.fullmatch(self.collection, collection or "") is not None

    def missing(self, asset_keys: Sequence[str] | set[str]) -> list[str]:
        """Provider asset keys this profile needs that are not in ``asset_keys``."""
        return [self.assets[b] for b in self.canonical if self.assets[b] not in asset_keys]


def _identity(kind: str) -> dict[str, str]:
    bands = KIND_BANDS[kind] + ((m,) if (m := KIND_MASK[kind]) else ())
    return {b: b for b in bands}


# Our own names (demo data and folders of COGs): canonical asset keys, any collection id.
DEMO_PROFILES = (
    CollectionProfile("cbm-s2", ".*", "s2", _identity("s2")),
    CollectionProfile("cbm-bs", ".*", "bs", _identity("bs")),
    CollectionProfile("cbm-c6", ".*", "c6", _identity("c6")),
)
EARTH_SEARCH_S2 = CollectionProfile(
    "earth-search-s2", r"sentinel-2(-c1)?-l2a", "s2",
    {"B02": "blue", "B03": "green", "B04": "red", "B05": "rededge1", "B08": "nir",
     "B11": "swir16", "SCL": "scl"},
)
CDSE_S2 = CollectionProfile(
    "cdse-s2", r"sentinel-2-l2a", "s2",
    {"B02": "B02_10m", "B03": "B03_10m", "B04": "B04_10m", "B05": "B05_20m", "B08": "B08_10m",
     "B11": "B11_20m", "SCL": "SCL_20m"},
)
BUILTIN_PROFILES: tuple[CollectionProfile, ...] = (*DEMO_PROFILES, EARTH_SEARCH_S2, CDSE_S2)

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
        ))
    return tuple(profiles)


def resolve_profiles(
    profile: CollectionProfile | Sequence[CollectionProfile] | str | Path | None,
    kind: str | None = None,
) -> tuple[CollectionProfile, ...]:
    """The candidate profiles of an import: the given ones (or the built-ins), of ``kind``.

    Args:
        profile: a profile, a sequence of profiles, a YAML file path, or None for the
            built-in profiles.
        kind: keep only profiles of this kind.

    Raises:
        InvalidInput: unknown kind, unreadable file, or no profile left.
    """
    if kind is not None and kind not in KIND_BANDS:
        raise InvalidInput(f"kind must be one of {', '.join(KIND_BANDS)}, not {kind!r}")
    if profile is None:
        profiles = BUILTIN_PROFILES
    elif isinstance(profile, CollectionProfile):
        profiles = (profile,)
    elif isinstance(profile, str | Path):
        profiles = load_profiles(profile)
    else:
        profiles = tuple(profile)
    selected = tuple(p for p in profiles if kind is None or p.kind == kind)
    if not selected:
        raise InvalidInput(f"no collection profile of kind {kind!r}")
    return selected


def choose_profile(
    profiles: Sequence[CollectionProfile], collection: str | None, asset_keys: set[str]
) -> CollectionProfile:
    """The first profile matching the collection whose required assets are all present.

    Raises:
        InvalidInput: no profile fits; the message names the missing assets of the closest one.
    """
    candidates = [p for p in profiles if p.matches(collection)]
    if not candidates:
        raise InvalidInput(f"no collection profile matches collection {collection!r}")
    for p in candidates:
        if not p.missing(asset_keys):
            return p

    def closeness(p: CollectionProfile) -> tuple[int, int]:  # most assets present, fewest missing
        missing = len(p.missing(asset_keys))
        return missing - len(p.canonical), missing

    best = min(candidates, key=closeness)
    raise InvalidInput(f"missing assets {', '.join(best.missing(asset_keys))} "
                       f"(profile {best.name})")
