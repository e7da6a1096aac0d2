"""What a chip shows: location, size, style and stretch, as self-validating value objects.

Styles:

* ``truecolor`` (B04 B03 B02), ``falsecolor`` (B08 B04 B03), or any JRC-style triple of bands
  joined by ``_`` (``B08_B04_B03``); the first band sets the resolution.
* ``ndvi``: (B08 - B04) / (B08 + B04) through a red-yellow-green colour map.
* one band (``B04``, ``VV``, ``VH``, ``COH_VV``...): greyscale; S1 backscatter is shown in dB.

Stretch (``lut``): ``"5_95"`` stretches between the 5th and 95th percentile of each band of
the chip (the JRC default); ``"minmax:0_3000"`` between explicit values (dB for S1, NDVI units
for ``ndvi``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NoReturn

import numpy as np

from backend.catalogue.profiles import KIND_BANDS, KIND_MASK
from backend.errors import InvalidInput

STYLES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "truecolor": ("B04", "B03", "B02"),
    "falsecolor": ("B08", "B04", "B03"),
    "ndvi": ("B08", "B04"),
})
ALIASES: Mapping[str, str] = MappingProxyType({"B2": "B02", "B3": "B03", "B4": "B04", "B5": "B05",
                                               "B8": "B08"})
HARD_MAX_SIZE = 8192  # the largest CBM_API_MAX_CHIP_SIZE
DEFAULT_LUT = "5_95"
# Explicit default ranges (style or band -> (low, high)); S1 in dB.
DEFAULT_RANGES: Mapping[str, tuple[float, float]] = MappingProxyType({
    "ndvi": (0.0, 1.0), "VV": (-25.0, 0.0), "VH": (-30.0, -5.0),
    "COH_VV": (0.0, 1.0), "COH_VH": (0.0, 1.0),
})
DB_BANDS = frozenset({"VV", "VH"})


def band_kind(band: str) -> str:
    """The image kind (``s2``, ``bs``, ``c6``) that has a canonical band.

    Raises:
        InvalidInput: no kind has this band.
    """
    for kind, bands in KIND_BANDS.items():
        if band in bands or band == KIND_MASK[kind]:
            return kind
    known = ", ".join(b for bs in KIND_BANDS.values() for b in bs)
    raise InvalidInput(f"unknown band {band!r}; known bands: {known}")


def normalise_band(band: str) -> str:
    """Canonical band name (upper case, ``B4`` -> ``B04``)."""
    name = band.strip().upper()
    return ALIASES.get(name, name)


@dataclass(frozen=True)
class Stretch:
    """A linear stretch to 0..255: between percentiles of the chip, or explicit values.

    Attributes:
        low: lower percentile (0..100) or value.
        high: upper percentile or value (> low).
        percentile: True when low/high are percentiles of the chip's valid pixels.
    """

    low: float
    high: float
    percentile: bool = True

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low >= self.high:
            raise InvalidInput(f"stretch needs low < high, got {self.low} and {self.high}")
        if self.percentile and not 0 <= self.low < self.high <= 100:
            raise InvalidInput(f"percentile stretch must be within 0..100, got {self.low}_{self.high}; "
                               "write explicit values as 'minmax:<low>_<high>'")

    @classmethod
    def parse(cls, lut: str) -> Stretch:
        """Parse ``"5_95"`` (percentiles) or ``"minmax:-25_0"`` (values).

        Raises:
            InvalidInput: the text is neither form.
        """
        text = lut.strip()
        explicit = text.lower().startswith("minmax:")
        parts = (text[7:] if explicit else text).split("_")
        try:
            low, high = (float(p) for p in parts) if len(parts) == 2 else (math.nan, math.nan)
        except ValueError:
            low = high = math.nan
        if math.isnan(low) or math.isnan(high):
            cls._bad(lut)
        return cls(low, high, percentile=not explicit)

    @staticmethod
    def _bad(lut: str) -> NoReturn:
        raise InvalidInput(f"bad lut {lut!r}: use percentiles like '5_95' or values like 'minmax:0_3000'")

    def bounds(self, values: np.ndarray) -> tuple[float, float]:
        """Input range of the stretch for one band's valid values."""
        if not self.percentile:
            return self.low, self.high
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return 0.0, 1.0
        low, high = np.percentile(finite, [self.low, self.high])
        return float(low), float(high) if high > low else float(low) + 1.0

    def __str__(self) -> str:
        return f"{self.low:g}_{self.high:g}" if self.percentile else f"minmax:{self.low:g}_{self.high:g}"


