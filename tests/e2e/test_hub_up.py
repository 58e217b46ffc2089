"""`hub up` on embedded defaults (SQLite file, embedded Tansu broker) answers and stops cleanly on Ctrl-C."""

import re
import stat

import httpx
from kafka import KafkaAdminClient

from tests.e2e.hub_process import HubProcess


def test_hub_up_on_embedded_defaults_serves_graphql_and_stops_cleanly(tmp_path):
    hub = HubProcess(tmp_path / "data").start()
    try:
        out = hub.output()
        assert f"http://127.0.0.1:{hub.port}/graphql" in out
        m = re.search(r"Kafka bootstrap servers: (127\.0\.0\.1:\d+) \(embedded", out)
        assert m, out
        admin = KafkaAdminClient(bootstrap_servers=m.group(1), request_timeout_ms=5000)
        admin.list_topics()
        admin.close()
        assert (tmp_path / "data" / "hub.sqlite3").exists()

        token = hub.run("token", "create", "--role", "ADMIN", "--name", "e2e").stdout.strip()
        assert token.startswith("hub_")
        r = httpx.post(hub.url + "/graphql", json={"query": "{ units(first: 1) { totalCount } }"},
                       headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json()["data"]["units"]["totalCount"] == 0
        assert httpx.post(hub.url + "/graphql", json={"query": "{ __typename }"}).status_code == 401
        assert httpx.get(hub.url + "/readyz").json()["checks"]["broker"] == "ok"
        key = tmp_path / "data" / "audit.key"  # created on embedded defaults, owner-only; the logs are signed with it
        assert key.exists() and stat.S_IMODE(key.stat().st_mode) == 0o600
        verified = hub.run("audit", "verify")
        assert "operation log intact: 1 entries verified (HMAC-SHA256" in verified.stdout, verified.stdout
    finally:
        code = hub.stop()
    assert code == 0, hub.output()
    assert "hub stopped" in hub.output()


def test_hub_up_demo_loads_a_city_and_streamed_partner_events_raise_mismatches(tmp_path):
    import time

    hub = HubProcess(tmp_path / "data", args=["--demo"]).start(timeout=120)
    try:
        token = hub.run("token", "create", "--role", "MONITOR", "--name", "newcomer").stdout.strip()
        deadline = time.monotonic() + 90
        kinds = set()
        while time.monotonic() < deadline and not {"GHOST_PAYROLL", "NAME_MISMATCH", "HR_UNIT_MISMATCH"} <= kinds:
            r = httpx.post(hub.url + "/graphql", json={"query": "{ mismatchStats { total byKind { key count } } }"},
                           headers={"Authorization": f"Bearer {token}"}).json()
            kinds = {c["key"] for c in r["data"]["mismatchStats"]["byKind"]}
            time.sleep(1)
        assert {"GHOST_PAYROLL", "NAME_MISMATCH", "HR_UNIT_MISMATCH", "OVER_QUOTA"} <= kinds, kinds
        # RETIREMENT_DUE follows from the birth date: the office sees it, a masked MONITOR never does (docs/access.md)
        admin = hub.run("token", "create", "--role", "ADMIN", "--name", "office").stdout.strip()
        r = httpx.post(hub.url + "/graphql", json={"query": "{ mismatchStats { byKind { key count } } }"},
                       headers={"Authorization": f"Bearer {admin}"}).json()
        assert "RETIREMENT_DUE" in {c["key"] for c in r["data"]["mismatchStats"]["byKind"]} and "RETIREMENT_DUE" not in kinds
    finally:
        assert hub.stop() == 0, hub.output()
