"""How uvicorn serves the API, the same for ``cbm serve`` (and so the bench) and the API tests.

uvloop and the httptools parser (uvicorn picks them when installed; here it is explicit so that
every server of ours runs the same stack); no uvicorn access log: our middleware writes one
line per request with its id. A protocol that coalesces the head and body writes of a response
into one ``send`` was measured (bench/api.py: 0.66 vs 0.70 ms server CPU per time-series
request, within the noise of a shared machine) and not kept: it reached into uvicorn internals.

Several workers (:func:`serve_workers`): with uvicorn's own supervisor all workers share one
listening socket and the worker that wakes first accepts every pending connection, so when
clients connect together one worker may get 15 of 16 keep-alive connections, whose requests
then queue on one core while the other idles; one ``SO_REUSEPORT`` socket per worker (the
kernel hashes the client's address and port) still split 16 connections 12/4 at times. Here the
supervisor accepts and hands each connection (its file descriptor, over a UNIX socket) to the
worker with the fewest open connections, which serves it with uvicorn's own HTTP protocol. Each
worker reports its open connections when one closes and every 0.1 s; connections handed over
since its last report count too, so a burst is split evenly.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import logging
import multiprocessing
import selectors
import signal
import socket
import struct
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Any

import uvicorn

from backend.errors import CbmError

# keyword arguments of uvicorn.Config, for cbm serve and the API tests alike
UVICORN_OPTIONS: dict[str, Any] = {"loop": "uvloop", "http": "httptools", "access_log": False}
QUICK_EXIT_S = 60.0  # a worker that exits sooner after its start (the pool waits 30 s for the DB) ...
MAX_QUICK_EXITS = 3  # ... this many times in a row stops the server (it cannot start)
STOP_GRACE_S = 30.0  # SIGTERM -> SIGKILL for workers finishing their requests

log = logging.getLogger("backend.api.serving")


_REPORT = struct.Struct("!QQ")  # worker -> supervisor: connections received so far, open now
REPORT_S = 0.1


@dataclass
class _Worker:
    """A worker process as the supervisor sees it."""

    proc: BaseProcess
    chan: socket.socket  # supervisor's end of the UNIX socket pair
    started: float
    ready: bool = False  # has reported at least once (the app started)
    closed: bool = False  # its end of the pair is closed (it exited)
    sent: int = 0  # connections handed over
    received: int = 0  # ... of which the worker had taken at its last report
    open: int = 0  # open connections at its last report

    @property
    def load(self) -> int:
        """Open connections now, counting those handed over since the last report."""
        return self.open + self.sent - self.received


def _worker(config: uvicorn.Config, chan: socket.socket) -> None:
    """Child process: configure logging, start the app, serve the connections handed over on ``chan``."""
    config.configure_logging()
    server = uvicorn.Server(config)
    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(_HandedOver(server, chan).serve())


class _HandedOver:
    """uvicorn without a listening socket: its connections are the descriptors read from ``chan``."""

    def __init__(self, server: uvicorn.Server, chan: socket.socket) -> None:
        self.server, self.chan = server, chan
        self.received = 0  # connections handed over so far
        self.adopting: set[asyncio.Task[Any]] = set()

    async def serve(self) -> None:
        """Start the app, then take connections and report until uvicorn shuts down."""
        server = self.server
        serving = asyncio.create_task(server.serve(sockets=[]))
        while not server.started and not serving.done():
            await asyncio.sleep(0.02)
        if serving.done():  # the app did not start: its error is logged, the exit code tells the supervisor
            return await serving
        config = server.config
        # what uvicorn's own listening server creates per connection (see uvicorn.Server.startup)
        self.uvicorn_protocol = functools.partial(
            config.http_protocol_class, config=config,  # type: ignore[call-arg]
            server_state=server.server_state, app_state=server.lifespan.state)
        self.chan.setblocking(False)
        loop = asyncio.get_running_loop()
        loop.add_reader(self.chan.fileno(), self.on_handover)
        while not serving.done():  # and a report every REPORT_S: readiness, and a heartbeat
            self.report()
            await asyncio.wait([serving], timeout=REPORT_S)
        loop.remove_reader(self.chan.fileno())
        await serving

    def report(self) -> None:
        """Tell the supervisor how many connections were received and how many are open."""
        with contextlib.suppress(BlockingIOError, BrokenPipeError, ConnectionResetError):
            self.chan.send(_REPORT.pack(self.received, len(self.server.server_state.connections)))

    def protocol(self) -> asyncio.Protocol:
        """Uvicorn's protocol, reporting when its connection closes (the supervisor sees it at once)."""
        proto: asyncio.Protocol = self.uvicorn_protocol()
        lost = proto.connection_lost

        def connection_lost(exc: Exception | None) -> None:
            lost(exc)
            self.report()

        proto.connection_lost = connection_lost  # type: ignore[method-assign]
        return proto

    def on_handover(self) -> None:
        """Adopt the connections the supervisor sent; stop when it is gone."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                msg, fds, _, _ = socket.recv_fds(self.chan, 16, 64)
            except BlockingIOError:
                return
            if not msg and not fds:  # the supervisor is gone
                loop.remove_reader(self.chan.fileno())
                self.server.should_exit = True
                return
            for fd in fds:
                self.received += 1
                task = loop.create_task(loop.connect_accepted_socket(self.protocol, socket.socket(fileno=fd)))
                self.adopting.add(task)
                task.add_done_callback(self.adopting.discard)


def _listen(host: str, port: int, backlog: int) -> socket.socket:
    """The server's listening socket (non-blocking), or a clear error when the port is taken."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        in_use = exc.errno == errno.EADDRINUSE
        what = "is in use by another server" if in_use else f"cannot be used ({exc.strerror})"
        raise CbmError(f"{host}:{port} {what}: stop it or choose another --host/--port") from exc
    sock.listen(backlog)
    sock.setblocking(False)
    return sock


