"""Login abuse: a concurrent brute force against one account is throttled (guesses verified
stay bounded, then 429 even for the right password, never 5xx), and no password or Basic
credential appears in any log record (app, access and uvicorn loggers captured at DEBUG).
"""

from __future__ import annotations

import base64
import logging
from concurrent.futures import ThreadPoolExecutor

import httpx
from apitools import PASSWORDS, Server, running_api
from relscene import record

from backend.settings import Settings

MAX_FAILURES, THREADS, TRIES = 5, 8, 4


def _guess(url: str, k: int) -> list[int]:
    with httpx.Client(base_url=url, timeout=60) as c:
        return [c.get("/me", auth=("analyst", f"guess-{k}-{i}")).status_code for i in range(TRIES)]


def test_concurrent_brute_force_is_throttled(rel_api: Server) -> None:
    s = Settings(**{**rel_api.settings.model_dump(), "api_login_max_failures": MAX_FAILURES,
                    "api_login_lockout_s": 60})
    with running_api(s) as server:
        with ThreadPoolExecutor(THREADS) as pool:
            codes = [c for batch in pool.map(lambda k: _guess(server.url, k), range(THREADS)) for c in batch]
        with server.client(None) as c:
            right = c.get("/me", auth=("analyst", PASSWORDS["analyst"]))
    verified = codes.count(401)
    record("auth", attempts=len(codes), verified_guesses=verified, throttled=codes.count(429),
           server_errors=sum(c >= 500 for c in codes))
    assert set(codes) <= {401, 429}
    assert verified <= MAX_FAILURES, codes  # checks of one username run one at a time
    assert right.status_code == 429


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, rec: logging.LogRecord) -> None:
        self.lines.append(f"{rec.name} {rec.getMessage()} {rec.args!r} {rec.__dict__!r}")


def test_passwords_never_logged(rel_api: Server) -> None:
    cap = _Capture()
    loggers = [logging.getLogger(n) for n in ("", "uvicorn", "uvicorn.error", "uvicorn.access", "backend")]
    old = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(cap)
        lg.setLevel(logging.DEBUG)
    secrets = ["Wrong-Secret-Guess-77", PASSWORDS["consumer"], PASSWORDS["admin"]]
    try:
        with rel_api.client(None) as c:
            c.get("/me", auth=("consumer", secrets[0]))
            c.get("/me", auth=("consumer", secrets[1]))
            c.get("/query/info", auth=("admin", secrets[2]))
            c.get("/me", auth=(secrets[0], secrets[0]))  # a password typed as the username
    finally:
        for lg, level in old:
            lg.removeHandler(cap)
            lg.setLevel(level)
    text = "\n".join(cap.lines)
    b64 = [base64.b64encode(f"consumer:{p}".encode()).decode() for p in secrets[:2]]
    record("auth", log_records=len(cap.lines), secrets_in_logs=sum(x in text for x in secrets[1:] + b64))
    assert cap.lines, "nothing was logged: the capture is broken"
    assert not [x for x in secrets[1:] + b64 if x in text]
