"""The server stack of ``backend.api.serving`` (uvloop, httptools): pipelined keep-alive requests."""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

import requests
from apitools import PASSWORDS, Server

from backend.procs import free_port, running
from backend.settings import DEMO_ADMIN_PASSWORD, Settings


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


def test_cbm_serve_workers_log_each_request_with_its_id(api_settings: Settings, tmp_path: Path) -> None:
    """``cbm serve --workers 2``: the spawned workers log too (their logging is set up by uvicorn)."""
    port = free_port()
    env = {**os.environ, "CBM_DEMO_MODE": "true", "CBM_VAR_DIR": str(tmp_path),
           "CBM_DATABASE_URL": api_settings.database_url.get_secret_value()}
    cbm = Path(sys.executable).with_name("cbm")
    log, url = tmp_path / "serve.log", f"http://127.0.0.1:{port}"
    with running([str(cbm), "serve", "--port", str(port), "--workers", "2"], f"{url}/health", "cbm serve",
                 env=env, log=log):
        auth = ("consumer", PASSWORDS["consumer"])
        codes = [requests.get(f"{url}/query/info", auth=auth, headers={"X-Request-ID": f"rid-ok-{i}"},
                              timeout=30).status_code for i in range(8)]
        wrong = requests.get(f"{url}/query/info", auth=("consumer", "Wrong-Password-77"),
                             headers={"X-Request-ID": "rid-wrong"}, timeout=30)
    text = log.read_text()
    assert codes == [200] * 8 and wrong.status_code == 401
    assert len(set(re.findall(r"Started server process \[(\d+)\]", text))) == 2
    for i in range(8):
        assert f"backend.api.access [rid-ok-{i}]: GET /query/info 200 " in text
    assert "WARNING backend.api.deps [rid-wrong]: failed login for user 'consumer'" in text
    assert "backend.api.access [rid-wrong]: GET /query/info 401 " in text and "Wrong-Password-77" not in text
