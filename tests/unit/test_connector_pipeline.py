"""The connector's loop applies each batch on its own thread before it polls again (session 9 measured a pipelined
loop, polling the next batch while one applies: no gain; removed)."""

from __future__ import annotations

import threading
from types import SimpleNamespace

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


def test_the_loop_applies_each_batch_on_its_own_thread_before_the_next_poll():
    r = _runner(records=3)
    applied: list[list[int]] = []
    threads: set[str] = set()

    def apply(translated, topic_id=None):
        applied.append([rec.offset for rec, _ in translated])
        threads.add(threading.current_thread().name)
        return {0: translated[-1][0].offset + 1}

    r._apply = apply  # type: ignore[method-assign]
    for n in (1, 2, 3):
        r._poll_once()
        assert r.consumer.polls == n and applied == [[i] for i in range(n)]
    assert threads == {threading.current_thread().name}  # no hand-off to an applier thread
