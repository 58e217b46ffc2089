"""Partner events produced by a third-party client (confluent-kafka) flow through `hub up`: every streaming
mismatch kind is opened, read back from registry.mismatches.v1, then resolved by a corrective event."""

import json
import re

import httpx

from tests import events as ev
from tests.e2e.hub_process import HubProcess
from tests.factories import id_number, unit_code
from tests.kafka_tools import PartnerProducer, TopicReader
from tests.registry_csv import write_registry

STREAMING_KINDS = {"NAME_MISMATCH", "DECEASED_ACTIVE", "GHOST_PAYROLL", "PAYROLL_UNIT_MISMATCH", "DOUBLE_PAYROLL",
                   "INSURANCE_EMPLOYER_MISMATCH", "HR_STATUS_CONFLICT", "HR_UNIT_MISMATCH"}


def _kinds(values, type_):
    return {v["data"]["kind"] for v in values if v["type"] == type_}


def test_every_streaming_kind_opens_and_resolves_through_hub_up(tmp_path):
    u1, u2 = unit_code(), unit_code()
    a, b, c, d = (id_number(male=i % 2 == 0) for i in range(4))
    registry = write_registry(tmp_path / "registry", units=[{"code": u1, "name": "杭州市甲局"}, {"code": u2, "name": "杭州市乙局"}],
                              persons=[(a, "赵一"), (b, "钱二"), (c, "孙三"), (d, "李四")],
                              postings=[(a, u1, "ADMINISTRATIVE"), (b, u1, "ADMINISTRATIVE"), (d, u1, "ADMINISTRATIVE")])
    hub = HubProcess(tmp_path / "data").start()
    try:
        hub.run("import", str(registry))
        bootstrap = re.search(r"Kafka bootstrap servers: (\S+)", hub.output()).group(1)
        partner = PartnerProducer(bootstrap)
        opening = [
            ev.police(a, "赵壹"),                       # NAME_MISMATCH
            ev.police(b, "钱二", status="DECEASED"),    # DECEASED_ACTIVE
            ev.paid(c, "孙三", u1),                     # GHOST_PAYROLL (c holds no posting)
            ev.paid(a, "赵一", u2),                     # PAYROLL_UNIT_MISMATCH
            ev.paid(d, "李四", u1), ev.paid(d, "李四", u2),  # DOUBLE_PAYROLL (+ unit mismatch for u2)
            ev.contribution(a, "赵一", u2),             # INSURANCE_EMPLOYER_MISMATCH
            ev.hr(b, "钱二", u1, status="RETIRED"),     # HR_STATUS_CONFLICT
            ev.hr(d, "李四", u2),                       # HR_UNIT_MISMATCH
        ]
        for e in opening:
            partner.send_event(e)
        partner.flush()
        reader = TopicReader(bootstrap, "registry.mismatches.v1")
        reader.poll_until(lambda ms: STREAMING_KINDS <= _kinds([json.loads(m.value()) for m in ms], "gov.registry.mismatch.opened"), 60)

        opened = [v for v in reader.values() if v["type"] == "gov.registry.mismatch.opened"]
        ghost = next(v for v in opened if v["data"]["kind"] == "GHOST_PAYROLL")
        assert ghost["data"]["subject"] == c and ghost["data"]["unit_code"] == u1 and ghost["data"]["status"] == "OPEN"
        assert ghost["data"]["caused_by"] == [opening[2]["id"]]
        assert ghost["specversion"] == "1.0" and ghost["source"] == "/gov/registry"
        assert all(m.key().decode() == json.loads(m.value())["data"]["mismatch_id"] for m in reader.messages)

        corrective = [
            ev.police(a, "赵一"),
            ev.police(b, "钱二", status="ALIVE"),
            ev.stopped(c, u1),
            ev.paid(a, "赵一", u1, period="2026-11"),
            ev.stopped(d, u2),
            ev.contribution(a, "赵一", u1, period="2026-11"),
            ev.hr(b, "钱二", u1),
            ev.hr(d, "李四", u1),
        ]
        for e in corrective:
            partner.send_event(e)
        partner.flush()
        reader.poll_until(lambda ms: STREAMING_KINDS <= _kinds([json.loads(m.value()) for m in ms], "gov.registry.mismatch.resolved"), 60)
        resolved = [v for v in reader.values() if v["type"] == "gov.registry.mismatch.resolved"]
        assert all(v["data"]["status"] == "RESOLVED" and v["data"]["resolved_at"] for v in resolved)

        token = hub.run("token", "create", "--role", "AUDITOR", "--name", "e2e").stdout.strip()
        r = httpx.post(hub.url + "/graphql", headers={"Authorization": f"Bearer {token}"},
                       json={"query": "{ mismatches(filter: {status: OPEN}) { totalCount edges { node { kind subject } } } }"})
        assert r.json()["data"]["mismatches"]["totalCount"] == 0, r.json()
        metrics = httpx.get(hub.url + "/metrics").text
        assert 'hub_connector_applied_total{connector="finance"} 7' in metrics
        reader.close()
    finally:
        assert hub.stop() == 0, hub.output()
