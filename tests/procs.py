"""Child processes that serve HTTP: start one, wait until it answers, stop it.

The benchmarks, the browser and hub tests and the manual scripts run Voilà, uvicorn or
JupyterHub as children on loopback ports. ``running`` does all three steps; ``wait_http`` and
``stop`` serve callers that start the process themselves. Standard library only.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

POLL_S = 0.3  # between two polls of the URL
REQUEST_TIMEOUT_S = 2.0  # of one poll
KILL_WAIT_S = 10.0  # for a SIGKILLed process to go
TAIL_LINES = 20  # of the log, in error messages


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Take a redirect as the server's answer instead of following it."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        """Follow no redirect (urllib then reports the 3xx status)."""
        return None


# Children listen on loopback: never go through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


def free_ports(n: int) -> list[int]:
    """``n`` distinct loopback TCP ports free at the time of the call (all bound at once)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port() -> int:
    """A loopback TCP port free at the time of the call."""
    return free_ports(1)[0]


def answering(status: int) -> bool:
    """Default readiness test: any HTTP answer but a server error (5xx: starting or broken)."""
    return status < 500


def _status(url: str, timeout_s: float) -> int | str:
    """The HTTP status of ``GET url`` (redirects not followed), or why there was none."""
    try:
        with _OPENER.open(url, timeout=timeout_s) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code
    except urllib.error.URLError as exc:
        return str(exc.reason)
    except (OSError, http.client.HTTPException) as exc:
        return f"{type(exc).__name__}: {exc}"


def tail(log: Path, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` lines of a log file (or why it cannot be read)."""
    try:
        text = log.read_text(errors="replace")
    except OSError as exc:
        return f"(cannot read it: {exc})"
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


def _failure(message: str, log: Path | None) -> RuntimeError:
    """``message``, followed by the tail of ``log`` when there is one."""
    if log is not None:
        message += f"\nlast lines of {log}:\n{tail(log)}"
    return RuntimeError(message)


def wait_http(url: str, proc: subprocess.Popen[Any], what: str, timeout_s: float = 60, *,
              log: Path | None = None, ok: Callable[[int], bool] | None = None) -> None:
    """Poll ``url`` until the server answers, failing as soon as ``proc`` exits.

    Args:
        url: the URL to ``GET`` (redirects are not followed: a 302 is an answer).
        proc: the process that serves it.
        what: its name in error messages (``"Voilà"``, ``"API"``).
        timeout_s: how long to wait at most.
        log: the file holding the process's output, whose tail the error messages quote.
        ok: which HTTP statuses mean ready; default ``answering`` (anything but 5xx).

    Raises:
        RuntimeError: the process exited (message with its exit code) or ``timeout_s`` passed
            (message with the last status or connection error).
    """
    ready = ok or answering
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            raise _failure(f"{what} exited with code {proc.returncode} before answering at {url}", log)
        status = _status(url, min(REQUEST_TIMEOUT_S, max(deadline - time.monotonic(), 0.1)))
        if isinstance(status, int) and ready(status):
            return
        if time.monotonic() >= deadline:
            last = f"HTTP {status}" if isinstance(status, int) else status
            raise _failure(f"{what} not ready at {url} after {timeout_s:g} s (last answer: {last})", log)
        time.sleep(POLL_S)


def stop(proc: subprocess.Popen[Any], grace_s: float = 5.0) -> None:
    """Terminate ``proc``, kill it if it still runs after ``grace_s``, and reap it.

    Nothing happens when it has exited already.

    Raises:
        subprocess.TimeoutExpired: it outlived even SIGKILL by ``KILL_WAIT_S`` (stuck in the kernel).
    """
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        logger.warning("process %d (%s) still runs %g s after SIGTERM: killing it",
                       proc.pid, proc.args, grace_s)
        proc.kill()
        proc.wait(KILL_WAIT_S)


def _start(cmd: Sequence[str], env: Mapping[str, str] | None, cwd: Path | str | None,
           log: Path | None, quiet: bool) -> subprocess.Popen[bytes]:
    """Popen ``cmd`` with its output in ``log``, discarded (``quiet``) or inherited."""
    if log is None:
        out = subprocess.DEVNULL if quiet else None
        return subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=out)
    with log.open("wb") as file:  # the child keeps its own descriptor
        return subprocess.Popen(cmd, env=env, cwd=cwd, stdout=file, stderr=subprocess.STDOUT)


@contextlib.contextmanager
def running(cmd: Sequence[str], url: str, what: str, *, env: Mapping[str, str] | None = None,
            cwd: Path | str | None = None, log: Path | None = None, quiet: bool = False,
            timeout_s: float = 60, ok: Callable[[int], bool] | None = None,
            grace_s: float = 5.0) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``cmd``, wait until ``url`` answers (``wait_http``), yield the process, then ``stop`` it.

    The process's stdout and stderr go to ``log`` (overwritten) when given, else nowhere when
    ``quiet``, else to this process's own. It is stopped however the block ends, and also
    when it does not get ready (``RuntimeError`` from ``wait_http``).
    """
    proc = _start(cmd, env, cwd, log, quiet)
    try:
        wait_http(url, proc, what, timeout_s, log=log, ok=ok)
        yield proc
    finally:
        stop(proc, grace_s)
