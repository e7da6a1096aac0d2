"""How uvicorn serves the API: event loop, HTTP protocol and options, shared by ``cbm serve`` and the bench.

uvicorn's httptools protocol writes a response's head and its body with two ``transport.write``
calls; uvloop sends each at once, so a small JSON answer costs two ``send`` system calls, two
TCP segments and two wake-ups of the client. :class:`CoalescingHttpToolsProtocol` holds the
writes made during one event-loop step and sends them together at the end of the step
(``call_soon``): one segment per small response, same bytes, same order. Large or streamed
bodies still go out step by step, and flow control is unchanged (held bytes are at most what
one step wrote).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HTTP_PROTOCOL = "backend.api.serving:CoalescingHttpToolsProtocol"
# keyword arguments of uvicorn.run / Config (the same as the CLI flags the bench passes)
UVICORN_OPTIONS: dict[str, Any] = {"loop": "uvloop", "http": HTTP_PROTOCOL, "access_log": False}


class _CoalescingTransport:
    """A transport proxy whose writes within one event-loop step go out as one write."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport, self._loop = transport, loop
        self._held: list[bytes] | None = None

    def write(self, data: bytes) -> None:
        """Hold ``data`` until the end of this event-loop step."""
        if self._held is None:
            self._held = [data]
            self._loop.call_soon(self._flush)
        else:
            self._held.append(data)

    def _flush(self) -> None:
        held, self._held = self._held, None
        if held and not self._transport.is_closing():
            self._transport.write(b"".join(held))

    def close(self) -> None:
        """Send what is held, then close."""
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol writing through a :class:`_CoalescingTransport`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Wrap the connection's transport, then set up as uvicorn does."""
        proxy: Any = _CoalescingTransport(transport, self.loop)
        super().connection_made(proxy)
