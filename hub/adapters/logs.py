"""Logs: one JSON object per line for machines, short plain lines for a person at a terminal.

HUB_LOG_FORMAT=auto (the default) picks text when stderr is a terminal and JSON otherwise (services, pipes, files).
At a terminal the libraries are quiet too: Alembic's migration steps and kafka-python's warnings about its own
event loop are left out (errors still show)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat().replace("+00:00", "Z"),
                 "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage(),
                 "thread": record.threadName}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        for key, value in getattr(record, "__dict__", {}).items():
            if key.startswith("hub_"):
                entry[key[4:]] = value
        return json.dumps(entry, ensure_ascii=False, default=str)


def effective_format(fmt: str = "auto", stream=None) -> str:
    """``json`` or ``text``: ``auto`` is text on a terminal, JSON anywhere else."""
    if fmt != "auto":
        return fmt
    stream = stream or sys.stderr
    return "text" if hasattr(stream, "isatty") and stream.isatty() else "json"


def configure(fmt: str = "auto", level: str = "INFO") -> str:
    """Route every log record to stderr in the chosen format; returns the format used (json or text)."""
    fmt = effective_format(fmt)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # A person at a terminal reads the banner, not the libraries' chatter; JSON consumers keep their warnings.
    logging.getLogger("kafka").setLevel(logging.ERROR if fmt == "text" else logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING if fmt == "text" else logging.INFO)
    return fmt
