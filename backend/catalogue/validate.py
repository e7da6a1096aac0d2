"""Check one STAC item and turn it into an image record for the catalogue.

An item is kept when: a collection profile finds at least one band in it (L1C and GRD are
refused, see :mod:`backend.catalogue.mapping`), it has a datetime or a start/end interval
(a composite), its footprint
is (or is repaired into) a lon/lat (Multi)Polygon, every band asset href is absolute, and
the CRS and transform of every band asset are known. Those come from the projection
extension (asset fields over item fields) when present; otherwise the asset's header is opened
through :mod:`backend.storage` (no pixels are read). Call inside ``storage.raster_env``.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import pystac
import shapely
from affine import Affine
from rasterio.crs import CRS
from rasterio.errors import CRSError, NotGeoreferencedWarning
from rasterio.transform import from_bounds
from shapely.geometry import MultiPolygon, shape

from backend.catalogue.bands import check_distinct
from backend.catalogue.items import StacItem, from_pystac
from backend.catalogue.mapping import BandMap, choose
from backend.catalogue.profiles import DEFAULT_COLLECTION, CollectionProfile
from backend.errors import InvalidInput
from backend.storage import open_raster

log = logging.getLogger(__name__)

_CRS_KEYS = ("proj:code", "proj:epsg", "proj:wkt2", "proj:projjson")
_ABSOLUTE_LINK = ("http://", "https://", "s3://")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")  # an href with a scheme is absolute as it is


@dataclass(frozen=True)
class ImageRecord:
    """A validated item, ready for the ``images`` table."""

    item_id: str
    collection: str
    kind: str
    datetime: dt.datetime  # the acquisition, or the nominal date of a composite
    footprint: bytes  # WKB of a MultiPolygon in EPSG:4326
    cloud_cover: float | None
    epsg: int | None
    bands: tuple[str, ...]
    item: dict[str, Any]
    item_hash: str
    hrefs: Mapping[str, str]  # canonical band (mask included) -> absolute href
    provider: str = ""
    profile: str = ""
    platform: str | None = None
    orbit_state: str | None = None
    relative_orbit: int | None = None
    tile: str | None = None
    mask: str = "none"
    start_datetime: dt.datetime | None = None
    end_datetime: dt.datetime | None = None
    item_json: str = ""  # canonical JSON text of ``item``: what was hashed, stored as it is


def canonical_json(item: Mapping[str, Any]) -> str:
    """The canonical JSON text of an item dict (orjson: sorted keys, no whitespace, UTF-8)."""
    try:
        return orjson.dumps(item, option=orjson.OPT_SORT_KEYS, default=str).decode()
    except TypeError:  # e.g. an integer beyond 64 bits
        return _stdlib_json(item)


def item_hash(item: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of an item dict (sorted keys, no whitespace)."""
    return _sha256(canonical_json(item))


def legacy_item_hash(item: Mapping[str, Any]) -> str:
    """The item hash of catalogues written before the orjson one (stdlib ``json`` text).

    The two texts differ only in number formats (``1e-05`` / ``0.00001``), so the hashes of
    items with such numbers differ: a stored legacy hash is recognised, not taken for a change.
    """
    return _sha256(_stdlib_json(item))


