"""Read STAC items from an import source.

A source is one of:

* an ``http(s)://`` URL of a STAC API (searched with pystac-client: collection, bbox,
  datetime range and ``eo:cloud_cover <= max_cloud`` through the query or filter extension
  when the API offers one), or of a static catalogue/collection/item JSON;
* a local STAC item, item collection (``FeatureCollection``), JSON array of items, catalogue
  or collection JSON file, an NDJSON file (``.ndjson``/``.jsonl``, one item per line), or a
  folder holding ``catalog.json`` / ``collection.json``;
* a local folder of item files (``.json``, ``.ndjson``; searched recursively);
* a local folder of COGs (see :mod:`backend.catalogue.cogs`), when it holds no JSON file.

A single raster file is refused with a message saying what to give instead.

Items are yielded as parsed; unreadable ones as :class:`Rejection`. The filter and the
collection are applied to every source (again after an API search, which may ignore some).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pystac
from pystac_client import Client, ConformanceClasses
from pystac_client.exceptions import APIError

from backend.catalogue.cogs import folder_items
from backend.catalogue.filters import ItemFilter
from backend.catalogue.items import StacItem, from_pystac, parse_item
from backend.catalogue.models import Rejection
from backend.catalogue.pipeline import read_ahead
from backend.errors import ImageReadError, InvalidInput, NotFound

log = logging.getLogger(__name__)

Entry = StacItem | Rejection
PAGE_SIZE = 100  # items per STAC API page asked for (servers may cap it)
_RASTER_SUFFIXES = (".tif", ".tiff", ".jp2", ".vrt", ".img", ".nc")
_JSON_SUFFIXES = (".json", ".ndjson", ".jsonl", ".geojsonl")


def read_source(
    source: str, *, collection: str | None, item_filter: ItemFilter, asset_keys: Iterable[str],
    on_skip: Callable[[StacItem], None] | None = None, page_size: int = PAGE_SIZE,
) -> Iterator[Entry]:
    """Yield the items of a source that pass the filter (and rejections).

    Args:
        source: URL, file or folder (see the module docstring).
        collection: only items of this collection; items without one are assigned to it.
        item_filter: bbox, date range and cloud cover limits.
        asset_keys: asset keys of the candidate profiles (to group the files of a COG folder).
        on_skip: called with each item left out by the collection or the filter.
        page_size: items per page of a STAC API search.

    Raises:
        InvalidInput: the source does not exist or is not a STAC document or folder.
        NotFound: the STAC API has no collection ``collection``.
        ImageReadError: the STAC API or a catalogue document cannot be read.
    """
    entries: Iterable[Entry | pystac.Item]
    if source.startswith(("http://", "https://")):
        entries = (_read_document(source) if source.lower().endswith(".json")
                   else _search(source, collection, item_filter, page_size))
    else:
        path = Path(source).expanduser()
        if not path.exists():
            raise InvalidInput(f"no such file or folder: {source}")
        entries = _read_local(path.resolve(), collection, asset_keys)
    for entry in entries:
        if isinstance(entry, pystac.Item):  # built for a folder of COGs
            entry = from_pystac(entry)
        if isinstance(entry, StacItem) and not _wanted(entry, collection, item_filter):
            log.debug("item %s is outside the requested collection/window", entry.id)
            if on_skip is not None:
                on_skip(entry)
            continue
        yield entry


def _wanted(item: StacItem, collection: str | None, item_filter: ItemFilter) -> bool:
    if collection and item.collection_id not in (None, collection):
        return False
    return item_filter.accepts(item)


def _read_local(path: Path, collection: str | None,
                asset_keys: Iterable[str]) -> Iterator[Entry | pystac.Item]:
    if path.is_file():
        if path.suffix.lower() in _RASTER_SUFFIXES:
            raise InvalidInput(f"{path} is a raster file, not a STAC document: give the folder "
                               "that holds it (a folder of COGs, one file per band or a multi-band "
                               "file with band descriptions, a date in the name), or a STAC item "
                               "that points at it")
        if path.suffix.lower() in (".ndjson", ".jsonl", ".geojsonl"):
            return _read_ndjson(path)
        return _read_document(str(path))
    for name in ("catalog.json", "collection.json"):
        if (path / name).is_file():
            return _read_document(str(path / name))
    documents = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in _JSON_SUFFIXES)
    if documents:
        return _read_documents(documents)
    return folder_items(path, asset_keys, collection)


def _read_documents(paths: Iterable[Path]) -> Iterator[Entry]:
    """Items of a folder of item / item-collection / NDJSON files; a bad file is a rejection."""
    for path in paths:
        try:
            if path.suffix.lower() == ".json":
                yield from _read_document(str(path))
            else:
                yield from _read_ndjson(path)
        except (InvalidInput, ImageReadError) as exc:
            yield Rejection(str(path), str(exc))


def _read_ndjson(path: Path) -> Iterator[Entry]:
    """One item per line (blank lines ignored); a bad line is a rejection naming its number."""
    try:
        lines = path.open("rb")
    except OSError as exc:
        raise ImageReadError(f"cannot read {path}: {exc}") from None
    with lines:
        for number, line in enumerate(lines, 1):
            if line.isspace() or not line:
                continue
            try:
                doc = orjson.loads(line)  # UTF-8 only, as NDJSON is
            except orjson.JSONDecodeError as exc:
                yield Rejection(f"{path}:{number}", f"not JSON: {exc}")
                continue
            if not isinstance(doc, dict) or doc.get("type") != "Feature":
                yield Rejection(f"{path}:{number}", "not a STAC item (type Feature)")
                continue
            yield _parse_item(doc, str(path))


def _read_document(href: str) -> Iterator[Entry]:
    """Items of a STAC item, item collection, catalogue or collection document."""
    doc = _read_json(href)
    if isinstance(doc, list):  # a JSON array of items
        for i, feature in enumerate(doc):
            yield (_parse_item(feature, href) if isinstance(feature, dict)
                   else Rejection(f"{href}[{i}]", "not a STAC item"))
        return
    kind = doc.get("type")
    if kind == "Feature":
        yield _parse_item(doc, href)
    elif kind == "FeatureCollection":
        for feature in doc.get("features") or []:
            yield _parse_item(feature, href)
    elif kind in ("Catalog", "Collection"):
        try:
            catalog = pystac.read_file(href)
        except (pystac.STACError, ValueError, KeyError, TypeError) as exc:
            raise InvalidInput(f"{href}: not a STAC {kind}: {exc}") from None
        assert isinstance(catalog, pystac.Catalog)
        yield from _walk(catalog)
    else:
        raise InvalidInput(f"{href}: not a STAC item, item collection, catalogue or collection "
                           f"(type {kind!r})")


def _walk(catalog: pystac.Catalog) -> Iterator[Entry]:
    """Every item under a static catalogue; an unreadable item is a rejection, not a failure."""
    for link in catalog.get_item_links():
        href = link.get_absolute_href() or link.href
        try:
            doc = _read_json(href)
        except (InvalidInput, ImageReadError) as exc:
            yield Rejection(href, str(exc))
            continue
        yield _parse_item(doc, href)
    for child in catalog.get_children():
        yield from _walk(child)


def _read_json(href: str) -> Any:
    """A JSON object or array (arrays hold items)."""
    try:
        text = pystac.StacIO.default().read_text(href)
    except OSError as exc:
        raise ImageReadError(f"cannot read {href}: {exc}") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{href} is not a JSON text file (a raster? give its folder)") from None
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"{href} is not JSON: {exc}") from None
    if not isinstance(doc, dict | list):
        raise InvalidInput(f"{href} is not a JSON object or array")
    return doc


class _Owned(dict[str, Any]):
    """A freshly parsed item dict that nobody else holds: pystac migrates it in place.

    ``migrate_to_latest`` migrates a deep copy of the dict it is given, which took two thirds
    of the time of reading a large real item; this dict is its own copy.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> _Owned:
        return self


