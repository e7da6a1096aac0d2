"""One pure-ASGI middleware: request id, security headers, default Cache-Control, timeout, access log.

* Request id: the client's ``X-Request-ID`` if it is a short token, else a new one; it is put in
  ``scope["state"]["request_id"]``, in a context variable that the log record factory adds to
  every record (``%(request_id)s``), and in the response header.
* Security headers on every response; ``Cache-Control: no-store`` unless the route set one
  (immutable responses set their own).
* A request running longer than ``api_request_timeout_s`` gets 504 (SQL statements are also
  bounded by the same ``statement_timeout``, so the worker thread is freed too). The deadline is
  an ``asyncio.timeout`` scope on the request's own task: no extra task per request.
* One access-log line per request: method, path (no query string), status, ms, user, id.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import os
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("backend.api.access")
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_RID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
_DOCS_PATHS = ("/docs", "/redoc")
_CSP = b"default-src 'none'; frame-ancestors 'none'"


def install_log_record_factory() -> None:
    """Give every log record a ``request_id`` attribute (``-`` outside requests); idempotent."""
    old = logging.getLogRecordFactory()
    if getattr(old, "_cbm_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = old(*args, **kwargs)
        record.request_id = request_id_var.get()
        return record

    factory._cbm_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to records that lack it (a handler filter: no record factory needed)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Set the attribute from the current request's context (``-`` outside requests)."""
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class RequestContextMiddleware:
    """See the module docstring."""

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app, self.timeout_s = app, timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection scope."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = self._request_id(scope)
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id_var.set(rid)
        started, status = time.perf_counter(), [0]
        path = scope.get("path", "")

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = self._headers(list(message.get("headers", [])), rid, path)
            await send(message)

        try:
            async with asyncio.timeout(self.timeout_s):
                await self.app(scope, receive, send_wrapper)
        except TimeoutError:
            if status[0] == 0:
                status[0] = 504
                await self._timeout_response(send_wrapper)
        finally:
            ms = (time.perf_counter() - started) * 1000
            user = scope["state"].get("user", "-")
            log.info("%s %s %d %.1fms user=%s", scope.get("method"), path, status[0], ms, user)
            request_id_var.reset(token)

    @staticmethod
    def _request_id(scope: Scope) -> str:
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                text = value.decode("latin-1")
                if _RID.match(text):
                    return text
        return os.urandom(8).hex()

    @staticmethod
    def _headers(headers: list[tuple[bytes, bytes]], rid: str, path: str) -> list[tuple[bytes, bytes]]:
        names = {n.lower() for n, _ in headers}
        headers.append((b"x-request-id", rid.encode()))
        headers.extend(h for h in SECURITY_HEADERS if h[0] not in names)
        if b"cache-control" not in names:
            headers.append((b"cache-control", b"no-store"))
        if not path.startswith(_DOCS_PATHS) and b"content-security-policy" not in names:
            headers.append((b"content-security-policy", _CSP))
        return headers

    async def _timeout_response(self, send: Send) -> None:
        body = json.dumps({"detail": f"request took longer than the limit api_request_timeout_s="
                                     f"{self.timeout_s:g} s"}).encode()
        await send({"type": "http.response.start", "status": 504,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
