"""The server stack of ``backend.api.serving`` (uvloop, httptools): pipelined keep-alive requests."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from apitools import PASSWORDS, Server
from procs import free_port, running

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


def _serve_env(settings: Settings, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "CBM_DEMO_MODE": "true", "CBM_VAR_DIR": str(tmp_path),
            "CBM_DATABASE_URL": settings.database_url.get_secret_value()}


CBM = str(Path(sys.executable).with_name("cbm"))


def _get_on_fresh_connections(port: int, rids: list[str]) -> list[bytes]:
    """Open one connection per request id at once, then send a request on each (as a client pool)."""
    auth = base64.b64encode(f"consumer:{PASSWORDS['consumer']}".encode()).decode()
    socks = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in rids]
    heads = []
    try:
        for sock, rid in zip(socks, rids, strict=True):
            sock.sendall(f"GET /query/info HTTP/1.1\r\nHost: t\r\nAuthorization: Basic {auth}\r\n"
                         f"X-Request-ID: {rid}\r\n\r\n".encode())
        for sock in socks:
            heads.append(_read_response(sock, bytearray())[0])
    finally:
        for sock in socks:
            sock.close()
    return heads


def _worker_pids(text: str) -> list[int]:
    return [int(p) for p in re.findall(r"Started server process \[(\d+)\]", text)]


def _wait_for(condition: Callable[[], bool], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_cbm_serve_two_workers(api_settings: Settings, tmp_path: Path) -> None:
    """``cbm serve --workers 2``: both workers take connections and log; a killed one is replaced."""
    port = free_port()
    log, url = tmp_path / "serve.log", f"http://127.0.0.1:{port}"
    with running([CBM, "serve", "--port", str(port), "--workers", "2"], f"{url}/health", "cbm serve",
                 env=_serve_env(api_settings, tmp_path), log=log) as proc:
        # both ready as the supervisor sees them (a started app it has no report from yet gets nothing)
        _wait_for(lambda: log.read_text().count(" takes connections") == 2)
        rids = [f"rid-ok-{i}" for i in range(16)]
        heads = _get_on_fresh_connections(port, rids)
        wrong = requests.get(f"{url}/query/info", auth=("consumer", "Wrong-Password-77"),
                             headers={"X-Request-ID": "rid-wrong"}, timeout=30)
        text = log.read_text()
        first = _worker_pids(text)
        os.kill(first[0], signal.SIGKILL)  # a crashed worker: the supervisor starts another
        _wait_for(lambda: log.read_text().count(" takes connections") == 3)
        after = _get_on_fresh_connections(port, [f"rid-after-{i}" for i in range(8)])
    assert proc.returncode == 0  # SIGTERM: workers finish, the supervisor exits cleanly
    assert all(h.startswith(b"HTTP/1.1 200") for h in heads + after) and wrong.status_code == 401
    # each request logged once, with its id, by the worker that served it; the connections opened
    # together are split evenly (the supervisor hands each to the least busy worker; a report
    # still counting the readiness probe's connection may shift one)
    final = log.read_text()
    served = {rid: int(pid) for pid, rid in re.findall(r" (\d+) INFO backend\.api\.access \[(rid-ok-\d+)\]: "
                                                         r"GET /query/info 200 ", final)}
    per_worker = Counter(served.values())
    assert sorted(served) == sorted(rids) and set(per_worker) == set(first)
    assert max(per_worker.values()) - min(per_worker.values()) <= 2, per_worker
    assert len(first) == 2
    assert "WARNING backend.api.deps [rid-wrong]: failed login for user 'consumer'" in final
    assert "backend.api.access [rid-wrong]: GET /query/info 401 " in final
    assert "Wrong-Password-77" not in final
    assert re.search(rf"worker \d \(pid {first[0]}\) exited with code -9: restarting it", final)
    assert len(_worker_pids(final)) == 3 and "rid-after-7" in final


def test_cbm_serve_refuses_a_port_in_use(api_settings: Settings, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        done = subprocess.run([CBM, "serve", "--port", str(port), "--workers", "2"], capture_output=True,
                              text=True, env=_serve_env(api_settings, tmp_path), timeout=60)
    assert done.returncode != 0 and f"127.0.0.1:{port} is in use" in done.stderr


def test_workers_that_cannot_start_stop_the_server() -> None:
    """A worker dying at start (here: the app cannot be imported) is not restarted forever."""
    import uvicorn

    from backend.api.serving import MAX_QUICK_EXITS, serve_workers
    from backend.errors import CbmError

    config = uvicorn.Config("backend.no_such_module:app", host="127.0.0.1", port=free_port(), workers=2,
                            log_config=None)
    started = time.monotonic()
    with pytest.raises(CbmError, match=f"exit right after starting \\({MAX_QUICK_EXITS} times in a row\\)"):
        serve_workers(config)
    assert time.monotonic() - started < 60
