"""tests/procs.py with real child processes on loopback: wait_http, stop, running."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from procs import free_port, running, stop, wait_http

SLEEP = [sys.executable, "-c", "import time; time.sleep(60)"]
# Ignores SIGTERM; says so on stdout once the handler is in place.
STUBBORN = [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(60)"]

# Answers every GET with 503 (a server still starting).
UNAVAILABLE = """import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_error(503)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()"""


Served = tuple[subprocess.Popen[bytes], str]



def http_server_cmd(port: int, directory: Path) -> list[str]:
    return [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
            "--directory", str(directory)]


@pytest.fixture()
def http_server(tmp_path: Path) -> Iterator[Served]:
    """``python -m http.server`` over a directory holding ``sub/``; yields it and its base URL."""
    (tmp_path / "sub").mkdir()
    port = free_port()
    proc = subprocess.Popen(http_server_cmd(port, tmp_path), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def test_wait_http_returns_once_the_server_answers(http_server: Served) -> None:
    proc, url = http_server
    wait_http(url + "/", proc, "http.server", 30)
    assert proc.poll() is None


def test_wait_http_takes_any_answer_but_5xx_by_default(http_server: Served) -> None:
    proc, url = http_server
    wait_http(url + "/missing", proc, "http.server", 30)  # 404 counts as answering
    wait_http(url + "/sub", proc, "http.server", 5, ok=lambda s: s == 301)  # redirect not followed


def test_wait_http_times_out_when_ok_refuses(http_server: Served) -> None:
    proc, url = http_server
    wait_http(url + "/", proc, "http.server", 30)
    expected = r"http.server not ready at .*/missing after 1 s \(last answer: HTTP 404\)"
    with pytest.raises(RuntimeError, match=expected):
        wait_http(url + "/missing", proc, "http.server", 1, ok=lambda s: s == 200)


def test_wait_http_does_not_take_a_server_error_for_ready() -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", UNAVAILABLE, str(port)], stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/", proc, "server", 30, ok=lambda s: s == 503)  # it is up
        with pytest.raises(RuntimeError, match=r"not ready .* after 1 s \(last answer: HTTP 503\)"):
            wait_http(f"http://127.0.0.1:{port}/", proc, "server", 1)
    finally:
        stop(proc)


def test_wait_http_fails_with_exit_code_and_log_tail(tmp_path: Path) -> None:
    log = tmp_path / "child.log"
    code = "import sys\nfor i in range(30): print('line', i)\nsys.exit(3)"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{free_port()}/"
    with pytest.raises(RuntimeError) as info:
        wait_http(url, proc, "the child", 30, log=log)
    message = str(info.value)
    assert f"the child exited with code 3 before answering at {url}" in message
    lines = message.splitlines()
    assert str(log) in lines[1]
    assert lines[-20:] == [f"line {i}" for i in range(10, 30)]


def test_wait_http_times_out_when_nothing_answers() -> None:
    proc = subprocess.Popen(SLEEP)
    url = f"http://127.0.0.1:{free_port()}/"
    t0 = time.monotonic()
    try:
        with pytest.raises(RuntimeError, match=r"not ready at .* after 0.5 s \(last answer: .*refused"):
            wait_http(url, proc, "sleeper", 0.5)
    finally:
        stop(proc)
    assert time.monotonic() - t0 < 3


def test_stop_kills_a_process_that_ignores_sigterm() -> None:
    proc = subprocess.Popen(STUBBORN, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    t0 = time.monotonic()
    stop(proc, grace_s=0.5)
    elapsed = time.monotonic() - t0
    assert proc.returncode == -signal.SIGKILL
    assert 0.5 <= elapsed < 2.5
    proc.stdout.close()


def test_stop_terminates_a_cooperative_process_at_once() -> None:
    proc = subprocess.Popen(SLEEP)
    t0 = time.monotonic()
    stop(proc, grace_s=30)
    assert proc.returncode == -signal.SIGTERM
    assert time.monotonic() - t0 < 5


def test_stop_is_a_no_op_on_an_exited_process() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.wait(30)
    stop(proc)
    stop(proc)
    assert proc.returncode == 3


def test_running_yields_a_ready_server_and_stops_it_after_an_error(tmp_path: Path) -> None:
    port = free_port()
    cmd = http_server_cmd(port, tmp_path)
    log = tmp_path / "server.log"
    with pytest.raises(ValueError, match="in the block"), \
            running(cmd, f"http://127.0.0.1:{port}/", "http.server", log=log) as proc:
        assert proc.poll() is None
        raise ValueError("in the block")
    assert proc.returncode == -signal.SIGTERM
    assert "GET / HTTP/1.1" in log.read_text()  # its output went to the log


def test_running_stops_a_process_that_never_gets_ready(tmp_path: Path) -> None:
    port = free_port()
    never = running(http_server_cmd(port, tmp_path), f"http://127.0.0.1:{port}/", "http.server", quiet=True,
                    timeout_s=1, ok=lambda s: False)
    with pytest.raises(RuntimeError, match="not ready"), never:
        pass
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
