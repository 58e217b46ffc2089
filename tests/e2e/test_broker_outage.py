"""Broker outage: the broker stops for 30 s mid-stream and comes back empty (Tansu keeps data in memory); the
test re-creates the topics and the partners re-send, as they would. The hub recovers by itself, GraphQL answers
throughout, registry changes made during the outage are accepted and their events are published afterwards."""

import json
import threading
import time
import uuid

import httpx
import pytest

from hub.adapters.database import connect
from hub.adapters.embedded_broker import EmbeddedBroker, free_port
from hub.contract.topics import INBOUND_TOPICS, OUTBOUND_TOPICS
from hub.adapters.kafka import ensure_topics
from hub.demo.city import generate_city
from hub.demo.events import key_of, plan_events, topic_of
from hub.service_layer.importer import import_registry
from tests.conftest import new_pg_database
from tests.e2e.hub_process import HubProcess
from tests.e2e.state import outbox_backlog, snapshot
from tests.factories import id_number, unit_code
from tests.kafka_tools import PartnerProducer, TopicReader
from tests.registry_csv import write_registry
from tests.waiting import wait_until

OUTAGE_S = 30


def _wait(cond, timeout, what):
    wait_until(cond, timeout, what, every=0.25)


def test_hub_recovers_from_a_30s_broker_outage(tmp_path, pg_template):
    if pg_template is None:
        pytest.skip("PostgreSQL not reachable")
    city = tmp_path / "city"
    generate_city(city, 800, seed=3)
    plan = plan_events(city, 3000, seed=9, anomalies=0.03)
    all_ids = {(e["source"], e["id"]) for e in plan.events}
    port = free_port()
    broker = EmbeddedBroker(port).start()
    bootstrap = broker.bootstrap_servers
    topics = list(INBOUND_TOPICS + OUTBOUND_TOPICS)
    ensure_topics(bootstrap, topics, 3)
    url, drop = new_pg_database(pg_template)
    hub = None
    try:
        db = connect(url)
        import_registry(db, city)
        db.dispose()
        hub = HubProcess(tmp_path / "data", env={"HUB_DATABASE_URL": url, "HUB_KAFKA_BOOTSTRAP_SERVERS": bootstrap}).start()
        token = hub.run("token", "create", "--role", "ADMIN", "--name", "outage").stdout.strip()
        graphql_failures: list = []
        stop_probe = threading.Event()

        def probe():
            while not stop_probe.is_set():
                try:
                    r = httpx.post(hub.url + "/graphql", json={"query": "{ units(first: 1) { totalCount } }"},
                                   headers={"Authorization": f"Bearer {token}"}, timeout=5)
                    if r.status_code != 200 or "errors" in r.json():
                        graphql_failures.append(r.text)
                except httpx.HTTPError as e:
                    graphql_failures.append(repr(e))
                stop_probe.wait(0.5)

        prober = threading.Thread(target=probe)
        prober.start()

        def send_all(from_index=0, to_index=None):
            partner = PartnerProducer(bootstrap)
            for e in plan.events[from_index:to_index]:
                partner.send(topic_of(e), key_of(e), json.dumps(e, ensure_ascii=False).encode())
            partner.flush()

        half = len(plan.events) // 2
        send_all(0, half)
        _wait(lambda: len(snapshot(url)["applied"]) >= half, 60, "first half applied")

        broker.stop()
        outage_started = time.monotonic()
        # a registry change during the outage is accepted; its events wait in the outbox
        extra_unit, extra_person = unit_code(), id_number()
        extra = write_registry(tmp_path / "extra", units=[{"code": extra_unit, "name": "杭州市停机测试局"}],
                               persons=[(extra_person, "停机时入编")], postings=[(extra_person, extra_unit, "ADMINISTRATIVE")])
        r = hub.run("import", str(extra), check=False)
        assert r.returncode == 0, r.stdout + r.stderr
        assert outbox_backlog(url) >= 4
        time.sleep(max(0, OUTAGE_S - (time.monotonic() - outage_started)))

        broker = EmbeddedBroker(port).start()  # comes back empty
        ensure_topics(bootstrap, topics, 3)
        send_all()  # partners replay everything
        _wait(lambda: {(a, b) for a, b in snapshot(url)["applied"]} >= all_ids, 180, "every event applied after the outage")
        _wait(lambda: outbox_backlog(url) == 0, 120, "outbox drained")
        updates = TopicReader(bootstrap, "registry.updates.v1")
        updates.poll_until(lambda ms: any(json.loads(m.value()).get("subject") == extra_person for m in ms), 60)
        updates.close()
        stop_probe.set()
        prober.join()
        assert graphql_failures == []
        state = snapshot(url)
        opened = {(k, s) for k, s, _, _ in state["open_mismatches"]}
        for kind, subjects in plan.planted.items():
            for s in subjects:
                assert (kind, s) in opened, (kind, s)
        assert len(state["applied"]) == len(all_ids)
        assert httpx.get(hub.url + "/readyz").status_code == 200, httpx.get(hub.url + "/readyz").text
    finally:
        if hub:
            hub.stop()
        broker.stop()
        drop()