@dataclass(frozen=True)
class ChipSpec:
    """One chip: a square around a WGS84 location, in a style.

    Attributes:
        lon: longitude (degrees, -180..180).
        lat: latitude (degrees, -90..90).
        size: side in pixels (1..8192; deployments limit it further with a setting).
        style: ``truecolor``, ``falsecolor``, ``ndvi``, one band, or three bands joined by ``_``.
        lut: stretch (see :class:`Stretch`); None = the style's default.
        extent_m: ground side in metres; None = the native resolution of the first band
            (pixel-exact chips snapped to the image grid).
    """

    lon: float
    lat: float
    size: int = 256
    style: str = "truecolor"
    lut: str | None = None
    extent_m: float | None = None
    bands: tuple[str, ...] = field(init=False)
    stretch: Stretch = field(init=False)

    def __post_init__(self) -> None:
        if not _number_in(self.lon, -180, 180):
            raise InvalidInput(f"lon must be a number within -180..180, got {self.lon!r}")
        if not _number_in(self.lat, -90, 90):
            raise InvalidInput(f"lat must be a number within -90..90, got {self.lat!r}")
        if not (isinstance(self.size, int) and _number_in(self.size, 1, HARD_MAX_SIZE)):
            raise InvalidInput(f"size must be an integer number of pixels within 1..{HARD_MAX_SIZE}, "
                               f"got {self.size!r}")
        if self.extent_m is not None and not (math.isfinite(self.extent_m) and self.extent_m > 0):
            raise InvalidInput(f"extent_m must be a positive number, got {self.extent_m!r}")
        style, bands = _parse_style(self.style)
        object.__setattr__(self, "style", style)
        object.__setattr__(self, "bands", bands)
        object.__setattr__(self, "stretch", self._default_stretch() if self.lut is None
                           else Stretch.parse(self.lut))

    def _default_stretch(self) -> Stretch:
        rng = DEFAULT_RANGES.get(self.style) or (DEFAULT_RANGES.get(self.bands[0])
                                                 if len(self.bands) == 1 else None)
        return Stretch(*rng, percentile=False) if rng else Stretch.parse(DEFAULT_LUT)

    @property
    def kind(self) -> str:
        """Image kind the chip is drawn from (``s2``, ``bs``, ``c6``)."""
        return band_kind(self.bands[0])

    @property
    def mode(self) -> str:
        """``rgb``, ``ndvi`` or ``single``."""
        return "ndvi" if self.style == "ndvi" else ("rgb" if len(self.bands) == 3 else "single")

    def cache_parts(self) -> tuple[object, ...]:
        """The parts of the spec that change the pixels (location excluded)."""
        return (self.style, str(self.stretch), self.size, self.extent_m)


def _number_in(value: object, low: float, high: float) -> bool:
    """True for a finite int or float (not bool) within [low, high]."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return ok and low <= value <= high  # type: ignore[operator]


def _parse_style(style: str) -> tuple[str, tuple[str, ...]]:
    """Normalised style name and its bands."""
    if not isinstance(style, str) or not style.strip():
        raise InvalidInput("style must be a non-empty string")
    name = style.strip().lower()
    if name in STYLES:
        return name, STYLES[name]
    bands = tuple(normalise_band(b) for b in style.replace(",", "_").split("_") if b.strip())
    bands = _rejoin_coherence(bands)
    if len(bands) not in (1, 3):
        raise InvalidInput(f"style {style!r}: give one band or three bands joined by '_' "
                           f"(e.g. B08_B04_B03), or one of {', '.join(STYLES)}")
    kinds = {band_kind(b) for b in bands}
    if len(kinds) > 1:
        raise InvalidInput(f"style {style!r} mixes bands of different image kinds")
    return "_".join(bands), bands


def _rejoin_coherence(bands: tuple[str, ...]) -> tuple[str, ...]:
    """``COH_VV`` contains the separator: join ``COH`` back to the band that follows."""
    out: list[str] = []
    for band in bands:
        if out and out[-1] == "COH":
            out[-1] = f"COH_{band}"
        else:
            out.append(band)
    return tuple(out)
