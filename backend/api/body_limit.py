"""Request body limit, enforced before authentication and before the body is read.

FastAPI reads (and spools) a multipart body before it resolves the route's dependencies, so an
upload route alone cannot refuse a 2 GB body without the server first receiving it, and its
password check would run only after that. This pure-ASGI middleware runs before any route:

* a declared ``Content-Length`` above the limit is answered 413 at once, without reading a byte
  of the body (uvicorn then closes the connection instead of draining it);
* a body without a length (chunked) is counted as the application reads it; the read that goes
  over the limit answers 413 and tells the application that the client went away, so at most
  the limit plus one chunk is ever held.

The limit is ``photo_max_bytes`` plus room for the multipart envelope on ``POST /photos`` and
``api_max_body_bytes`` on every other route. With every body bounded so, :func:`parts_in_memory`
lets Starlette keep uploaded parts in memory instead of spooling those above 1 MB to a temporary
file and reading them back (bench/photos.py: 11 of the 17 ms of server CPU that receiving a 5 MB
photo costs, and the disk writes).
"""

from __future__ import annotations

import json
import re

from starlette.formparsers import MultiPartParser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.settings import Settings

MULTIPART_SLACK = 64 * 1024  # boundaries, part headers and the small form fields around the photo
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Uploads of files bounded by CBM_PHOTO_MAX_BYTES: photos and the QA inspections' attachments.
_FILE_UPLOADS = re.compile(r"/photos|/sets/[^/]+/[^/]+/qa/inspections/[0-9]+/attachments")


def limit_for(settings: Settings, path: str) -> tuple[int, str]:
    """The largest body a request to ``path`` may send, and the setting that says so."""
    if _FILE_UPLOADS.fullmatch(path.rstrip("/")):
        return settings.photo_max_bytes + MULTIPART_SLACK, "CBM_PHOTO_MAX_BYTES"
    return settings.api_max_body_bytes, "CBM_API_MAX_BODY_BYTES"


def parts_in_memory(settings: Settings) -> None:
    """Keep multipart file parts up to the largest allowed body in memory (process-wide).

    Only sound behind :class:`BodyLimitMiddleware`, which bounds every body (and so every part).
    """
    largest = max(settings.photo_max_bytes + MULTIPART_SLACK, settings.api_max_body_bytes)
    MultiPartParser.spool_max_size = max(MultiPartParser.spool_max_size, largest)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class _CountedBody:
    """The receive and send of one request whose body is counted as the application reads it."""

    def __init__(self, receive: Receive, send: Send, limit: int, setting: str) -> None:
        self._receive, self._send, self.limit, self.setting = receive, send, limit, setting
        self.seen, self.refused, self.started = 0, False, False

    async def receive(self) -> Message:
        """The next message; a disconnect once the body went over the limit (413 answered)."""
        message = await self._receive()
        if message["type"] != "http.request" or self.refused:
            return message
        self.seen += len(message.get("body", b""))
        if self.seen <= self.limit:
            return message
        self.refused = True
        if not self.started:
            await _refuse(self._send, None, self.limit, self.setting)
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        """Pass the application's messages on, none after a 413."""
        if not self.refused:
            self.started = True
            await self._send(message)


class BodyLimitMiddleware:
    """See the module docstring."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app, self.settings = app, settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse an over-limit body before the application sees it."""
        if scope["type"] != "http" or scope.get("method") not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        limit, setting = limit_for(self.settings, scope.get("path", ""))
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, declared, limit, setting)
            return
        body = _CountedBody(receive, send, limit, setting)
        try:
            await self.app(scope, body.receive, body.send)
        except Exception:
            if not body.refused:
                raise  # the application's own failure; after a 413 it only saw the client leave


async def _refuse(send: Send, declared: int | None, limit: int, setting: str) -> None:
    what = f"declares {declared} bytes" if declared is not None else "sends a body"
    body = json.dumps({"detail": f"the request {what}, more than the limit of {limit} bytes ({setting}); "
                                 "nothing was stored: send a smaller file"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
