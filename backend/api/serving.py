"""How uvicorn serves the API, the same for ``cbm serve``, the API tests and the bench.

uvloop and the httptools parser (uvicorn picks them when installed; here it is explicit so that
every server of ours runs the same stack); no uvicorn access log: our middleware writes one
line per request with its id. A protocol that coalesces the head and body writes of a response
into one ``send`` was measured (bench/api.py: 0.66 vs 0.70 ms server CPU per time-series
request, within the noise of a shared machine) and not kept: it reached into uvicorn internals.

Several workers (:func:`serve_workers`): uvicorn's own supervisor gives all workers one
listening socket, and the worker that wakes first accepts every pending connection, so when
clients connect together one worker may get 15 of 16 keep-alive connections and their
requests queue on one core while the other idles (bench/api.py prints this spread). Here each
worker listens on its own ``SO_REUSEPORT`` socket on the same port and the kernel spreads new
connections over them by a hash of the client address and port (Linux).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import time
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from typing import Any

import uvicorn

from backend.errors import CbmError

HTTP_PROTOCOL = "httptools"
# keyword arguments of uvicorn.run / Config (the same as the CLI flags the bench passes)
UVICORN_OPTIONS: dict[str, Any] = {"loop": "uvloop", "http": HTTP_PROTOCOL, "access_log": False}
QUICK_EXIT_S = 60.0  # a worker that exits sooner after its start (the pool waits 30 s for the DB) ...
MAX_QUICK_EXITS = 3  # ... this many times in a row stops the server (it cannot start)
STOP_GRACE_S = 30.0  # SIGTERM -> SIGKILL for workers finishing their requests

log = logging.getLogger("backend.api.serving")


def reuseport_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` with ``SO_REUSEPORT`` (not listening yet)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _worker(config: uvicorn.Config) -> None:
    """Child process: configure logging, listen on an own socket of the shared port, serve."""
    config.configure_logging()
    sock = reuseport_socket(config.host, config.port)
    uvicorn.Server(config).run(sockets=[sock])


def _check_port_free(host: str, port: int) -> None:
    """Refuse a port that something already listens on (a reuseport bind would join it)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.settimeout(1)
        if probe.connect_ex((host, port)) == 0:
            raise CbmError(f"{host}:{port} is in use by another server: stop it or choose --port")
    try:
        reuseport_socket(host, port).close()
    except OSError as exc:
        raise CbmError(f"cannot listen on {host}:{port}: {exc.strerror}; "
                       "choose another --host/--port") from exc


def serve_workers(config: uvicorn.Config) -> None:
    """Run ``config.workers`` worker processes, each with its own listening socket; restart dead ones.

    SIGINT/SIGTERM stop them (each finishes its requests, see uvicorn's graceful shutdown);
    a worker that keeps exiting right after its start (e.g. the database is unreachable) stops
    the server with an error instead of restarting in a loop.

    Raises:
        CbmError: the port is in use, or workers cannot start.
    """
    _check_port_free(config.host, config.port)
    spawn = multiprocessing.get_context("spawn")
    stop = {"signal": 0}

    def on_signal(signum: int, _frame: Any) -> None:
        stop["signal"] = signum

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    workers: dict[int, tuple[BaseProcess, float]] = {}
    quick_exits = 0
    log.info("serving on http://%s:%d with %d workers (one SO_REUSEPORT socket each)",
             config.host, config.port, config.workers)
    try:
        while not stop["signal"]:
            for slot in range(config.workers):
                if slot not in workers:
                    child = spawn.Process(target=_worker, args=(config,), name=f"cbm-api-{slot}")
                    child.start()
                    workers[slot] = child, time.monotonic()
            wait([p.sentinel for p, _ in workers.values()], timeout=1.0)
            for slot, (proc, started) in list(workers.items()):
                if proc.exitcode is None:
                    continue
                del workers[slot]
                quick_exits = quick_exits + 1 if time.monotonic() - started < QUICK_EXIT_S else 0
                log.warning("worker %s (pid %s) exited with code %s%s", slot, proc.pid, proc.exitcode,
                            "" if stop["signal"] else ": restarting it")
                if quick_exits >= MAX_QUICK_EXITS:
                    raise CbmError(f"API workers exit right after starting ({quick_exits} times in a row): "
                                   "see the log above (database reachable? settings valid?)")
    finally:
        _stop_all([p for p, _ in workers.values()])
        for s, handler in previous.items():
            signal.signal(s, handler)


def _stop_all(procs: list[BaseProcess]) -> None:
    """SIGTERM every worker, then SIGKILL those still running after ``STOP_GRACE_S``."""
    for proc in procs:
        if proc.exitcode is None:
            proc.terminate()
    deadline = time.monotonic() + STOP_GRACE_S
    for proc in procs:
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.exitcode is None:
            log.warning("worker pid %s still running %g s after SIGTERM: killing it", proc.pid, STOP_GRACE_S)
            proc.kill()
            proc.join(5)
