"""The streaming bench's latency phase builds its partner producer and its reader with the settings it records
(session 11: the producer lingers 5 ms as librdkafka does by default — with linger 0 its one request per event was
87 % of the embedded broker's requests at 1,000 events/s; the reader keeps fetch.wait.max.ms 10)."""

from __future__ import annotations

import json
import sys
import time
import types

import pytest

from tests.bench_modules import load_bench



@pytest.fixture(scope="module")
def bench():
    return load_bench("streaming_bench")


class _Message:
    def __init__(self, value: bytes):
        self._value = value

    def error(self):
        return None

    def value(self):
        return self._value


def _fake_confluent(configs: dict, produced: list):
    """Stand-ins for confluent_kafka's Producer and Consumer that record their configuration; the reader returns a
    `mismatch.opened` caused by each event the producer sent (the hub's part of the round trip)."""

    class Producer:
        def __init__(self, config):
            configs["producer"] = config
            configs.setdefault("order", []).append("producer made")

        def produce(self, topic, key, value):
            produced.append(json.loads(value)["id"])

        def poll(self, _timeout):
            return 0

        def flush(self, _timeout=None):
            return 0

    class Consumer:
        def __init__(self, config):
            configs["consumer"] = config
            self.answered = 0

        def list_topics(self, topic, timeout):
            meta = types.SimpleNamespace(partitions={0: None})
            return types.SimpleNamespace(topics={topic: meta})

        def assign(self, _partitions):
            pass

        def poll(self, _timeout):
            if configs.get("order", [])[-1:] != ["reader polled"]:
                configs.setdefault("order", []).append("reader polled")
            if self.answered < len(produced):
                self.answered += 1
                return _Message(json.dumps({"type": "gov.registry.mismatch.opened",
                                            "data": {"caused_by": [produced[self.answered - 1]]}}).encode())
            return None

        def close(self):
            pass

    return types.SimpleNamespace(Producer=Producer, Consumer=Consumer, OFFSET_BEGINNING=-2,
                                 TopicPartition=lambda topic, partition, offset: (topic, partition, offset))


@pytest.mark.parametrize("linger, wait", [(None, None), (20, 50)])
def test_the_latency_worker_uses_the_recorded_client_settings(bench, monkeypatch, tmp_path, capsys, linger, wait):
    configs: dict = {}
    produced: list = []
    monkeypatch.setitem(sys.modules, "confluent_kafka", _fake_confluent(configs, produced))
    linger = bench.PARTNER_LINGER_MS if linger is None else linger
    wait = bench.READER_FETCH_WAIT_MS if wait is None else wait
    spec = tmp_path / "latency.json"
    events = [[f"e{i}", f"k{i}", json.dumps({"id": f"e{i}"})] for i in range(3)]
    spec.write_text(json.dumps({"bootstrap": "127.0.0.1:1", "rate": 1000.0, "warmup": 1, "in_topic": "in",
                                "out_topic": "out", "partner_linger_ms": linger, "reader_fetch_wait_ms": wait,
                                "events": events}))
    bench.latency_worker(str(spec))
    assert configs["producer"]["linger.ms"] == linger
    assert configs["consumer"]["fetch.wait.max.ms"] == wait
    assert json.loads(capsys.readouterr().out)["missing"] == 0


def test_the_partner_producer_lingers_as_librdkafka_does_by_default(bench):
    assert bench.PARTNER_LINGER_MS == 5  # librdkafka's linger.ms default; 0 was one produce request per event
    assert bench.READER_FETCH_WAIT_MS == 10


def test_the_partner_producer_is_ready_before_the_first_event(bench, monkeypatch, tmp_path, capsys):
    """Made after the reader's skipping (before session 12), the idempotent producer held the first events for
    ~1.0–1.6 s while it connected and got its producer id: a backlog the first measured seconds paid for. Now it is
    made first and has the ≥ 2 s of skipping to get ready."""
    configs: dict = {}
    produced: list = []
    monkeypatch.setitem(sys.modules, "confluent_kafka", _fake_confluent(configs, produced))
    spec = tmp_path / "latency.json"
    events = [[f"e{i}", f"k{i}", json.dumps({"id": f"e{i}"})] for i in range(3)]
    spec.write_text(json.dumps({"bootstrap": "127.0.0.1:1", "rate": 1000.0, "warmup": 1, "in_topic": "in",
                                "out_topic": "out", "partner_linger_ms": 5, "reader_fetch_wait_ms": 10,
                                "events": events}))
    t0 = time.perf_counter()
    bench.latency_worker(str(spec))
    assert configs["order"][:2] == ["producer made", "reader polled"]
    assert time.perf_counter() - t0 >= 2.0  # the skipping lasts ≥ 2 s: the producer's time to get ready
    assert json.loads(capsys.readouterr().out)["missing"] == 0
