"""A STAC item read as pystac reads it, kept as its dict (no ``pystac.Item`` is built).

Building a ``pystac.Item`` (an ``Asset`` and a ``Link`` object per entry, a self link made
absolute against the working directory) and writing it back with ``to_dict`` was a third of
the CPU time of cataloguing a real item. :func:`parse_item` gives the dict that
``Item.from_dict(d, href).to_dict(include_self_link=False, transform_hrefs=False)`` gives, by
the same steps on the dict: pystac's own migration to the latest STAC version, then the
normalisation of ``to_dict`` (datetime re-written by pystac, ``None`` titles, types and
descriptions of assets and links left out, hrefs in posix style, self links dropped). The
stored item JSON and its hash are therefore those of earlier versions, byte for byte
(``tests/test_catalogue_items.py`` compares both ways on every real item).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from copy import copy
from dataclasses import dataclass
from typing import Any

import pystac
from pystac.serialization import identify_stac_object, migrate_to_latest
from pystac.utils import (
    datetime_to_str,
    is_absolute_href,
    make_absolute_href,
    make_posix_style,
    str_to_datetime,
)

_SELF = "self"
_NO_INTERVAL = ("Invalid Item: If datetime is None, a start_datetime and end_datetime "
                "must be supplied.")  # pystac's own message


@dataclass(frozen=True)
class StacItem:
    """An item as the dict pystac would write, with what pystac would know about it."""

    doc: dict[str, Any]  # as ``Item.to_dict(include_self_link=False, transform_hrefs=False)``
    self_href: str | None  # where the item was read from (relative asset hrefs resolve to it)
    datetime: dt.datetime | None  # ``properties.datetime`` parsed, None for a composite

    @property
    def id(self) -> str:
        """The item id."""
        return self.doc["id"]

    @property
    def collection_id(self) -> str | None:
        """The collection the item names, if any."""
        return self.doc.get("collection")

    @property
    def properties(self) -> dict[str, Any]:
        """The item's properties."""
        return self.doc["properties"]

    @property
    def geometry(self) -> dict[str, Any] | None:
        """The item's GeoJSON geometry."""
        return self.doc["geometry"]

    @property
    def assets(self) -> dict[str, dict[str, Any]]:
        """Asset key -> asset dict."""
        return self.doc["assets"]

    def absolute_href(self, key: str) -> str | None:
        """The absolute href of an asset (as ``Asset.get_absolute_href``), None if it has none."""
        href = self.doc["assets"][key]["href"]
        if is_absolute_href(href, self.self_href):
            return href
        return make_absolute_href(href, self.self_href) if self.self_href is not None else None


def parse_item(d: dict[str, Any], href: str | None) -> StacItem:
    """An item from its JSON dict (migrated in place: give a dict nobody else holds).

    Raises:
        pystac.STACError, ValueError, KeyError, TypeError, AttributeError: what
            ``pystac.Item.from_dict`` raises for the same dict.
    """
    d = migrate_to_latest(d, identify_stac_object(d))
    if not pystac.Item.matches_object_type(d):
        raise pystac.STACTypeError(d, pystac.Item)
    props = d.get("properties", {})
    when = props.get("datetime")
    when = str_to_datetime(when) if when is not None else None
    if when is None and ("start_datetime" not in props or "end_datetime" not in props):
        raise pystac.STACError(_NO_INTERVAL)
    links = d.get("links", [])
    self_href = make_absolute_href(href) if href is not None else _self_link(links)
    return StacItem(_to_dict(d, props, when, links, href), self_href, when)


def from_pystac(item: pystac.Item) -> StacItem:
    """The same view of a ``pystac.Item`` (e.g. one built for a folder of COGs)."""
    return StacItem(item.to_dict(include_self_link=False, transform_hrefs=False),
                    item.get_self_href(), item.datetime)


_OWN_FIELDS = ("id", "geometry", "bbox", "stac_extensions", "collection", "links", "assets",
               "properties", "type", "stac_version")


def _to_dict(d: Mapping[str, Any], props: dict[str, Any], when: dt.datetime | None,
             links: list[Any], href: str | None) -> dict[str, Any]:
    """What ``Item.to_dict(include_self_link=False, transform_hrefs=False)`` writes."""
    kept = [_link(link) for link in links if href is None or link.get("rel", None) != _SELF]
    props["datetime"] = datetime_to_str(when) if when is not None else None
    out: dict[str, Any] = {
        "type": "Feature",
        "stac_version": pystac.get_stac_version(),
        "stac_extensions": d.get("stac_extensions") or [],
        "id": d.get("id"),
        "geometry": d.get("geometry"),
        "bbox": d["bbox"] if d.get("bbox") is not None else [],
        "properties": props,
        "links": [link for link in kept if link["rel"] != _SELF],
        "assets": {k: _asset(v) for k, v in d.get("assets", {}).items()},
    }
    if d.get("collection"):
        out["collection"] = d["collection"]
    out.update((k, v) for k, v in d.items() if k not in _OWN_FIELDS)
    if not out["geometry"]:
        out.pop("bbox")
    return out


def _self_link(links: list[Any]) -> str | None:
    """The absolute href of the first self link (pystac makes it absolute when reading)."""
    for link in links:
        if link["rel"] == _SELF:
            return make_absolute_href(_href(link["href"]))
    return None


def _href(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"href {value!r} is not a string")
    return value


def _asset(value: dict[str, Any]) -> dict[str, Any]:
    """``Asset.from_dict(value).to_dict()``."""
    rest = copy(value)
    out: dict[str, Any] = {"href": make_posix_style(rest.pop("href"))}
    for key in ("type", "title", "description"):
        if (field := rest.pop(key, None)) is not None:
            out[key] = field
    roles = rest.pop("roles", None)
    if any(rest):
        out.update(rest)
    if roles is not None:
        out["roles"] = roles
    return out


def _link(value: dict[str, Any]) -> dict[str, Any]:
    """``Link.from_dict(value).to_dict(transform_href=False)`` (a self link keeps its href)."""
    rest = copy(value)
    rel = rest.pop("rel")
    href = _href(rest.pop("href"))
    out: dict[str, Any] = {"rel": str(rel),
                           "href": make_absolute_href(href) if rel == _SELF else make_posix_style(href)}
    if (media_type := rest.pop("type", None)) is not None:
        out["type"] = str(media_type)
    if (title := rest.pop("title", None)) is not None:
        out["title"] = title
    if any(rest):
        out.update(rest)
    return out
