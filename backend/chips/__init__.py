"""Image chips and backgrounds rendered with rio-tiler from the catalogued COGs.

PNG chips (true colour, false colour, NDVI, single bands, S1 in dB) for people, raw GeoTIFF
chips for analysts, backgrounds, a disk cache and signed URLs for credential-less downloads.
See :func:`render_png`, :func:`render_geotiff`, :func:`png_chips`, :func:`raw_chips`,
:func:`background`, :func:`sign` and :func:`verify`.
"""

from backend.chips.background import background
from backend.chips.render import (
    chip_geotiff_file,
    chip_png_file,
    cloud_fraction,
    render_geotiff,
    render_png,
)
from backend.chips.service import Chip, ChipFile, png_chips, raw_chips, select_images
from backend.chips.signing import InvalidToken, sign, verify
from backend.chips.spec import ChipSpec, Stretch

__all__ = [
    "Chip",
    "ChipFile",
    "ChipSpec",
    "InvalidToken",
    "Stretch",
    "background",
    "chip_geotiff_file",
    "chip_png_file",
    "cloud_fraction",
    "png_chips",
    "raw_chips",
    "render_geotiff",
    "render_png",
    "select_images",
    "sign",
    "verify",
]
