"""Background sources by name: XYZ/WMTS tile templates, local orthophotos, the S2 catalogue.

``settings.chip_background_sources`` maps a name to either

* an XYZ/WMTS URL template with ``{z} {x} {y}`` (or ``{TileMatrix} {TileCol} {TileRow}``) in
  the GoogleMapsCompatible grid, read through GDAL's WMS driver, or
* a raster file GDAL can open (a local orthophoto COG or VRT, ``s3://...``, a COG over
  ``https://``): no placeholders. A relative path is relative to ``CBM_VAR_DIR``.

Two more sources need no configuration: ``s2``, a true-colour chip of the least cloudy
Sentinel-2 image of the catalogue holding the point, and, in demo mode, ``demo_ortho``, the
SYNTHETIC orthophoto-like layer ``cbm demo run`` writes (only once it exists). Names are
matched case-insensitively; an unknown name is refused with the list of configured ones, never
answered with another source's image.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from backend.errors import InvalidInput
from backend.settings import Settings

S2_SOURCE = "s2"
DEMO_SOURCE = "demo_ortho"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_TEMPLATE = re.compile(r"\{(z|x|y|TileMatrix|TileRow|TileCol)\}")
_REMOTE = ("s3://", "/vsi", "http://", "https://", "gs://", "az://")
Kind = Literal["xyz", "raster", "s2"]


class UnknownSource(InvalidInput):
    """A background ``tms`` that is not configured."""


@dataclass(frozen=True)
class Source:
    """One background source.

    Attributes:
        name: lower-case name (what ``tms`` selects; the served file is ``<name>.tif``).
        kind: ``xyz`` (tile template), ``raster`` (orthophoto file) or ``s2`` (catalogue).
        href: the template or the raster's path/URL (empty for ``s2``).
    """

    name: str
    kind: Kind
    href: str = ""

    def describe(self) -> dict[str, str]:
        """What ``/query/info`` tells about the source (no URLs: they may hold keys)."""
        text = {"xyz": "XYZ/WMTS tile service", "raster": "orthophoto raster file",
                "s2": "least cloudy Sentinel-2 true colour from the catalogue"}[self.kind]
        if self.name == DEMO_SOURCE:
            text = "SYNTHETIC orthophoto-like layer of the demo area (generated, not real imagery)"
        return {"name": self.name, "kind": self.kind, "description": text}


def demo_orthophoto_path(settings: Settings) -> Path:
    """Where ``cbm demo run`` writes the synthetic orthophoto."""
    return settings.var_dir / "demo" / "orthophoto" / f"{DEMO_SOURCE}.tif"


def parse_source(settings: Settings, name: str, value: str) -> Source:
    """A configured source from its name and template or path.

    Raises:
        InvalidInput: the name is not a short lower-case word, or the value is empty.
    """
    key = name.strip().lower()
    if not NAME_PATTERN.match(key):
        raise InvalidInput(f"background source name {name!r}: use letters, digits, '_' or '-' (max 40)")
    href = value.strip()
    if not href:
        raise InvalidInput(f"background source {name!r} has no URL template or raster path")
    if _TEMPLATE.search(href):
        return Source(key, "xyz", href)
    if not href.startswith(_REMOTE) and not Path(href).is_absolute():
        href = str(settings.var_dir / href)
    return Source(key, "raster", href)


def configured(settings: Settings) -> dict[str, Source]:
    """Every source this server offers, by lower-case name (configured ones override built-ins)."""
    out = {S2_SOURCE: Source(S2_SOURCE, "s2")}
    demo = demo_orthophoto_path(settings)
    if settings.demo_mode and demo.is_file():
        out[DEMO_SOURCE] = Source(DEMO_SOURCE, "raster", str(demo))
    for name, value in settings.chip_background_sources.items():
        source = parse_source(settings, name, value)
        out[source.name] = source
    return out


def resolve(settings: Settings, tms: str) -> Source:
    """The source a ``tms`` parameter names (case-insensitive).

    Raises:
        UnknownSource: no source of that name; the message lists the configured ones.
    """
    sources = configured(settings)
    source = sources.get(tms.strip().lower())
    if source is None:
        raise UnknownSource(f"tms {tms.strip()[:40]!r} is not a background source of this server; "
                            f"configured: {', '.join(sorted(sources))} "
                            "(an administrator adds more with CBM_CHIP_BACKGROUND_SOURCES)")
    return source
