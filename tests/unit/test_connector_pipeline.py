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
    threads: set[str] = set()

    def apply(translated, topic_id=None):
        applied.append([rec.offset for rec, _ in translated])
        threads.add(threading.current_thread().name)
        return {0: translated[-1][0].offset + 1}

    r._apply = apply  # type: ignore[method-assign]
    for n in (1, 2, 3):
        r._poll_once()
        assert r.consumer.polls == n and applied == [[i] for i in range(n)]
    r._finish_in_flight()
    assert threads == {threading.current_thread().name}  # no hand-off to an applier thread


class _Scripted(_Consumer):
    """Each poll plays the next step of a script: a list of (partition, offset) records to return, "rebalance"
    (the group seeks partition 0 back to its stored offset inside the poll, as the listener does, then returns
    ``records`` again) or an exception to raise."""

    def __init__(self, runner: ConnectorRunner, script: list):
        super().__init__()
        self.runner, self.script, self.closed = runner, list(script), False

    def poll(self, timeout_ms, max_records):
        self.polls += 1
        step = self.script.pop(0) if self.script else []
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, tuple) and step[0] == "rebalance":
            self.runner.seek_to_stored([TopicPartition("t", 0)])
            step = step[1]
        out: dict = {}
        for p, o in step:
            out.setdefault(TopicPartition("t", p), []).append(
                SimpleNamespace(topic="t", partition=p, offset=o, key=None, value=b"{}", timestamp=-1))
        return out

    def seek(self, tp, offset):
        pass

    def close(self, autocommit=False):
        self.closed = True


def test_records_taken_before_a_rebalance_inside_a_poll_are_not_applied_twice_in_one_batch(pipelined):
    """The rebalance listener seeks back to the stored offsets: the records taken before it come again."""
    r = _runner()
    r.consumer = _Scripted(r, [[(0, 0)], [(0, 1)], ("rebalance", [(0, 1)])])
    r.stored_offsets = lambda: {0: (1, None)}  # type: ignore[method-assign]
    applied: list[list[tuple[int, int]]] = []

    def apply(translated, topic_id=None):
        applied.append([(rec.partition, rec.offset) for rec, _ in translated])
        return {0: translated[-1][0].offset + 1}

    r._apply = apply  # type: ignore[method-assign]
    r._poll_once()
    r._poll_once()
    r._finish_in_flight()
    assert applied == [[(0, 0)], [(0, 1)]]


def test_records_taken_while_applying_are_polled_again_when_a_later_poll_is_out_of_range(pipelined):
    """Records of partition 1 taken while the batch in flight applies, then partition 0's stored offset is out of
    range: partition 1's records are not applied, so the consumer must start again from the stored offsets rather
    than reset partition 0 and continue past them (they would be skipped for good)."""
    from kafka.errors import OffsetOutOfRangeError

    r = _runner()
    gate = threading.Event()
    r.consumer = _Scripted(r, [[(0, 0)], [], [(1, 0)], OffsetOutOfRangeError({TopicPartition("t", 0): 5})])
    resets: list = []
    r._restart_from_log_start = lambda *a, **k: resets.append(a)  # type: ignore[method-assign]

    def apply(translated, topic_id=None):
        gate.wait(10)
        return {0: 1}

    r._apply = apply  # type: ignore[method-assign]
    r._poll_once()
    consumer = r.consumer
    threading.Timer(1.0, gate.set).start()  # the three polls happen while it applies
    r._poll_once()
    r._finish_in_flight()
    assert resets == [] and consumer.closed and r.consumer is None
