"""Error bodies the JRC client survives on the raw-chip routes.

The client reads a raw-chip answer with ``pandas.read_json`` whatever the status, and
``{"detail": ...}`` makes it crash. :class:`RawChipRoute` keeps the app's status table (same
status and headers) but answers ``{"dates": [], "chips": [], "detail": "<one line>"}``: the
client then finds no chip and carries on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def one_line(detail: object) -> str:
    """A validation error list (``[{loc, msg}]``) or a message as one line of text."""
    if isinstance(detail, list):
        parts = []
        for err in detail:
            loc = [str(p) for p in err.get("loc", ()) if p not in ("query", "body")]
            parts.append(f"{'.'.join(loc) or 'request'}: {err.get('msg', 'invalid')}")
        return "; ".join(parts)
    return str(detail)


class RawChipRoute(APIRoute):
    """An ``APIRoute`` whose error answers carry empty ``dates`` and ``chips`` columns."""

    def get_route_handler(self) -> Handler:
        """FastAPI's handler, with errors rewritten after the app's status table."""
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:  # re-raised unless the status table maps it
                return await readable_error(request, exc)

        return route


async def readable_error(request: Request, exc: Exception) -> Response:
    """The app's answer to ``exc`` with the body ``{"dates": [], "chips": [], "detail": "..."}``.

    Exceptions the status table does not map (only its catch-all ``Exception`` handler would)
    are re-raised: they stay 500s, logged with their traceback by the app.
    """
    handlers = request.app.exception_handlers
    found = next((c for c in type(exc).__mro__ if c in handlers), Exception)
    if found is Exception:
        raise exc
    handler = handlers[found]
    answer: Response = await handler(request, exc)
    try:
        detail = json.loads(bytes(answer.body)).get("detail", "")
    except (ValueError, AttributeError):
        detail = ""
    headers = {k: v for k, v in answer.headers.items() if k.lower() not in ("content-length", "content-type")}
    body = {"dates": [], "chips": [], "detail": one_line(detail)}
    return JSONResponse(body, status_code=answer.status_code, headers=headers)
