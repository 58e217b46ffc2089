"""With ``connectors.runner.PIPELINED`` the connector's loop polls and translates the next batch while the batch
before it applies — one batch in flight at most, applied in poll order — and an applier's failure is the
connector's failure; without (the default), each batch is applied before the next poll."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from kafka import TopicPartition

from connectors.runner import ConnectorRunner


class _Consumer:
    """Enough of a KafkaConsumer for the loop: each poll returns the next record on partition 0, ``records`` in all."""

    def __init__(self, records: int = 1_000_000):
        self.polls = 0
        self.records = records
        self.next = 0
        self._client = SimpleNamespace(cluster=SimpleNamespace(topic_id=lambda topic: None))

    def poll(self, timeout_ms, max_records):
        self.polls += 1
        if self.next >= self.records:
            return {}
        rec = SimpleNamespace(topic="t", partition=0, offset=self.next, key=None, value=b"{}", timestamp=-1)
        self.next += 1
        return {TopicPartition("t", 0): [rec]}

    def assignment(self):
        return []


def _runner(records: int = 1_000_000) -> ConnectorRunner:
    spec = SimpleNamespace(name="test", topic="t", translate=lambda value: ("translated", value))
    r = ConnectorRunner(spec, db=None, bootstrap="unused")  # type: ignore[arg-type]
    r.consumer = _Consumer(records)
    return r


@pytest.fixture
def pipelined(monkeypatch):
    import connectors.runner

    monkeypatch.setattr(connectors.runner, "PIPELINED", True)


def test_what_arrives_while_a_batch_applies_is_taken_into_the_next_batch_which_applies_after_it(pipelined):
    r = _runner(records=5)
    release = threading.Event()
    applying: list[list[int]] = []  # the batches whose _apply is running
    overlaps: list[list[int]] = []
    applied: list[list[int]] = []

    def slow_apply(translated, topic_id=None):
        batch = [rec.offset for rec, _ in translated]
        if applying:
            overlaps.append(batch)
        applying.append(batch)
        if batch == [0]:
            assert release.wait(10)
        applying.remove(batch)
        applied.append(batch)
        return {0: batch[-1] + 1}

    r._apply = slow_apply  # type: ignore[method-assign]
    r._poll_once()  # batch [0] handed to the applier, which blocks
    second = threading.Thread(target=r._poll_once)
    second.start()
    pause = threading.Event()
    for _ in range(250):
        if r.consumer.next >= 5:
            break
        pause.wait(0.02)
    assert r.consumer.next == 5 and applied == [], "the loop did not poll while the batch before applied"
    release.set()
    second.join(10)
    r._applied()
    r._finish_in_flight()
    assert applied == [[0], [1, 2, 3, 4]] and overlaps == []


def test_an_error_of_the_batch_in_flight_is_raised_by_the_loop(pipelined):
    r = _runner()

    def broken(translated, topic_id=None):
        raise ValueError("not a database outage")

    r._apply = broken  # type: ignore[method-assign]
    r._poll_once()
    with pytest.raises(ValueError):
        r._poll_once()
    r._finish_in_flight()


def test_serial_loop_applies_each_batch_before_the_next_poll(monkeypatch):
    import connectors.runner

    monkeypatch.setattr(connectors.runner, "PIPELINED", False)
    r = _runner(records=3)
    applied: list[list[int]] = []

    def apply(translated, topic_id=None):
        applied.append([rec.offset for rec, _ in translated])
        return {0: translated[-1][0].offset + 1}

    r._apply = apply  # type: ignore[method-assign]
    for n in (1, 2, 3):
        r._poll_once()
        assert r.consumer.polls == n and applied == [[i] for i in range(n)]
    r._finish_in_flight()