def _parse_item(doc: dict[str, Any], href: str | None) -> Entry:
    """An item from its JSON (read as pystac reads it, relative hrefs against ``href``) or a rejection."""
    item_id = str(doc.get("id") or href or "?")
    props = doc.get("properties") or {}
    if not (props.get("datetime") or props.get("start_datetime")):
        return Rejection(item_id, "no datetime: give 'datetime', or 'start_datetime' and "
                                  "'end_datetime' for a composite")
    try:
        return parse_item(_Owned(doc), href)
    except (pystac.STACError, pystac.STACTypeError, ValueError, KeyError, TypeError,
            AttributeError) as exc:  # STACTypeError: not an item (e.g. a collection)
        return Rejection(item_id, f"not a valid STAC item: {exc}")


def _search(url: str, collection: str | None, item_filter: ItemFilter,
            page_size: int) -> Iterator[Entry]:
    """Search a STAC API page by page; static catalogues behind a URL are walked."""
    try:
        client = Client.open(url)
    except (APIError, pystac.STACError, OSError, ValueError) as exc:
        raise ImageReadError(f"cannot open STAC API {url}: {exc}") from None
    if not client.conforms_to(ConformanceClasses.ITEM_SEARCH):
        log.info("%s has no item search: walking it as a static catalogue", url)
        yield from _walk(client)
        return
    if collection:
        _check_collection(client, url, collection)
    search = client.search(
        collections=[collection] if collection else None, bbox=item_filter.bbox,
        datetime=item_filter.datetime_range, limit=page_size,
        **_cloud_params(client, item_filter.max_cloud),
    )
    try:  # the next pages are fetched while these items are validated and stored
        for doc in read_ahead(search.items_as_dicts(), depth=2 * page_size):
            yield _parse_item(doc, None)
    except (APIError, OSError) as exc:
        raise ImageReadError(f"STAC API search at {url} failed: {exc}") from None


def _check_collection(client: Client, url: str, collection: str) -> None:
    """Refuse a collection the API does not serve (its search would find nothing, silently)."""
    if not client.conforms_to(ConformanceClasses.COLLECTIONS):
        return
    try:
        if client.get_collection(collection) is not None:  # None (or an error) when absent
            return
    except (APIError, pystac.STACError, KeyError, ValueError) as exc:
        log.debug("collection %s of %s: %s", collection, url, exc)
    try:
        ids = sorted(c.id for c in client.get_collections())
    except (APIError, pystac.STACError, OSError, ValueError) as exc:
        raise ImageReadError(f"cannot list the collections of STAC API {url}: {exc}") from None
    if collection not in ids:
        raise NotFound(f"the STAC API {url} has no collection {collection!r}; it has: "
                       f"{', '.join(ids) or 'none'} (give one of them with --collection)")


def _cloud_params(client: Client, max_cloud: float | None) -> dict[str, Any]:
    """Server-side cloud filter via the query or filter extension (else filtered here)."""
    if max_cloud is None:
        return {}
    if client.conforms_to(ConformanceClasses.QUERY):
        return {"query": {"eo:cloud_cover": {"lte": max_cloud}}}
    if client.conforms_to(ConformanceClasses.FILTER):
        return {"filter": {"op": "<=", "args": [{"property": "eo:cloud_cover"}, max_cloud]},
                "filter_lang": "cql2-json"}
    return {}
