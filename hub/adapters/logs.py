"""Structured logs: one JSON object per line (HUB_LOG_FORMAT=json, the default for services) or plain text."""

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


def configure(fmt: str = "json", level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("kafka").setLevel(logging.WARNING)
