"""The one retry policy (hub/adapters/retry.py): capped exponential waits, one log line per outage, stop on shutdown,
give-up, other errors at once. Waits go through a recording stop event: no test sleeps."""

import gc
import logging
import weakref

import pytest

from hub.adapters.retry import Retry

log = logging.getLogger("test.retry")


class RecordingStop:
    """A stop event whose wait records the time asked and returns at once; set after ``stop_after`` waits."""

    def __init__(self, stop_after: int | None = None):
        self.waits: list[float] = []
        self.stop_after = stop_after

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        return self.is_set()

    def is_set(self) -> bool:
        return self.stop_after is not None and len(self.waits) >= self.stop_after


class Flaky:
    """Fails with ``errors`` in turn, then returns ``result``."""

    def __init__(self, *errors: BaseException, result="done"):
        self.errors, self.calls, self.result = list(errors), 0, result

    def __call__(self, *args):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return (self.result, *args)


def test_waits_double_from_the_first_up_to_the_cap_and_the_call_goes_through(caplog):
    stop = RecordingStop()
    failures = []
    fn = Flaky(*[ConnectionError("refused")] * 7)
    with caplog.at_level(logging.INFO, logger="test.retry"):
        result = Retry("relay", on=(ConnectionError,), log=log, stop_event=stop, first_s=0.2, max_s=2,
                       after_failure=failures.append)(fn, 42)
    assert result == ("done", 42) and fn.calls == 8
    assert stop.waits == pytest.approx([0.2, 0.4, 0.8, 1.6, 2, 2, 2])
    assert len(failures) == 7 and all(isinstance(e, ConnectionError) for e in failures)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "relay: ConnectionError (refused)" in warnings[0].getMessage()  # once per outage
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert len(infos) == 1 and infos[0].startswith("relay: going through again after")


def test_a_new_outage_after_success_waits_from_the_first_again_and_is_logged_again(caplog):
    stop = RecordingStop()
    retry = Retry("poll", on=(ConnectionError,), log=log, stop_event=stop, first_s=0.5, max_s=10)
    with caplog.at_level(logging.WARNING, logger="test.retry"):
        retry(Flaky(ConnectionError(), ConnectionError()))
        retry(Flaky(ConnectionError()))
    assert stop.waits == [0.5, 1.0, 0.5]
    assert len(caplog.records) == 2


def test_a_different_error_class_within_one_outage_is_logged_once_more(caplog):
    stop = RecordingStop()
    with caplog.at_level(logging.WARNING, logger="test.retry"):
        Retry("batch", on=(ConnectionError, TimeoutError), log=log, stop_event=stop)(
            Flaky(ConnectionError(), ConnectionError(), TimeoutError(), TimeoutError()))
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == ["batch: ConnectionError", "batch: TimeoutError"]


def test_an_error_not_listed_propagates_at_once_without_waiting():
    stop = RecordingStop()
    fn = Flaky(KeyError("bug"))
    with pytest.raises(KeyError):
        Retry("x", on=(ConnectionError,), log=log, stop_event=stop)(fn)
    assert fn.calls == 1 and stop.waits == []


def test_shutdown_ends_the_retrying_with_the_last_error_or_quietly():
    stop = RecordingStop(stop_after=3)
    fn = Flaky(*[ConnectionError(str(i)) for i in range(10)])
    with pytest.raises(ConnectionError, match="3"):  # the attempt after the third wait fails: stopped, raised
        Retry("x", on=(ConnectionError,), log=log, stop_event=stop)(fn)
    assert fn.calls == 4 and len(stop.waits) == 3

    stop = RecordingStop(stop_after=2)
    fn = Flaky(*[ConnectionError()] * 10)
    assert Retry("x", on=(ConnectionError,), log=log, stop_event=stop, raise_on_stop=False)(fn) is None
    assert fn.calls == 3


def test_give_up_ends_the_retrying_of_the_errors_it_names_only():
    stop = RecordingStop()
    fn = Flaky(ConnectionError(), TimeoutError(), ConnectionError(), TimeoutError())
    with pytest.raises(TimeoutError):
        Retry("x", on=(ConnectionError, TimeoutError), log=log, stop_event=stop,
              give_up=lambda e, seconds: isinstance(e, TimeoutError) and seconds >= 0)(fn)
    assert fn.calls == 2 and len(stop.waits) == 1


def test_unexpected_errors_are_logged_with_their_traceback_expected_ones_in_one_line(caplog):
    stop = RecordingStop()
    with caplog.at_level(logging.WARNING, logger="test.retry"):
        Retry("relay", on=(Exception,), traceback_unless=(ConnectionError,), log=log, stop_event=stop)(
            Flaky(ConnectionError("down"), ValueError("bug")))
    expected, unexpected = caplog.records
    assert expected.exc_info is None and unexpected.exc_info is not None


class _Batch:
    """What an attempt has in hand (a connector's batch of records)."""


def test_a_retry_that_went_through_holds_nothing_of_its_failed_attempts():
    """A Retry is reused for every call (since session 12 also each connector's batches): its last failure, whose
    traceback holds the failed attempt's frames and all in them, was kept until the next call — an idle connector
    kept its last retried batch of records (and its session) for as long as no new record came."""
    retry = Retry("batch", on=(ConnectionError,), log=log, stop_event=RecordingStop())
    failed = []

    def attempt(batch: _Batch) -> str:
        if not failed:
            failed.append(1)
            raise ConnectionError("database down")
        return "applied"

    batch = _Batch()
    gone = weakref.ref(batch)
    assert retry(attempt, batch) == "applied" and failed
    del batch
    gc.collect()
    assert gone() is None
