"""Logging set-up for the command line and servers (library code only calls getLogger)."""

from __future__ import annotations

import logging


class _SecretFilter(logging.Filter):
    """Drops nothing, but masks values of known secrets if they ever reach a log record."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
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
    handler.addFilter(_SecretFilter(secrets or []))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("distributed", "papermill", "traitlets", "bokeh", "tornado"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
