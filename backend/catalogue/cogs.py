"""STAC items from a local folder of COGs (built with rio-stac from the file headers).

Convention: one GeoTIFF per band, grouped into items by name, searched recursively:

* ``<item_id>/<ASSET>.tif`` - a folder per item, a file per asset, or
* ``<item_id>_<ASSET>.tif`` - anywhere under the folder.

``ASSET`` is an asset key of the candidate profiles (``B01 ... B12 B8A SCL``, ``VV VH HH HV``,
``COH_VV COH_VH`` by default; the longest key wins, so ``x_COH_VV.tif`` is ``COH_VV``).
A multi-band file (e.g. a ``B02-B03-B04-B08-B11-B12`` mosaic) is read by its band
descriptions, which must name every band: ``<item_id>_B02-B03-B04-B08-B11-B12.tif`` (the
suffix is the descriptions joined by ``-``) or any name inside ``<item_id>/``. A multi-band
file without descriptions is refused (the band cannot be known).
The kind follows from the assets present (or the ``kind`` option). The acquisition time is
the first ``YYYYMMDD[THHMMSS]`` (or ``YYYY-MM-DD``) in the item id, else the
``TIFFTAG_DATETIME`` of the first asset; items with neither are rejected. Times are UTC.
Call inside ``storage.raster_env``.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pystac
import rasterio
from rasterio.errors import RasterioError
from rio_stac import create_stac_item
from rio_stac.stac import get_media_type, get_projection_info

from backend.catalogue.models import Rejection
from backend.errors import CbmError, InvalidInput
from backend.storage import open_raster

log = logging.getLogger(__name__)

_DATE = re.compile(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?:T(\d{2}):?(\d{2}):?(\d{2}))?(?!\d)")
_SUFFIXES = (".tif", ".tiff")


def name_datetime(name: str) -> dt.datetime | None:
    """The first ``YYYYMMDD[THHMMSS]`` or ``YYYY-MM-DD`` date in a name, as UTC, or None."""
    for match in _DATE.finditer(name):
        y, m, d, hh, mm, ss = (int(p) for p in match.groups(default="0"))
        try:
            return dt.datetime(y, m, d, hh, mm, ss, tzinfo=dt.UTC)
        except ValueError:
            continue
    return None


def split_name(path: Path, asset_keys: Iterable[str]) -> tuple[str, str] | None:
    """``(item_id, asset_key)`` of a COG file name, or None if it names no asset."""
    stem = path.stem
    keys = sorted(asset_keys, key=len, reverse=True)
    if stem in keys:
        return path.parent.name, stem
    for key in keys:
        if stem.endswith("_" + key) and len(stem) > len(key) + 1:
            return stem[: -len(key) - 1], key
    return None


def folder_items(
    root: Path, asset_keys: Iterable[str], collection: str | None
) -> Iterator[pystac.Item | Rejection]:
    """Build one item per group of COGs under ``root`` (see the module docstring).

    Yields:
        an item per group, or a :class:`Rejection` for an unusable file or group.
    """
    keys = set(asset_keys)
    groups: dict[str, dict[str, Path]] = {}
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in _SUFFIXES or not path.is_file():
            continue
        parsed = split_name(path, keys) or _multiband_name(path, root, keys)
        if isinstance(parsed, Rejection) or parsed is None:
            yield parsed or Rejection(str(path), "file name does not end with an asset name "
                                                 f"({', '.join(sorted(keys))})")
            continue
        item_id, key = parsed
        if key in groups.setdefault(item_id, {}):
            yield Rejection(str(path), f"second {key} file for item {item_id}")
            continue
        groups[item_id][key] = path
    for item_id, assets in groups.items():
        try:
            yield build_item(item_id, assets, collection)
        except CbmError as exc:
            yield Rejection(item_id, str(exc))


def band_names(src: rasterio.io.DatasetReader) -> list[str] | None:
    """The band descriptions of a multi-band file (None for a single-band file).

    Raises:
        InvalidInput: several bands and not every one described.
    """
    if src.count == 1:
        return None
    names = [(d or "").strip() for d in src.descriptions]
    if not all(names) or len(set(names)) != len(names):
        raise InvalidInput(f"{src.name} holds {src.count} bands without a distinct description "
                           "for each: describe them (e.g. rasterio's set_band_description, "
                           "'B02'...) or write one file per band")
    return names


def _multiband_name(path: Path, root: Path, keys: set[str]) -> tuple[str, str] | Rejection | None:
    """``(item_id, asset_key)`` of a multi-band file whose band descriptions name bands.

    The item id is the file name without a ``_<B1>-<B2>-...`` suffix of its band names (e.g.
    ``S2_20250412_B02-B03-B04-B08-B11-B12.tif``), else its folder (when below ``root``),
    else the file name; the asset key is the rest of the name (or the name).
    """
    try:
        with open_raster(str(path.resolve())) as src:
            names = band_names(src)
    except CbmError as exc:
        return Rejection(str(path), str(exc))
    if not names or not set(names) & keys:
        return None
    suffix = "_" + "-".join(names)
    if path.stem.endswith(suffix) and len(path.stem) > len(suffix):
        return path.stem[: -len(suffix)], suffix[1:]
    if path.parent != root:
        return path.parent.name, path.stem
    return path.stem, path.stem


def build_item(item_id: str, assets: Mapping[str, Path], collection: str | None) -> pystac.Item:
    """A STAC item for COG files (one per asset) with the projection extension filled in.

    Raises:
        InvalidInput: no datetime, or a file has no usable georeferencing.
        ImageReadError: a file cannot be opened.
    """
    keys = sorted(assets)
    first = keys[0]
    when = name_datetime(item_id)
    with open_raster(str(assets[first].resolve())) as src:
        if src.crs is None:
            raise InvalidInput(f"no CRS in {assets[first]}")
        when = when or _tag_datetime(src.tags().get("TIFFTAG_DATETIME"))
        if when is None:
            raise InvalidInput("no datetime: put YYYYMMDD[THHMMSS] in the name "
                               "or set TIFFTAG_DATETIME in the file")
        try:
            with warnings.catch_warnings():  # rio-stac parses TIFFTAG_DATETIME itself
                warnings.filterwarnings("ignore", message="Could not get parse date")
                item = create_stac_item(
                    src, input_datetime=when, id=item_id, collection=collection,
                    asset_name=first, asset_href=str(assets[first].resolve()),
                    asset_roles=["data"], with_proj=True,
                )
        except (RasterioError, ValueError) as exc:
            raise InvalidInput(f"cannot describe {assets[first]}: {exc}") from None
        names = band_names(src)
    if names:
        item.assets[first].extra_fields["bands"] = [{"name": n} for n in names]
    for key in keys[1:]:
        item.add_asset(key, _asset(assets[key]))
    return item


def _asset(path: Path) -> pystac.Asset:
    """An asset with its own projection fields (bands may differ in resolution).

    A multi-band file also gets its bands, named by the file's band descriptions.
    """
    href = str(path.resolve())
    with open_raster(href) as src:
        proj = get_projection_info(src)
        media_type = get_media_type(src)
        names = band_names(src)
    fields: dict[str, object] = {f"proj:{k}": v for k, v in proj.items()
                                 if k in ("epsg", "shape", "transform")}
    if names:
        fields["bands"] = [{"name": n} for n in names]
    return pystac.Asset(href=href, media_type=media_type, roles=["data"], extra_fields=fields)


def _tag_datetime(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.strptime(value.strip(), "%Y:%m:%d %H:%M:%S").replace(tzinfo=dt.UTC)
    except ValueError:
        log.warning("ignoring malformed TIFFTAG_DATETIME %r", value)
        return None
