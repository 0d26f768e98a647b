"""Logging of the standalone node: bounded in volume, text or one JSON object per line.

A flood produces the same error thousands of times a second; written out each time it fills
the disk (2.37 GB in 8 minutes was measured before this existed).  ``OncePerInterval`` lets
the first record of a kind through, swallows its repeats for ``interval_s`` and then notes how
many it swallowed on the next one.  The event loop's own error reports (``socket.accept()
out of system resource`` and friends) go through the same logger.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import Callable
from typing import Any, Final

LOG_FORMATS: Final = ("text", "json")
DEFAULT_INTERVAL_S: Final = 10.0
_MAX_KINDS: Final = 10_000
_STANDARD_ATTRIBUTES: Final = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}

log = logging.getLogger("app.xmtpnode")


class OncePerInterval(logging.Filter):
    """Let one record per (logger, level, message template) through per interval."""

    def __init__(
        self, interval_s: float = DEFAULT_INTERVAL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.interval_s = interval_s
        self._clock = clock
        self._kinds: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        last, swallowed = self._kinds.get(key, (float("-inf"), 0))
        if now - last < self.interval_s:
            self._kinds[key] = (last, swallowed + 1)
            return False
        if len(self._kinds) >= _MAX_KINDS:
            self._kinds.clear()
        self._kinds[key] = (now, 0)
        if swallowed:
            record.msg = f"{record.msg} (and {swallowed} more like it in the last interval)"
            record.__dict__["repeated"] = swallowed
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, extra fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in record.__dict__.items():
            if name not in _STANDARD_ATTRIBUTES and not name.startswith("_"):
                entry[name] = value if isinstance(value, str | int | float | bool) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


JsonFormatter.converter = time.gmtime

refusals_log = logging.getLogger("app.xmtpnode.refusals")
"""Where refusals and cut-offs are logged, once per kind and interval wherever the node runs."""
refusals_log.addFilter(OncePerInterval())


def configure_logging(log_format: str = "text", level: int = logging.INFO) -> None:
    """stderr logging for ``node serve``: rate-limited, text or JSON lines."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(OncePerInterval())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("app.xmtpnode").setLevel(level)


def install_loop_error_handler(loop: asyncio.AbstractEventLoop) -> None:
    """Route the loop's error reports through the (rate-limited) node logger, one line each."""

    def report(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exception = context.get("exception")
        detail = f": {type(exception).__name__}: {exception}" if exception else ""
        message = str(context.get("message", "error")).replace("%", "%%")
        log.error("event loop: " + message + "%s", detail)  # one kind per loop message

    loop.set_exception_handler(report)
