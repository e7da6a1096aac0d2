"""Pixel grids of image bands and chip windows on them.

A band's grid comes from the STAC projection fields of its asset (``proj:transform``,
``proj:shape``, ``proj:epsg``/``proj:code``), so a cached chip is found without touching the
image; when an item lacks them the file header is read once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from affine import Affine
from rasterio.crs import CRS
from rasterio.warp import transform as warp_transform

from backend import storage
from backend.catalogue.assets import CBM_ASSETS
from backend.errors import ImageReadError

Bounds = tuple[float, float, float, float]  # left, bottom, right, top
_EPS = 1e-6


@dataclass(frozen=True)
class BandGrid:
    """The north-up pixel grid of one band file."""

    crs: CRS
    transform: Affine
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.transform.b != 0 or self.transform.d != 0 or self.transform.e >= 0:
            raise ImageReadError(f"only north-up grids are supported, got {tuple(self.transform)[:6]}")

    @property
    def res(self) -> float:
        """Pixel width in CRS units."""
        return float(self.transform.a)

    def to_crs(self, lon: float, lat: float) -> tuple[float, float]:
        """A WGS84 point in this grid's CRS."""
        xs, ys = warp_transform("EPSG:4326", self.crs, [lon], [lat])
        return float(xs[0]), float(ys[0])

    def chip(self, x: float, y: float, size: int) -> tuple[int, int, Bounds]:
        """Window of ``size`` pixels whose pixel ``size // 2`` contains ``(x, y)``.

        Returns:
            Column and row offsets of the window and its bounds (may extend past the image).
        """
        t = self.transform
        col = math.floor((x - t.c) / t.a)
        row = math.floor((y - t.f) / t.e)
        col_off, row_off = col - size // 2, row - size // 2
        left, top = t.c + col_off * t.a, t.f + row_off * t.e
        return col_off, row_off, (left, top + size * t.e, left + size * t.a, top)

    def covering(self, bounds: Bounds) -> tuple[int, int, Bounds]:
        """Smallest whole-pixel window of this grid covering ``bounds``.

        Returns:
            Width and height in pixels, and the snapped bounds.
        """
        t = self.transform
        c0 = math.floor((bounds[0] - t.c) / t.a + _EPS)
        c1 = math.ceil((bounds[2] - t.c) / t.a - _EPS)
        r0 = math.floor((bounds[3] - t.f) / t.e + _EPS)
        r1 = math.ceil((bounds[1] - t.f) / t.e - _EPS)
        snapped = (t.c + c0 * t.a, t.f + r1 * t.e, t.c + c1 * t.a, t.f + r0 * t.e)
        return c1 - c0, r1 - r0, snapped


def band_grid(image: Mapping[str, Any], band: str, href: str) -> BandGrid:
    """Grid of a band of a catalogued image, from its STAC projection fields or its header.

    Open a GDAL environment first: the header is read when the item lacks projection fields.

    Args:
        image: a row of ``images`` with ``item`` (and ``epsg``).
        band: canonical band name.
        href: the band's href (opened only when the item lacks projection fields).

    Raises:
        ImageReadError: the file cannot be read, or its grid is rotated.
    """
    grid = grid_from_item(image, band)
    if grid is not None:
        return grid
    with storage.open_raster(href) as ds:
        return BandGrid(ds.crs, ds.transform, ds.width, ds.height)


def grid_from_item(image: Mapping[str, Any], band: str) -> BandGrid | None:
    """Grid of a band from the STAC projection fields of its asset (or item), or None."""
    item = image.get("item", {})
    key = (item.get("properties", {}).get(CBM_ASSETS) or {}).get(band, band)
    asset = item.get("assets", {}).get(key, {})
    fields = {**item.get("properties", {}), **asset}
    transform, shape = fields.get("proj:transform"), fields.get("proj:shape")
    code = fields.get("proj:code") or (f"EPSG:{fields['proj:epsg']}" if fields.get("proj:epsg") else None)
    if code is None and image.get("epsg"):
        code = f"EPSG:{image['epsg']}"
    if not (transform and shape and code) or len(transform) < 6:
        return None
    return BandGrid(CRS.from_user_input(code), Affine(*transform[:6]), int(shape[1]), int(shape[0]))
