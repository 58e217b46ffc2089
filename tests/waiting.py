"""Polling for a condition in tests that watch other threads or processes."""

from __future__ import annotations

import time
from typing import Callable


def wait_until(cond: Callable[[], object], timeout: float, what: str, *, every: float = 0.1,
               detail: Callable[[], str] | None = None) -> None:
    """Return as soon as ``cond()`` is true; fail with ``timed out waiting for <what>`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}" + (f"; {detail()}" if detail else ""))
        time.sleep(every)
