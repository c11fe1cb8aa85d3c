"""Logging set-up: one format, the bot token never in a line, noisy libraries quiet.

httpx logs every request URL at INFO, and a Bot API URL contains the token, so the
httpx logger is raised to WARNING; a filter also replaces the token in any record
that still carries it (an exception message quoting a URL, say).
"""

from __future__ import annotations

import logging


class RedactToken(logging.Filter):
    """Replace the bot token in every log record's rendered message."""

    def __init__(self, token: str):
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if self.token:
            message = record.getMessage()
            if self.token in message:
                record.msg = message.replace(self.token, "<token>")
                record.args = ()
            if record.exc_info and record.exc_info[1] is not None and self.token in str(record.exc_info[1]):
                record.exc_text = logging.Formatter().formatException(record.exc_info).replace(self.token, "<token>")
                record.exc_info = None
                record.msg = f"{record.msg}\n{record.exc_text}"
                record.exc_text = None
        return True


def configure(token: str = "", level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactToken(token))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and a Bot API URL carries the token
    logging.getLogger("httpx").setLevel(logging.WARNING)
    for noisy in ("httpcore", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
