"""Third-party Kafka client helpers (confluent-kafka / librdkafka) for tests: produce and read back."""

from __future__ import annotations

import json
import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition


class PartnerProducer:
    """A partner department's producer (librdkafka), keyed by ID number."""

    def __init__(self, bootstrap: str, prefix: str = ""):
        self.prefix = prefix
        self.p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                           "api.version.request": True})

    def send(self, topic: str, key: str | None, value: bytes | None) -> None:
        self.p.produce(self.prefix + topic, key=key.encode() if key else None, value=value)
        self.p.poll(0)

    def send_event(self, event: dict) -> None:
        from tests.events import encode, topic_of

        self.send(topic_of(event), event["data"]["id_number"], encode(event))

    def flush(self) -> None:
        remaining = self.p.flush(30)
        assert remaining == 0, f"{remaining} messages not delivered"


class TopicReader:
    """Reads a topic from the beginning with a fresh group; returns decoded JSON values (and headers)."""

    def __init__(self, bootstrap: str, topic: str):
        self.topic = topic
        self.c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"test-{uuid.uuid4().hex[:8]}",
                           "auto.offset.reset": "earliest", "enable.auto.commit": False})
        # assign() every partition from the beginning: no group coordination (slow on some brokers)
        deadline = time.monotonic() + 30
        while True:
            meta = self.c.list_topics(topic, timeout=10).topics.get(topic)
            if meta is not None and meta.partitions and meta.error is None:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"topic {topic} has no partitions")
            time.sleep(0.2)
        self.c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in sorted(meta.partitions)])
        self.messages: list = []

    def poll_until(self, predicate, timeout: float = 30.0) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self.c.poll(0.2)
            if m is None or m.error():
                if predicate(self.messages):
                    return self.messages
                continue
            self.messages.append(m)
            if predicate(self.messages):
                return self.messages
        raise AssertionError(f"timed out reading {self.topic}: {len(self.messages)} messages, last: "
                             f"{[json.loads(x.value()) .get('type') for x in self.messages[-5:]]}")

    def values(self) -> list[dict]:
        return [json.loads(m.value()) for m in self.messages]

    def close(self) -> None:
        self.c.close()
