"""A tiny STAC API on loopback for tests (not product code).

Implements what pystac-client needs: the landing page with conformance classes,
``/conformance``, ``/collections``, ``/collections/{id}`` and ``/search`` (GET and POST) with
``collections``, ``bbox``, ``datetime``, ``ids``, ``limit``, the query extension for
``eo:cloud_cover`` (optional) and ``next``-link pagination with a ``token`` offset.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CONFORMANCE = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/item-search",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
]
QUERY_CONFORMANCE = "https://api.stacspec.org/v1.0.0/item-search#query"
_OPS = {"lt": lambda a, b: a < b, "lte": lambda a, b: a <= b, "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b, "eq": lambda a, b: a == b}


def _parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _in_range(item: dict[str, Any], value: str) -> bool:
    when = _parse_time(item["properties"]["datetime"])
    start, _, end = value.partition("/") if "/" in value else (value, "", value)
    if start not in ("", "..") and when < _parse_time(start):
        return False
    return end in ("", "..") or when <= _parse_time(end)


def _in_bbox(item: dict[str, Any], bbox: list[float]) -> bool:
    w, s, e, n = item["bbox"]
    return not (e < bbox[0] or w > bbox[2] or n < bbox[1] or s > bbox[3])


def _matches_query(item: dict[str, Any], query: dict[str, Any]) -> bool:
    for prop, ops in query.items():
        value = item["properties"].get(prop)
        if value is None or not all(_OPS[op](value, ref) for op, ref in ops.items()):
            return False
    return True


class StacApi:
    """Serve ``items`` (STAC item dicts) on 127.0.0.1; use as a context manager."""

    def __init__(self, items: list[dict[str, Any]], *, query_ext: bool = True,
                 max_page: int = 2) -> None:
        self.items = items
        self.query_ext = query_ext
        self.max_page = max_page
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> StacApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------------ documents
    def landing(self) -> dict[str, Any]:
        conforms = CONFORMANCE + ([QUERY_CONFORMANCE] if self.query_ext else [])
        geojson = "application/geo+json"
        return {
            "type": "Catalog", "id": "test-api", "stac_version": "1.0.0",
            "description": "test STAC API", "conformsTo": conforms,
            "links": [
                {"rel": "self", "href": self.url + "/", "type": "application/json"},
                {"rel": "root", "href": self.url + "/", "type": "application/json"},
                {"rel": "conformance", "href": self.url + "/conformance"},
                {"rel": "data", "href": self.url + "/collections"},
                {"rel": "search", "href": self.url + "/search", "type": geojson, "method": "GET"},
                {"rel": "search", "href": self.url + "/search", "type": geojson, "method": "POST"},
            ],
        }

    def collection(self, cid: str) -> dict[str, Any]:
        return {
            "type": "Collection", "id": cid, "stac_version": "1.0.0", "description": cid,
            "license": "proprietary",
            "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                       "temporal": {"interval": [[None, None]]}},
            "links": [{"rel": "self", "href": f"{self.url}/collections/{cid}"},
                      {"rel": "root", "href": self.url + "/"}],
        }

    def collection_ids(self) -> list[str]:
        return sorted({i["collection"] for i in self.items if i.get("collection")})

    def search(self, params: dict[str, Any], method: str) -> dict[str, Any]:
        found = [i for i in self.items if self._selected(i, params)]
        limit = min(int(params.get("limit") or 10), self.max_page)
        offset = int(params.get("token") or 0)
        page = found[offset:offset + limit]
        links = []
        if offset + limit < len(found):
            nxt = {**params, "token": offset + limit}
            if method == "POST":
                links.append({"rel": "next", "href": self.url + "/search", "method": "POST",
                              "body": nxt})
            else:
                query = urllib.parse.urlencode(
                    {k: json.dumps(v) if isinstance(v, dict) else v for k, v in nxt.items()})
                links.append({"rel": "next", "href": f"{self.url}/search?{query}",
                              "method": "GET"})
        return {"type": "FeatureCollection", "features": page, "links": links,
                "numberMatched": len(found), "numberReturned": len(page)}

    def _selected(self, item: dict[str, Any], params: dict[str, Any]) -> bool:
        if params.get("collections") and item.get("collection") not in params["collections"]:
            return False
        if params.get("ids") and item["id"] not in params["ids"]:
            return False
        if params.get("bbox") and not _in_bbox(item, params["bbox"]):
            return False
        if params.get("datetime") and not _in_range(item, params["datetime"]):
            return False
        return not (self.query_ext and params.get("query")
                    and not _matches_query(item, params["query"]))

    # ------------------------------------------------------------------ HTTP
    def _route(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, Any]:
        self.requests.append((method, path, params))
        if path in ("", "/"):
            return 200, self.landing()
        if path == "/conformance":
            return 200, {"conformsTo": self.landing()["conformsTo"]}
        if path == "/collections":
            return 200, {"collections": [self.collection(c) for c in self.collection_ids()],
                         "links": []}
        if path.startswith("/collections/"):
            cid = path.split("/")[2]
            if cid in self.collection_ids():
                return 200, self.collection(cid)
        if path == "/search":
            return 200, self.search(params, method)
        return 404, {"code": "NotFound", "description": path}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                params: dict[str, Any] = dict(urllib.parse.parse_qsl(url.query))
                for key in ("collections", "ids"):
                    if key in params:
                        params[key] = params[key].split(",")
                if "bbox" in params:
                    params["bbox"] = [float(v) for v in params["bbox"].split(",")]
                if "query" in params:
                    params["query"] = json.loads(params["query"])
                self._send(*api._route("GET", url.path, params))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                self._send(*api._route("POST", urllib.parse.urlsplit(self.path).path, body))

            def _send(self, status: int, doc: Any) -> None:
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
