"""Logging set-up for the command line and servers (library code only calls getLogger)."""

from __future__ import annotations

import logging
from typing import Any

SERVER_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s [%(request_id)s]: %(message)s"
_NOISY = ("distributed", "papermill", "traitlets", "bokeh", "tornado")


class SecretFilter(logging.Filter):
    """Drops nothing, but masks values of known secrets if they ever reach a log record."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace every secret in the formatted message by ``***``; keep the record."""
        if self.secrets:
            msg = record.getMessage()
            for s in self.secrets:
                msg = msg.replace(s, "***")
            record.msg, record.args = msg, None
        return True


def setup_logging(level: int = logging.WARNING, secrets: list[str] | None = None) -> None:
    """Configure the root logger once: one line per record, secrets masked."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretFilter(secrets or []))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in _NOISY:
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def server_log_config(secrets: list[str], level: str = "INFO") -> dict[str, Any]:
    """``logging.config.dictConfig`` for ``cbm serve``: one line per record with pid and request id.

    It is applied in the serving process and again in every worker process (``uvicorn.Config``
    carries it; a configuration made in the parent only does not reach spawned workers, whose
    access log would be lost). Secrets are masked; ``request_id`` is ``-`` outside requests.
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"secrets": {"()": "backend.logging_setup.SecretFilter", "secrets": secrets},
                    "request_id": {"()": "backend.api.middleware.RequestIdFilter"}},
        "formatters": {"line": {"format": SERVER_FORMAT}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "line",
                                "filters": ["request_id", "secrets"]}},
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {name: {"level": "WARNING"} for name in _NOISY},
    }
