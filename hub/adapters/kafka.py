"""Kafka clients (kafka-python): the idempotent producer, consumers, and topic creation (the topic names are the
contract's: hub.contract.topics)."""

from __future__ import annotations

import logging
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

log = logging.getLogger("hub.kafka")


def producer(bootstrap: str, **overrides) -> KafkaProducer:
    """Idempotent producer waiting for all in-sync replicas."""
    cfg = dict(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5,
               max_block_ms=10_000, request_timeout_ms=10_000, delivery_timeout_ms=30_000,
               reconnect_backoff_max_ms=2_000, client_id="staffing-hub")
    cfg.update(overrides)
    return KafkaProducer(**cfg)


def consumer(bootstrap: str, *, group_id: str | None, session_timeout_ms: int = 10_000,
             heartbeat_interval_ms: int = 1_000, max_poll_records: int = 1000, **overrides) -> KafkaConsumer:
    """A consumer that commits nothing by itself and never creates a topic: the hub creates its topics with the
    configured partitions (``ensure_topics``); one a consumer's metadata request created would get the broker's
    default (a broker that lost its data would otherwise get the topics back with the wrong partition count)."""
    cfg = dict(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False, auto_offset_reset="earliest",
               allow_auto_create_topics=False,
               session_timeout_ms=session_timeout_ms, heartbeat_interval_ms=heartbeat_interval_ms,
               max_poll_records=max_poll_records, fetch_max_wait_ms=25, request_timeout_ms=max(30_000, session_timeout_ms + 5_000),
               reconnect_backoff_max_ms=2_000, client_id="staffing-hub")
    cfg.update(overrides)
    return KafkaConsumer(**cfg)


def topic_id(consumer: KafkaConsumer, topic: str) -> str | None:
    """The topic's id (KIP-516, brokers from Kafka 2.8 and Tansu) as the consumer's metadata last saw it, or None.

    A topic deleted and created again — by a broker that lost its data — has a new id. kafka-python keeps the ids in
    its cluster metadata, which it offers no public accessor for."""
    value = consumer._client.cluster.topic_id(topic)
    return str(value) if value is not None and value.int else None


def ensure_topics(bootstrap: str, names: list[str], partitions: int, *, timeout_s: float = 30) -> None:
    """Create the topics that do not exist yet (the broker may still be starting: retried until timeout)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000, client_id="staffing-hub-admin")
            try:
                existing = set(admin.list_topics())
                missing = [n for n in names if n not in existing]
                if missing:
                    try:
                        admin.create_topics([NewTopic(n, partitions, 1) for n in missing])
                    except TopicAlreadyExistsError:
                        pass
                    log.info("created topics %s", ", ".join(missing))
                return
            finally:
                admin.close()
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