def _stdlib_json(item: Mapping[str, Any]) -> str:
    return json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def validate_item(
    item: StacItem | pystac.Item, profiles: Sequence[CollectionProfile],
    collection: str | None = None, *, memo: dict[bytes, BandMap] | None = None,
) -> ImageRecord:
    """Validate a STAC item and build its image record.

    Args:
        item: the item (asset hrefs may be relative to the item's own location); its dict
            becomes the stored item JSON.
        profiles: candidate collection profiles, in order of preference.
        collection: collection id for items that have none.
        memo: band maps by item shape, kept for one import (see :func:`~backend.catalogue.
            mapping.choose`).

    Raises:
        InvalidInput: the item cannot be catalogued; the message says why.
        ImageReadError: an asset header had to be read and could not be.
    """
    if isinstance(item, pystac.Item):
        item = from_pystac(item)
    collection = item.collection_id or collection
    doc = item.doc  # to store
    bmap = choose(profiles, collection, item.id, item.properties, doc["assets"], memo=memo)
    when, start, end = item_times(item)
    footprint = _footprint(item.geometry)
    hrefs = _absolute_hrefs(item, {r.asset for r in bmap.refs.values()})
    check_distinct(bmap.refs, hrefs)
    canonical = {band: hrefs[ref.asset] for band, ref in bmap.refs.items()}
    item_proj = {k: item.properties[k] for k in _GRID_KEYS if k in item.properties}
    epsgs = {key: _check_grid(item, item_proj, key, hrefs[key]) for key in dict.fromkeys(
        ref.asset for ref in bmap.refs.values())}
    _complete(doc, hrefs, bmap)
    text = canonical_json(doc)
    first = bmap.refs[bmap.bands[0]].asset
    return ImageRecord(
        item_id=item.id, collection=collection or DEFAULT_COLLECTION[bmap.profile.kind],
        kind=bmap.profile.kind, datetime=when, footprint=shapely.to_wkb(footprint),
        cloud_cover=_cloud_cover(item), epsg=epsgs[first], bands=bmap.bands,
        item=doc, item_hash=_sha256(text), item_json=text, hrefs=canonical,
        provider=bmap.profile.provider,
        profile=bmap.profile.name, mask=bmap.mask, start_datetime=start, end_datetime=end,
        **provenance(item.properties),
    )


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def item_times(item: StacItem) -> tuple[dt.datetime, dt.datetime | None, dt.datetime | None]:
    """(nominal datetime, start, end): a composite with ``datetime: null`` is dated mid-interval.

    Raises:
        InvalidInput: no datetime and no complete start/end interval, or start after end.
    """
    props = item.properties
    try:
        start = _utc(pystac.utils.str_to_datetime(props["start_datetime"])) \
            if props.get("start_datetime") else None
        end = _utc(pystac.utils.str_to_datetime(props["end_datetime"])) \
            if props.get("end_datetime") else None
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"unreadable start_datetime/end_datetime: {exc}") from None
    if start and end and start > end:
        raise InvalidInput(f"start_datetime {start:%Y-%m-%dT%H:%M:%SZ} is after end_datetime")
    if item.datetime is not None:
        return _utc(item.datetime), start, end
    if start is None or end is None:
        raise InvalidInput("no datetime: give 'datetime', or both 'start_datetime' and "
                           "'end_datetime' for a composite")
    return start + (end - start) / 2, start, end


def provenance(props: Mapping[str, Any]) -> dict[str, Any]:
    """Platform, orbit direction, relative orbit and tile of an item (None when not stated)."""
    orbit = str(props.get("sat:orbit_state") or "").lower()
    rel = props.get("sat:relative_orbit")
    tile = props.get("grid:code") or props.get("s2:mgrs_tile") or props.get("mgrs:grid_square")
    if isinstance(tile, str) and tile.startswith("MGRS-"):
        tile = tile[5:]
    platform = props.get("platform")
    return {
        "platform": str(platform).lower() if platform else None,
        "orbit_state": orbit if orbit in ("ascending", "descending") else None,
        "relative_orbit": int(rel) if isinstance(rel, int | float) and not isinstance(rel, bool) else None,
        "tile": str(tile) if tile else None,
    }


def _footprint(geometry: Mapping[str, Any] | None) -> MultiPolygon:
    """The item geometry as a valid lon/lat MultiPolygon (repaired when invalid)."""
    if not geometry:
        raise InvalidInput("no footprint geometry")
    try:
        geom = shape(geometry)
    except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.ShapelyError) as exc:
        raise InvalidInput(f"unreadable footprint geometry: {exc}") from None
    if geom.is_empty:
        raise InvalidInput("empty footprint geometry")
    if not geom.is_valid:
        log.info("repairing invalid footprint: %s", shapely.is_valid_reason(geom))
        geom = shapely.make_valid(geom)
    parts = [p for p in shapely.get_parts(shapely.get_parts(geom))
             if p.geom_type == "Polygon" and not p.is_empty]
    if not parts:
        raise InvalidInput(f"footprint is a {geom.geom_type}, not a polygon")
    footprint = MultiPolygon(parts)
    w, s, e, n = footprint.bounds
    if not (-180 <= w <= e <= 180 and -90 <= s <= n <= 90):
        raise InvalidInput(f"footprint bounds {footprint.bounds} are not lon/lat degrees")
    return footprint


def _absolute_hrefs(item: StacItem, required: set[str]) -> dict[str, str]:
    """Asset key -> absolute href (relative hrefs resolved against the item's location).

    Only the ``required`` assets must resolve; other relative hrefs are left out.
    """
    hrefs = {}
    for key, asset in item.assets.items():
        href = asset["href"] if _URL.match(asset["href"]) else item.absolute_href(key)
        if href is None and key not in required:
            continue
        if href is None:
            raise InvalidInput(f"asset {key}: relative href {asset['href']!r} and no item location")
        hrefs[key] = href
    return hrefs


