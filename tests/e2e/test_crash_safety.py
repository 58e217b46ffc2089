"""Crash safety: kill -9 the hub at least 3 times while 10,000 partner events stream; afterwards registry,
partner views and mismatches equal those of a clean run, every event is applied and none twice (PostgreSQL)."""

import threading
import time
import uuid

import pytest

from hub.adapters.database import connect
from hub.contract.topics import INBOUND_TOPICS, OUTBOUND_TOPICS
from hub.adapters.kafka import ensure_topics
from hub.demo.city import generate_city
from hub.demo.events import key_of, plan_events, topic_of
from hub.service_layer.importer import import_registry
from tests.conftest import new_pg_database
from tests.e2e.hub_process import HubProcess
from tests.e2e.state import consumed, snapshot
from tests.kafka_tools import PartnerProducer
from tests.waiting import wait_until

EVENTS = 10_000


def _wait(cond, timeout, what):
    wait_until(cond, timeout, what, every=0.2)


def test_kill_9_three_times_mid_stream_ends_in_the_state_of_a_clean_run(tmp_path, pg_template, kafka_bootstrap):
    if pg_template is None:
        pytest.skip("PostgreSQL not reachable")
    city = tmp_path / "city"
    generate_city(city, 3000, seed=11)
    plan = plan_events(city, EVENTS, seed=5, anomalies=0.02)
    total = len(plan.events)
    prefix = f"crash{uuid.uuid4().hex[:6]}."
    ensure_topics(kafka_bootstrap, [prefix + t for t in INBOUND_TOPICS + OUTBOUND_TOPICS], 3)
    (url_a, drop_a), (url_b, drop_b) = new_pg_database(pg_template), new_pg_database(pg_template)
    try:
        for url in (url_a, url_b):
            db = connect(url)
            import_registry(db, city)
            db.dispose()
        env = lambda url: {"HUB_DATABASE_URL": url, "HUB_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,  # noqa: E731
                           "HUB_TOPIC_PREFIX": prefix, "HUB_CONNECTOR_BATCH_SIZE": "200"}

        partner = PartnerProducer(kafka_bootstrap, prefix)

        def stream():
            for i, e in enumerate(plan.events):
                import json

                partner.send(topic_of(e), key_of(e), json.dumps(e, ensure_ascii=False).encode())
                if i % 250 == 249:
                    partner.flush()
                    time.sleep(0.15)
            partner.flush()

        producer = threading.Thread(target=stream)
        producer.start()
        hub = HubProcess(tmp_path / "a", env=env(url_a)).start()
        kills = 0
        for threshold in (1500, 4000, 6500):
            _wait(lambda: consumed(url_a) >= threshold, 120, f"{threshold} consumed")
            hub.kill()
            kills += 1
            hub = HubProcess(tmp_path / "a", env=env(url_a)).start()
        producer.join()
        _wait(lambda: consumed(url_a) >= total, 180, "all events consumed after the kills")
        assert hub.stop() == 0
        assert kills == 3

        clean = HubProcess(tmp_path / "b", env=env(url_b)).start()
        _wait(lambda: consumed(url_b) >= total, 180, "all events consumed in the clean run")
        assert clean.stop() == 0

        a, b = snapshot(url_a), snapshot(url_b)
        for part in a:
            only_a, only_b = set(a[part]) - set(b[part]), set(b[part]) - set(a[part])
            assert not only_a and not only_b, f"{part} differs: only in killed run {sorted(only_a)[:5]}, only in clean run {sorted(only_b)[:5]}"
        assert len(a["applied"]) == len({(e["source"], e["id"]) for e in plan.events})  # none missing
        opened = {(k, s) for k, s, _, _ in a["open_mismatches"]}
        for kind, subjects in plan.planted.items():
            for s in subjects:
                assert (kind, s) in opened, (kind, s)
    finally:
        drop_a()
        drop_b()
