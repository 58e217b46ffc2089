"""A finding through `hub up`, as the office runs it: the auditor records it over GraphQL, its deadline passes, `hub
finding overdue` raises `gov.registry.finding.overdue` — once — and a third-party client (confluent-kafka) reads the
opened and overdue events from `registry.supervision.v1`, the topic the hub created at start, keyed by the finding id."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import httpx
from confluent_kafka.admin import AdminClient
from sqlalchemy import update

from hub.adapters.database import connect
from hub.adapters.orm import FindingRow
from tests.e2e.hub_process import HubProcess
from tests.factories import unit_code
from tests.kafka_tools import TopicReader
from hub.domain.calendar import office_today


def _gql(hub: HubProcess, token: str, query: str, variables: dict | None = None) -> dict:
    r = httpx.post(hub.url + "/graphql", json={"query": query, "variables": variables or {}},
                   headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
    assert "errors" not in r, r
    return r["data"]


def test_an_overdue_finding_reaches_kafka_once(tmp_path):
    hub = HubProcess(tmp_path / "data").start()
    try:
        bootstrap = re.search(r"Kafka bootstrap servers: (\S+)", hub.output()).group(1)
        topics = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics  # asks for none: creates none
        assert len(topics["registry.supervision.v1"].partitions) == 6  # created at start (HUB_TOPIC_PARTITIONS)
        admin = hub.run("token", "create", "--role", "ADMIN", "--name", "市编办").stdout.strip().splitlines()[-1]
        auditor = hub.run("token", "create", "--role", "AUDITOR", "--name", "审计局").stdout.strip().splitlines()[-1]
        code = unit_code(5300)
        _gql(hub, admin, """mutation($c: String!) { createUnit(unit: {code: $c, name: "杭州市审计试点局", kind: GOVERNMENT_ORGAN,
             level: CITY, regionCode: "330100", funding: FULL}, effectiveDate: "2024-01-01") { __typename } }""", {"c": code})
        r = _gql(hub, auditor, """mutation($f: FindingInput!) { recordFinding(finding: $f) { __typename
                 ... on FindingPayload { finding { id status } } } }""", {"f": {
            "unitCode": code, "source": "AUDIT", "category": "FALSE_HEADCOUNT", "title": "虚报人员占编",
            "description": "审计发现虚报2人", "recommendation": "核减虚报人员", "responsibleParty": "杭州市审计试点局",
            "deadline": office_today().isoformat(), "reference": "杭审〔2026〕12号"}})
        fid = r["recordFinding"]["finding"]["id"]
        db = connect(f"sqlite:///{(tmp_path / 'data' / 'hub.sqlite3').resolve()}")
        with db.session() as s, s.begin():  # the deadline passes
            s.execute(update(FindingRow).where(FindingRow.id == int(fid)).values(deadline=office_today() - timedelta(days=1)))
        db.dispose()

        sweeps = [json.loads(hub.run("finding", "overdue", "--json").stdout) for _ in range(2)]
        # raised once, not on every sweep (the daily round `hub up` starts may have been the one to raise it)
        assert sweeps[0]["raised"] in ([int(fid)], []) and sweeps[1]["raised"] == []
        assert [d["id"] for d in sweeps[1]["overdue"]] == [int(fid)]
        steps = json.loads(hub.run("finding", "show", fid, "--json").stdout)["steps"]
        assert [s["action"] for s in steps] == ["RECORDED", "OVERDUE"]

        reader = TopicReader(bootstrap, "registry.supervision.v1")
        try:
            def overdue(ms):
                return any(json.loads(m.value())["type"] == "gov.registry.finding.overdue" for m in ms)
            messages = reader.poll_until(overdue, 60)
        finally:
            reader.close()
        events = [(m.key().decode(), json.loads(m.value())) for m in messages]
        assert [e["type"] for _, e in events] == ["gov.registry.finding.opened", "gov.registry.finding.overdue"]
        assert {k for k, _ in events} == {fid}  # key: the finding id
        data = events[1][1]["data"]
        assert events[1][1]["subject"] == code
        assert (data["finding_id"], data["status"], data["overdue"], data["category_label"]) == (int(fid), "OPEN", True, "虚报人员占编")
        assert data["deadline"] == (office_today() - timedelta(days=1)).isoformat() and data["step"]["action"] == "OVERDUE"
    finally:
        assert hub.stop() == 0, hub.output()