def serve_workers(config: uvicorn.Config) -> None:
    """Run ``config.workers`` worker processes fed by this one; restart dead ones.

    This process accepts the connections and hands each to the worker with the fewest open
    ones. SIGINT/SIGTERM stop accepting and stop the workers (each finishes its requests, see
    uvicorn's graceful shutdown); a worker that keeps exiting right after its start (e.g. the
    database is unreachable) stops the server with an error instead of restarting in a loop.

    Raises:
        CbmError: the port is in use, or workers cannot start.
    """
    listener = _listen(config.host, config.port, config.backlog)
    spawn = multiprocessing.get_context("spawn")
    stop = {"signal": 0}

    def on_signal(signum: int, _frame: Any) -> None:
        stop["signal"] = signum

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    sel = selectors.DefaultSelector()
    workers: dict[int, _Worker] = {}
    quick_exits = 0
    log.info("serving on http://%s:%d with %d workers (connections to the least busy one)",
             config.host, config.port, config.workers)
    try:
        while not stop["signal"]:
            for slot in range(config.workers):
                if slot not in workers:
                    workers[slot] = _start_worker(spawn, config, slot, sel)
            _accept_when_ready(listener, workers, sel)  # until a worker is ready, clients wait in the backlog
            for key, _ in sel.select(timeout=0.5):
                if key.data is None:
                    _hand_over(listener, workers)
                elif not _read_reports(workers[key.data]):
                    _forget(workers[key.data], sel)
            quick_exits = _reap(workers, sel, quick_exits, restarting=not stop["signal"])
    finally:
        listener.close()
        _stop_all([w.proc for w in workers.values()])
        for w in workers.values():
            _forget(w, sel)
        sel.close()
        for s, handler in previous.items():
            signal.signal(s, handler)


def _reap(workers: dict[int, _Worker], sel: selectors.BaseSelector, quick_exits: int,
          restarting: bool) -> int:
    """Remove exited workers (the loop starts new ones); returns the count of quick exits in a row.

    Raises:
        CbmError: ``MAX_QUICK_EXITS`` workers in a row exited within ``QUICK_EXIT_S`` of their start.
    """
    for slot, w in list(workers.items()):
        if w.proc.exitcode is None:
            continue
        _forget(workers.pop(slot), sel)
        quick_exits = quick_exits + 1 if time.monotonic() - w.started < QUICK_EXIT_S else 0
        log.warning("worker %s (pid %s) exited with code %s%s", slot, w.proc.pid, w.proc.exitcode,
                    ": restarting it" if restarting else "")
        if quick_exits >= MAX_QUICK_EXITS:
            raise CbmError(f"API workers exit right after starting ({quick_exits} times in a row): "
                           "see the log above (database reachable? settings valid?)")
    return quick_exits


def _start_worker(spawn: Any, config: uvicorn.Config, slot: int, sel: selectors.BaseSelector) -> _Worker:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    proc = spawn.Process(target=_worker, args=(config, theirs), name=f"cbm-api-{slot}")
    proc.start()
    theirs.close()
    ours.setblocking(False)
    sel.register(ours, selectors.EVENT_READ, slot)
    return _Worker(proc, ours, time.monotonic())


def _accept_when_ready(listener: socket.socket, workers: dict[int, _Worker],
                       sel: selectors.BaseSelector) -> None:
    """Watch the listening socket only while some worker is ready."""
    ready = any(w.ready and not w.closed for w in workers.values())
    watched = listener in sel.get_map()
    if ready and not watched:
        sel.register(listener, selectors.EVENT_READ, None)
    elif watched and not ready:
        sel.unregister(listener)


def _forget(w: _Worker, sel: selectors.BaseSelector) -> None:
    """Stop watching a worker's end of the pair and close it (once)."""
    if not w.closed:
        w.closed, w.ready = True, False
        sel.unregister(w.chan)
        w.chan.close()


def _read_reports(w: _Worker) -> bool:
    """Take the worker's latest report (connections received, open); False once it has gone."""
    while True:
        try:
            msg = w.chan.recv(_REPORT.size)
        except BlockingIOError:
            return True
        except OSError:
            return False
        if not msg:
            return False
        if len(msg) == _REPORT.size:
            w.received, w.open = _REPORT.unpack(msg)
            if not w.ready:  # its first report: from now on it is handed connections
                log.info("%s (pid %s) takes connections", w.proc.name, w.proc.pid)
            w.ready = True


def _hand_over(listener: socket.socket, workers: dict[int, _Worker]) -> None:
    """Accept every pending connection and pass each to the least busy ready worker."""
    while True:
        try:
            conn, peer = listener.accept()
        except BlockingIOError:
            return
        with conn:
            for w in sorted((w for w in workers.values() if w.ready and not w.closed), key=lambda w: w.load):
                try:
                    socket.send_fds(w.chan, [b"c"], [conn.fileno()])
                except OSError:
                    continue  # that worker just died: try the next one
                w.sent += 1
                break
            else:
                log.warning("no API worker ready: connection from %s closed", peer)


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
