"""Logs: one JSON object per line for machines, short plain lines for a person at a terminal.

HUB_LOG_FORMAT=auto (the default) picks text when stderr is a terminal and JSON otherwise (services, pipes, files).
At a terminal the libraries are quiet too: Alembic's migration steps and kafka-python's warnings about its own
event loop are left out (errors still show)."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import datetime, timezone

# Anything shaped like a citizen ID number (17 digits and a check character, not inside a longer run of digits),
# whatever letter follows it (an event id or a file name may glue one on): masking a few strings that only look like
# a number costs less than leaving a number in a log.
_ID_NUMBER = re.compile(r"(?<![0-9])([0-9]{6})[0-9]{8}([0-9]{3}[0-9Xx])(?![0-9])")


def redact_id_numbers(text: str) -> str:
    """``text`` with every ID-number-shaped run masked as MONITOR sees it (first 6 and last 4 kept): logs are read by
    operators who are not entitled to ID numbers; a log line says whose record without saying the number."""
    return _ID_NUMBER.sub(lambda m: m.group(1) + "********" + m.group(2), text) if text else text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat().replace("+00:00", "Z"),
                 "level": record.levelname.lower(), "logger": record.name,
                 "message": redact_id_numbers(record.getMessage()), "thread": record.threadName}
        if record.exc_info:
            entry["exception"] = redact_id_numbers(self.formatException(record.exc_info))
        for key, value in getattr(record, "__dict__", {}).items():
            if key.startswith("hub_"):
                entry[key[4:]] = value
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Plain text lines, ID numbers masked as in ``JsonFormatter``."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_id_numbers(super().format(record))


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
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # A person at a terminal reads the banner, not the libraries' chatter; JSON consumers keep their warnings.
    logging.getLogger("kafka").setLevel(logging.ERROR if fmt == "text" else logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING if fmt == "text" else logging.INFO)
    return fmt