_GRID_KEYS = (*_CRS_KEYS, "proj:transform", "proj:shape", "proj:bbox")
_UNDECLARED = -1  # the projection fields do not give both a CRS and a transform


def _grid_fields(item: StacItem, item_proj: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The projection fields that fix an asset's grid (asset fields over item fields)."""
    fields = {k: item_proj[k] for k in _GRID_KEYS if k in item_proj}
    extra = item.assets[key]  # the grid fields are extra fields of the asset
    fields.update({k: extra[k] for k in _GRID_KEYS if k in extra})
    return fields


def _proj_crs(fields: Mapping[str, Any]) -> CRS | None:
    """CRS from projection-extension fields, None when there is none."""
    for key in _CRS_KEYS:
        value = fields.get(key)
        if value is None:
            continue
        text = json.dumps(value, sort_keys=True) if key == "proj:projjson" else value
        try:
            return _crs(key, text)
        except (CRSError, ValueError, TypeError):
            raise InvalidInput(f"unreadable CRS {key}={value!r}") from None
    return None


@functools.lru_cache(maxsize=256)
def _crs(key: str, value: Any) -> CRS:
    """A CRS from one projection field (parsed once per distinct value: PROJ lookups are slow)."""
    if key == "proj:epsg":
        return CRS.from_epsg(int(value))
    return CRS.from_user_input(value)


def _proj_transform(fields: Mapping[str, Any]) -> Affine | None:
    """Geotransform from projection-extension fields, None when there is none."""
    try:
        if fields.get("proj:transform") is not None:
            values = [float(v) for v in fields["proj:transform"]]
            if len(values) not in (6, 9):
                raise ValueError("needs 6 or 9 numbers")
            transform = Affine(*values[:6])
        elif fields.get("proj:shape") and fields.get("proj:bbox"):
            rows, cols = (int(v) for v in fields["proj:shape"])
            transform = from_bounds(*(float(v) for v in fields["proj:bbox"][:4]), cols, rows)
        else:
            return None
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"unreadable proj:transform/proj:bbox: {exc}") from None
    if transform.is_degenerate:
        raise InvalidInput("degenerate proj:transform")
    return transform


@functools.lru_cache(maxsize=4096)
def _declared_epsg(fields_json: bytes) -> int | None:
    """EPSG code (or None) of a grid declared by projection fields, ``_UNDECLARED`` if incomplete.

    Keyed by the fields' JSON: the assets of one tile share their grid across dates, so the
    CRS and transform are checked once per distinct grid (a refusal is not cached).
    """
    fields = orjson.loads(fields_json)
    crs = _proj_crs(fields)
    if crs is None or _proj_transform(fields) is None:
        return _UNDECLARED
    return crs.to_epsg()


def _grid_key(fields: Mapping[str, Any]) -> bytes:
    try:
        return orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # e.g. an integer beyond 64 bits
        return _stdlib_json(fields).encode()


def _check_grid(item: StacItem, item_proj: Mapping[str, Any], key: str, href: str) -> int | None:
    """Check the CRS and transform of an asset are known; return its EPSG code (or None)."""
    epsg = _declared_epsg(_grid_key(_grid_fields(item, item_proj, key)))
    if epsg != _UNDECLARED:
        return epsg
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with open_raster(href) as src:
            crs, transform = src.crs, src.transform
    if crs is None:
        raise InvalidInput(f"asset {key}: no CRS in {href}")
    if transform.is_identity or transform.is_degenerate:
        raise InvalidInput(f"asset {key}: no geotransform in {href}")
    return crs.to_epsg()


def _cloud_cover(item: StacItem) -> float | None:
    value = item.properties.get("eo:cloud_cover")
    if isinstance(value, int | float) and 0 <= value <= 100:
        return float(value)
    if value is not None:
        log.warning("item %s: ignoring eo:cloud_cover %r (not within 0..100)", item.id, value)
    return None


def _complete(doc: dict[str, Any], hrefs: Mapping[str, str], bmap: BandMap) -> None:
    """Make an item's JSON the one to store: absolute asset hrefs, absolute links only, band mapping."""
    for key, href in hrefs.items():
        doc["assets"][key]["href"] = href
    doc["links"] = [link for link in doc.get("links", [])
                    if str(link.get("href", "")).startswith(_ABSOLUTE_LINK)]
    doc["properties"].update(bmap.properties())
