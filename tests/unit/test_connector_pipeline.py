"""The connector's loop polls and translates the next batch while the batch before it applies — one batch in
flight at most, applied in poll order — and an applier's failure is the connector's failure."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from kafka import TopicPartition

from connectors.runner import ConnectorRunner


class _Consumer:
    """Enough of a KafkaConsumer for the loop: every poll returns one new record on partition 0."""

    def __init__(self):
        self.polls = 0
        self._client = SimpleNamespace(cluster=SimpleNamespace(topic_id=lambda topic: None))

    def poll(self, timeout_ms, max_records):
        self.polls += 1
        rec = SimpleNamespace(topic="t", partition=0, offset=self.polls - 1, key=None, value=b"{}", timestamp=-1)
        return {TopicPartition("t", 0): [rec]}

    def assignment(self):
        return []


def _runner() -> ConnectorRunner:
    spec = SimpleNamespace(name="test", topic="t", translate=lambda value: ("translated", value))
    r = ConnectorRunner(spec, db=None, bootstrap="unused")  # type: ignore[arg-type]
    r.consumer = _Consumer()
    return r


def test_the_next_batch_is_polled_while_the_one_before_applies_and_batches_apply_one_at_a_time():
    r = _runner()
    release = threading.Event()
    applying: list[int] = []  # offsets of the batches whose _apply is running
    overlaps: list[int] = []
    applied: list[int] = []

    def slow_apply(translated, topic_id=None):
        (rec, _), = translated
        if applying:
            overlaps.append(rec.offset)
        applying.append(rec.offset)
        if rec.offset == 0:
            assert release.wait(10)
        applying.remove(rec.offset)
        applied.append(rec.offset)
        return {0: rec.offset + 1}

    r._apply = slow_apply  # type: ignore[method-assign]
    r._poll_once()  # batch 0 handed to the applier, which blocks
    second = threading.Thread(target=r._poll_once)
    second.start()
    deadline = threading.Event()
    for _ in range(100):
        if r.consumer.polls >= 2:
            break
        deadline.wait(0.02)
    assert r.consumer.polls == 2 and applied == [], "the second poll waited for the first batch to apply"
    release.set()
    second.join(10)
    r._applied()
    r._finish_in_flight()
    assert applied == [0, 1] and overlaps == []


def test_an_error_of_the_batch_in_flight_is_raised_by_the_loop():
    r = _runner()

    def broken(translated, topic_id=None):
        raise ValueError("not a database outage")

    r._apply = broken  # type: ignore[method-assign]
    r._poll_once()
    with pytest.raises(ValueError):
        r._poll_once()
    r._finish_in_flight()
