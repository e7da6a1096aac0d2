"""The server stack of ``backend.api.serving`` (uvloop, httptools): pipelined keep-alive requests."""

from __future__ import annotations

import base64
import json
import socket
from urllib.parse import urlsplit

from apitools import Server

from backend.settings import DEMO_ADMIN_PASSWORD


def _read_response(sock: socket.socket, buf: bytearray) -> tuple[bytes, bytes]:
    """One HTTP/1.1 response with a Content-Length; what follows it stays in ``buf``."""
    while b"\r\n\r\n" not in buf:
        buf += sock.recv(65536)
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(
        b"content-length:")))
    while len(rest) < length:
        rest += sock.recv(65536)
    buf[:] = rest[length:]
    return head, rest[:length]


def test_pipelined_keep_alive_requests_answer_in_order(api: Server) -> None:
    url = urlsplit(api.url)
    auth = base64.b64encode(f"admin:{DEMO_ADMIN_PASSWORD}".encode()).decode()
    paths = ["/query/parcelByID?aoi=tt&year=2025&pid=A", "/health",
             "/query/parcelTimeSeries?aoi=tt&year=2025&pid=B&tstype=s2",
             "/query/parcelByID?aoi=tt&year=2025&pid=C"]
    request = "".join(f"GET {p} HTTP/1.1\r\nHost: t\r\nAuthorization: Basic {auth}\r\n\r\n" for p in paths)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(request.encode())
        buf = bytearray()
        answers = [_read_response(sock, buf) for _ in paths]
    assert all(head.startswith(b"HTTP/1.1 200") for head, _ in answers)
    bodies = [json.loads(body) for _, body in answers]
    assert bodies[0]["pid"] == ["A"] and bodies[3]["pid"] == ["C"]
    assert len(bodies[2]["band"]) > 0 and "hist" in bodies[2]
