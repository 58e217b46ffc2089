"""The one retry policy for outages (database, broker): capped exponential backoff (tenacity).

``Retry(...)(fn)`` calls ``fn`` until it returns. A failure of a listed class waits ``first_s``, then twice as long
each time up to ``max_s``, and tries again; any other exception propagates at once. Waits end early when
``stop_event`` is set (shutdown): the retrying stops and the last error is raised (or, with ``raise_on_stop=False``,
``None`` returned). ``give_up(error, seconds)`` may end the retrying earlier (a timeout): the last error is raised.

An outage is logged once — a warning when it starts (and again only if the error's class changes), an info line when
``fn`` goes through again — not once per attempt. ``after_failure(error)`` runs after every failed attempt (close a
consumer, reset a producer, update a gauge)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential

T = TypeVar("T")


class Retry:
    def __init__(self, what: str, *, on: tuple[type[BaseException], ...], log: logging.Logger,
                 stop_event: threading.Event | None = None, first_s: float = 0.2, max_s: float = 10.0,
                 give_up: Callable[[BaseException, float], bool] | None = None,
                 after_failure: Callable[[BaseException], None] | None = None,
                 traceback_unless: tuple[type[BaseException], ...] = (), raise_on_stop: bool = True,
                 log_recovery: bool = True) -> None:
        """``what`` names the activity in the log; errors in ``on`` are retried; those not in ``traceback_unless``
        (when it is given) are logged with their traceback (unexpected ones)."""
        self.what, self.on, self.log, self.stop_event = what, on, log, stop_event
        self.after_failure, self.traceback_unless = after_failure, traceback_unless
        self.raise_on_stop, self.log_recovery, self.give_up = raise_on_stop, log_recovery, give_up
        self._last_error: BaseException | None = None
        self._retrying = Retrying(
            retry=retry_if_exception_type(on),
            wait=wait_exponential(multiplier=first_s, min=first_s, max=max_s),  # first_s, 2·first_s, … ≤ max_s
            stop=self._stop,
            sleep=stop_event.wait if stop_event is not None else time.sleep,
            before_sleep=self._failed,
            reraise=True,
        )
        self.max_s = max_s

    def _stop(self, retry_state: RetryCallState) -> bool:
        """After a failed attempt: stop retrying when shutting down or when ``give_up`` says so."""
        if self.stop_event is not None and self.stop_event.is_set():
            return True
        error = retry_state.outcome.exception() if retry_state.outcome else None
        return bool(self.give_up and error is not None and self.give_up(error, retry_state.seconds_since_start))

    def _failed(self, retry_state: RetryCallState) -> None:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if error is None:
            return
        if retry_state.attempt_number == 1 or type(error) is not type(self._last_error):
            unexpected = bool(self.traceback_unless) and not isinstance(error, self.traceback_unless)
            self.log.warning("%s: %s (%s); retrying (every %.0fs at most) until it goes through", self.what,
                             error.__class__.__name__, str(error)[:200] or "no detail", self.max_s,
                             exc_info=error if unexpected else None)
        self._last_error = error
        if self.after_failure is not None:
            self.after_failure(error)

    def __call__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        self._last_error = None
        started = time.monotonic()
        try:
            try:
                result = self._retrying(fn, *args, **kwargs)
            except self.on:
                if self.stop_event is not None and self.stop_event.is_set() and not self.raise_on_stop:
                    return None
                raise
            if self._last_error is not None and self.log_recovery:
                self.log.info("%s: going through again after %.0fs (%s)", self.what, time.monotonic() - started,
                              self._last_error.__class__.__name__)
            return result
        finally:
            # A Retry is reused (a connector's batches and polls, the relay's rounds): the last failure's traceback
            # holds the failed attempt's frames and all they held (a batch of records, its session) — not kept
            # until the next call, which may come hours later.
            self._last_error = None
