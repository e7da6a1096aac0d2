"""A small fault-injecting HTTP proxy on loopback, in front of the moto S3 server.

One request per client connection (the proxy answers with ``Connection: close``). For each
request, ``schedule(n)`` (n = 0, 1, ...) names the fault: ``pass``, ``5xx`` (503 SlowDown without
contacting the upstream), ``stall`` (read the request, say nothing for ``stall_s``, then close:
longer than GDAL's timeout) or ``drop`` (forward, then close after half of the response body).
``delay_s`` adds a latency to every forwarded request; ``bytes_sent`` counts what clients received.
Everything is bounded: sockets time out, stalls end, ``stop()`` joins the accept thread.
"""

from __future__ import annotations

import collections
import socket
import threading
from collections.abc import Callable

SLOW_DOWN = (b"<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>injected</Message></Error>")


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += conn.recv(65536)
    lines = [ln for ln in head.split(b"\r\n") if not ln.lower().startswith(b"connection:")]
    return b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + body


def _recv_all(sock: socket.socket) -> bytes:
    parts = []
    while chunk := sock.recv(65536):
        parts.append(chunk)
    return b"".join(parts)


class FaultProxy:
    """See the module docstring. ``injected`` counts faults by kind, ``requests`` all requests."""

    def __init__(self, upstream: str, schedule: Callable[[int], str], stall_s: float = 3.0,
                 delay_s: float = 0.0) -> None:
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.schedule, self.stall_s = schedule, stall_s
        self.delay_s = delay_s  # latency added to every forwarded request (object-store round trip)
        self.bytes_sent = 0  # response bytes (head + body) sent to the clients
        self.injected: collections.Counter[str] = collections.Counter()
        self.requests = 0
        self.armed = True  # False: pass everything through (e.g. while cataloguing)
        self._lock, self._stop = threading.Lock(), threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.endpoint = f"127.0.0.1:{self._server.getsockname()[1]}"
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self._server.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _next_fault(self) -> str:
        if not self.armed:
            return "pass"
        with self._lock:
            n, self.requests = self.requests, self.requests + 1
            kind = self.schedule(n)
            if kind != "pass":
                self.injected[kind] += 1
        return kind

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        with conn:
            try:
                request = _read_request(conn)
                if request:
                    self._answer(conn, request, self._next_fault())
            except OSError:
                pass  # the client gave up (e.g. its timeout during a stall)

    def _answer(self, conn: socket.socket, request: bytes, kind: str) -> None:
        if kind == "5xx":
            conn.sendall(b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nConnection: close\r\n"
                         + f"Content-Length: {len(SLOW_DOWN)}\r\n\r\n".encode() + SLOW_DOWN)
            return
        if kind == "stall":
            self._stop.wait(self.stall_s)
            return
        if self.delay_s:
            self._stop.wait(self.delay_s)
        with socket.create_connection(self.upstream, timeout=10) as up:
            up.sendall(request)
            response = _recv_all(up)
        if kind == "drop":
            head, _, body = response.partition(b"\r\n\r\n")
            response = head + b"\r\n\r\n" + body[: len(body) // 2]
        conn.sendall(response)
        with self._lock:
            self.bytes_sent += len(response)
