"""Items kept as dicts (backend.catalogue.items) are what pystac would write, byte for byte.

The stored item JSON and its hash come from :func:`parse_item`; earlier versions stored
``pystac.Item.from_dict(d, href).to_dict(include_self_link=False, transform_hrefs=False)``.
Every real provider item, and the odd shapes pystac normalises (null titles and types, self
links, relative hrefs, composites, Windows separators), must give the same dict, the same
self href, datetime and absolute asset hrefs, and the same refusals.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pystac
import pytest
from realitems import REALDATA, real_item

from backend.catalogue.items import StacItem, from_pystac, parse_item
from backend.catalogue.validate import canonical_json

REAL = sorted(p.name for p in REALDATA.glob("*.json"))


def _pystac(doc: dict[str, Any], href: str | None) -> StacItem:
    item = pystac.Item.from_dict(copy.deepcopy(doc), href=href, preserve_dict=False)
    return from_pystac(item)


def _same(doc: dict[str, Any], href: str | None) -> StacItem:
    ours = parse_item(copy.deepcopy(doc), href)
    theirs = _pystac(doc, href)
    assert canonical_json(ours.doc) == canonical_json(theirs.doc)
    assert (ours.self_href, ours.datetime) == (theirs.self_href, theirs.datetime)
    for key in theirs.doc["assets"]:
        assert ours.absolute_href(key) == theirs.absolute_href(key), key
    return ours


def _odd_item() -> dict[str, Any]:
    doc = real_item("es-v1-s2l2a.json")
    doc["links"] = [{"rel": "self", "href": "https://x.test/items/a.json"},
                    {"rel": "parent", "href": "../collection.json", "title": None, "type": None},
                    {"rel": "license", "href": "https://x.test/lic", "type": "text/html", "x": 1}]
    doc["assets"]["red"].update({"title": None, "type": None, "description": None})
    doc["assets"]["green"]["href"] = "bands\\B03.tif"  # a Windows separator, relative
    doc["assets"]["blue"]["href"] = "./B02.tif"
    doc["collection"] = ""
    doc["extra_top_level"] = {"kept": True}
    return doc


@pytest.mark.filterwarnings("ignore::UserWarning")  # pystac's storage-extension migration note
@pytest.mark.parametrize("name", REAL)
@pytest.mark.parametrize("href", [None, "/data/items/item.json", "relative/item.json"])
def test_real_items_as_pystac_writes_them(name: str, href: str | None) -> None:
    doc = real_item(name)
    item = _same(doc, href)
    assert item.id == doc["id"] and item.assets.keys() == doc["assets"].keys()


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("href", [None, "/data/items/item.json"])
def test_odd_shapes_normalised_as_pystac_does(href: str | None) -> None:
    item = _same(_odd_item(), href)
    assert "title" not in item.assets["red"] and item.assets["green"]["href"] == "bands/B03.tif"
    assert all(link["rel"] != "self" for link in item.doc["links"])
    assert "collection" not in item.doc and item.doc["extra_top_level"] == {"kept": True}
    expected = "https://x.test/items/B02.tif" if href is None else "/data/items/B02.tif"
    assert item.absolute_href("blue") == expected


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_composite_and_datetime_rewritten_as_pystac_does() -> None:
    doc = real_item("pc-s2l2a.json")
    doc["properties"]["datetime"] = "2024-05-01T10:20:30.5+02:00"
    assert _same(doc, None).properties["datetime"] == "2024-05-01T10:20:30.500000+02:00"
    doc["properties"].update(datetime=None, start_datetime="2024-05-01T00:00:00Z",
                             end_datetime="2024-05-31T23:59:59Z")
    assert _same(doc, None).datetime is None


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("change", ["no_interval", "no_href", "not_feature", "no_version",
                                    "bad_datetime", "link_without_rel"])
def test_refused_where_pystac_refuses(change: str, tmp_path: Path) -> None:
    doc = real_item("es-v1-s2l2a.json")
    if change == "no_interval":
        doc["properties"]["datetime"] = None
    elif change == "no_href":
        del doc["assets"]["red"]["href"]
    elif change == "not_feature":
        doc["type"] = "Collection"
    elif change == "no_version":
        del doc["stac_version"]
    elif change == "bad_datetime":
        doc["properties"]["datetime"] = "not a date"
    else:
        doc["links"] = [{"href": "https://x.test/a"}]
    errors = (pystac.STACError, pystac.STACTypeError, ValueError, KeyError, TypeError,
              AttributeError)
    with pytest.raises(errors) as theirs:
        _pystac(doc, None)
    with pytest.raises(errors) as ours:
        parse_item(copy.deepcopy(doc), None)
    assert type(ours.value) is type(theirs.value) and str(ours.value) == str(theirs.value)
