"""`hub up` with HUB_HTTP_WORKERS=2: worker processes serve GraphQL (tokens, 401s, subscriptions' auth) and all stop on Ctrl-C."""

import re
import time

import httpx

from tests import events as ev
from tests.e2e.hub_process import HubProcess
from tests.factories import id_number, unit_code
from tests.kafka_tools import PartnerProducer
from tests.registry_csv import write_registry
from tests.waiting import wait_until


def _sample(body: str, line_start: str) -> float | None:
    values = [float(line.rsplit(" ", 1)[1]) for line in body.splitlines() if line.startswith(line_start + " ")]
    return values[0] if len(values) == 1 else None


def test_hub_up_with_two_http_workers_serves_graphql_metrics_of_the_connectors_and_stops_cleanly(tmp_path):
    """One `hub up` with two HTTP workers (one start instead of two: the start is this file's cost): the workers
    serve GraphQL (tokens, 401s); whichever answers /metrics reports what the connectors (in the parent process)
    counted (prometheus_client's multiprocess mode); Ctrl-C stops all of them."""
    unit = unit_code()
    registry = write_registry(tmp_path / "registry", units=[{"code": unit, "name": "杭州市甲局"}],
                              persons=[(id_number(), "赵一")], postings=[])
    hub = HubProcess(tmp_path / "data", env={"HUB_HTTP_WORKERS": "2"}).start(timeout=90)
    try:
        assert "2 HTTP worker processes" in hub.output()
        token = hub.run("token", "create", "--role", "ADMIN", "--name", "e2e").stdout.strip()
        with httpx.Client(base_url=hub.url) as c:  # new connections: both workers get some
            for _ in range(6):
                r = httpx.post(hub.url + "/graphql", json={"query": "{ units(first: 1) { totalCount } }"},
                               headers={"Authorization": f"Bearer {token}"})
                assert r.status_code == 200 and r.json()["data"]["units"]["totalCount"] == 0
            assert c.post("/graphql", json={"query": "{ __typename }"}).status_code == 401
            assert c.get("/readyz").json()["checks"]["database"] == "ok"

        hub.run("import", str(registry))
        bootstrap = re.search(r"Kafka bootstrap servers: (\S+)", hub.output()).group(1)
        partner = PartnerProducer(bootstrap)
        for i in range(3):  # three ghosts paid by the unit: applied, each opens GHOST_PAYROLL
            partner.send_event(ev.paid(id_number(), f"幽灵{i}", unit))
        partner.send("finance.payroll.v1", id_number(), b"not json")  # dead-lettered
        partner.flush()
        consumed = 'hub_connector_consumed_total{connector="finance"}'
        wait_until(lambda: _sample(httpx.get(hub.url + "/metrics").text, consumed) == 4, 60, "4 finance records consumed")
        wait_until(lambda: _sample(httpx.get(hub.url + "/metrics").text,
                                   'hub_component_ready{component="connector.finance"}') == 1, 30, "finance ready")
        for _ in range(8):  # new connections: both workers answer some
            body = httpx.get(hub.url + "/metrics").text
            assert _sample(body, consumed) == 4, body
            assert _sample(body, 'hub_connector_applied_total{connector="finance"}') == 3, body
            assert _sample(body, 'hub_connector_deadlettered_total{connector="finance"}') == 1, body
            assert _sample(body, 'hub_mismatches_opened_total{kind="GHOST_PAYROLL"}') == 3, body
            assert _sample(body, 'hub_component_ready{component="connector.police"}') == 1, body
            assert "# TYPE hub_connector_applied_total counter" in body
            assert _sample(body, 'hub_connector_last_progress_seconds{connector="finance"}') > time.time() - 60, body
        for _ in range(4):  # new connections: both workers see the imported unit
            r = httpx.post(hub.url + "/graphql", json={"query": "{ units(first: 1) { totalCount } }"},
                           headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200 and r.json()["data"]["units"]["totalCount"] == 1, r.text
    finally:
        code = hub.stop()
    assert code == 0, hub.output()
    assert "hub stopped" in hub.output()
