"""Issue-3 items shown end to end through GraphQL: unit filters and children, person filters, the establishment
summary and mismatch statistics with their numbers, configurable limits, production mode, batching off."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.config import load_settings
from hub.domain.registry import Unit
from hub.service_layer import registry_changes
from hub.service_layer.tokens import create_token
from hub.service_layer.unit_of_work import UnitOfWork
from tests.factories import unit_code
from tests.integration.registry_helpers import hire, make_person


def _unit(db, *, name, kind="GOVERNMENT_ORGAN", level="CITY", region="330100", funding="FULL", parent=None,
          approved=None, leaders=None):
    code = unit_code()
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.create_unit(uow, unit=Unit.new(code=code, name=name, kind=kind, level=level, region_code=region,
                                                funding=funding, parent_code=parent), effective=date(2020, 1, 1))
        for cat, n in (approved or {}).items():
            registry_changes.set_quota(uow, unit_code=code, category=cat, approved=n, document_number=None, effective=date(2020, 1, 1))
        for rank, n in (leaders or {}).items():
            registry_changes.set_leader_quota(uow, unit_code=code, rank=rank, approved=n, document_number=None, effective=date(2020, 1, 1))
        uow.commit()
    return code


@pytest.fixture
def city(db):
    bureau = _unit(db, name="杭州市财政局", approved={"ADMINISTRATIVE": 3}, leaders={"DIVISION_CHIEF": 1})
    branch = _unit(db, name="杭州市财政局西湖分局", level="DISTRICT", region="330106", parent=bureau,
                   approved={"ADMINISTRATIVE": 1})
    school = _unit(db, name="杭州市第一中学", kind="PUBLIC_INSTITUTION", funding="PARTIAL",
                   approved={"PUBLIC_INSTITUTION": 2})
    people = {n: make_person(db, name=n) for n in ("张一", "李二", "王三", "赵四")}
    hire(db, people["张一"], bureau, rank="DIVISION_CHIEF")
    hire(db, people["李二"], branch)
    hire(db, people["王三"], school, category="PUBLIC_INSTITUTION")
    with UnitOfWork(db, actor="test") as uow:  # a cut below use: the branch is over quota (OVER_QUOTA opens)
        registry_changes.set_quota(uow, unit_code=branch, category="ADMINISTRATIVE", approved=0, document_number="杭编〔2025〕1号",
                           effective=date(2025, 1, 1))
        uow.commit()
    tokens = {r: create_token(db, role=r, name=r.lower())[1] for r in ("ADMIN", "AUDITOR")}
    return {"db": db, "bureau": bureau, "branch": branch, "school": school, "people": people, "tokens": tokens,
            "client": TestClient(create_app(db))}


def gql(city, query, variables=None, role="ADMIN", client=None):
    r = (client or city["client"]).post("/graphql", json={"query": query, "variables": variables or {}},
                                        headers={"Authorization": f"Bearer {city['tokens'][role]}",
                                                 "X-Purpose": quote("核查")})
    return r.json()


def unit_names(city, filter_literal: str) -> list[str]:
    r = gql(city, "{ units(filter: %s) { totalCount edges { node { name } } } }" % filter_literal)
    assert "errors" not in r, r
    names = sorted(e["node"]["name"] for e in r["data"]["units"]["edges"])
    assert r["data"]["units"]["totalCount"] == len(names)
    return names


def test_unit_filters_and_children(city):
    assert unit_names(city, "{kind: PUBLIC_INSTITUTION}") == ["杭州市第一中学"]
    assert unit_names(city, "{level: DISTRICT}") == ["杭州市财政局西湖分局"]
    assert unit_names(city, '{regionCode: "330106"}') == ["杭州市财政局西湖分局"]
    assert unit_names(city, '{parentCode: "%s"}' % city["bureau"]) == ["杭州市财政局西湖分局"]
    assert unit_names(city, "{funding: PARTIAL}") == ["杭州市第一中学"]
    assert unit_names(city, '{nameContains: "财政"}') == ["杭州市财政局", "杭州市财政局西湖分局"]
    assert unit_names(city, "{overQuotaOnly: true}") == ["杭州市财政局西湖分局"]
    assert unit_names(city, '{funding: FULL, nameContains: "分局"}') == ["杭州市财政局西湖分局"]
    r = gql(city, 'query($c: String!) { unit(code: $c) { children { code name } } }', {"c": city["bureau"]})
    assert r["data"]["unit"]["children"] == [{"code": city["branch"], "name": "杭州市财政局西湖分局"}]
    r = gql(city, 'query($c: String!) { unit(code: $c) { children { code } } }', {"c": city["school"]})
    assert r["data"]["unit"]["children"] == []


def test_person_filters(city):
    def names(filter_literal):
        r = gql(city, "{ persons(filter: %s) { totalCount edges { node { name } } } }" % filter_literal)
        assert "errors" not in r, r
        return sorted(e["node"]["name"] for e in r["data"]["persons"]["edges"])

    assert names('{nameContains: "三"}') == ["王三"]
    assert names('{unitCode: "%s"}' % city["bureau"]) == ["张一"]
    assert names("{posted: true}") == ["张一", "李二", "王三"]
    assert names("{posted: false}") == ["赵四"]
    assert names('{posted: true, nameContains: "李"}') == ["李二"]


def test_establishment_summary_numbers(city):
    q = """query($r: String, $l: UnitLevel) { establishmentSummary(regionCode: $r, level: $l) { units
             categories { name approved used available } leaderRanks { name approved used available }
             overQuotaUnits { code } } }"""
    s = gql(city, q)["data"]["establishmentSummary"]
    cats = {c["name"]: c for c in s["categories"]}
    assert s["units"] == 3
    assert cats["ADMINISTRATIVE"] == {"name": "ADMINISTRATIVE", "approved": 3, "used": 2, "available": 1}
    assert cats["PUBLIC_INSTITUTION"] == {"name": "PUBLIC_INSTITUTION", "approved": 2, "used": 1, "available": 1}
    ranks = {r["name"]: r for r in s["leaderRanks"]}
    assert ranks["DIVISION_CHIEF"] == {"name": "DIVISION_CHIEF", "approved": 1, "used": 1, "available": 0}
    assert s["overQuotaUnits"] == [{"code": city["branch"]}]
    district = gql(city, q, {"l": "DISTRICT"})["data"]["establishmentSummary"]
    assert district["units"] == 1 and {c["name"]: c["available"] for c in district["categories"]}["ADMINISTRATIVE"] == -1
    assert gql(city, q, {"r": "330199"})["data"]["establishmentSummary"]["units"] == 0


def test_mismatch_stats_count_by_kind_status_source_and_unit(city):
    r = gql(city, "{ mismatchStats { total byKind { key count } byStatus { key count } bySource { key count } "
                  "byUnit { key count } } }")
    st = r["data"]["mismatchStats"]
    assert st["total"] == 1
    assert st["byKind"] == [{"key": "OVER_QUOTA", "count": 1}] and st["byStatus"] == [{"key": "OPEN", "count": 1}]
    assert st["byUnit"] == [{"key": city["branch"], "count": 1}] and sum(c["count"] for c in st["bySource"]) == 1
    with UnitOfWork(city["db"], actor="test") as uow:  # restoring the quota resolves it
        registry_changes.set_quota(uow, unit_code=city["branch"], category="ADMINISTRATIVE", approved=1, document_number=None,
                           effective=date(2025, 6, 1))
        uow.commit()
    st = gql(city, "{ mismatchStats(filter: {status: RESOLVED}) { total byStatus { key count } } }")["data"]["mismatchStats"]
    assert st == {"total": 1, "byStatus": [{"key": "RESOLVED", "count": 1}]}


def test_query_limits_are_settings(city, monkeypatch):
    monkeypatch.setenv("HUB_GRAPHQL_MAX_DEPTH", "3")
    monkeypatch.setenv("HUB_GRAPHQL_MAX_ALIASES", "1")
    monkeypatch.setenv("HUB_GRAPHQL_MAX_COST", "10")
    monkeypatch.setenv("HUB_GRAPHQL_MAX_TOKENS", "40")
    settings = load_settings()
    assert settings.graphql_limits() == {"max_depth": 3, "max_aliases": 1, "max_tokens": 40, "max_cost": 10}
    tight = TestClient(create_app(city["db"], settings=settings))
    for query, limit in (("{ units(first: 1) { edges { node { parent { code } } } } }", "depth"),
                         ("{ a: units(first: 1) { totalCount } b: units(first: 1) { totalCount } }", "alias"),
                         ("{ units(first: 11) { totalCount } }", "cost limit"),
                         ("{ " + " ".join(["__typename"] * 41) + " }", "token")):
        default = gql(city, query)
        assert "errors" not in default or all(limit not in e["message"].lower() for e in default["errors"]), default
        r = gql(city, query, client=tight)
        assert r.get("errors") and limit in " ".join(e["message"] for e in r["errors"]).lower().replace("aliases", "alias"), r


def test_production_mode_turns_introspection_and_graphiql_off_and_masks_unexpected_errors(city, monkeypatch):
    dev, prod = city["client"], TestClient(create_app(city["db"], production=True))
    intro = "{ __schema { queryType { name } } }"
    assert gql(city, intro, client=dev)["data"]["__schema"]["queryType"]["name"] == "Query"
    r = gql(city, intro, client=prod)
    assert "data" not in r or r["data"] is None
    assert any("introspection" in e["message"].lower() for e in r["errors"]), r
    assert dev.get("/graphiql").status_code == 200 and prod.get("/graphiql").status_code == 404

    from hub.api.loaders import Loaders

    async def broken(self, codes):
        raise RuntimeError("SELECT secret FROM internals")

    monkeypatch.setattr(Loaders, "_units", broken)
    from hub.api.execution import HubExecutionContext

    monkeypatch.setattr(HubExecutionContext, "compiled_reads", False)  # the loaders' path
    unit_q = 'query($c: String!) { unit(code: $c) { name } }'
    shown = gql(city, unit_q, {"c": city["bureau"]}, client=dev)
    masked = gql(city, unit_q, {"c": city["bureau"]}, client=prod)
    assert "SELECT secret" in shown["errors"][0]["message"]
    assert "secret" not in str(masked) and masked["errors"][0]["message"] == "Unexpected error."
    refused = gql(city, "{ persons(first: 1) { totalCount } }", role="AUDITOR", client=prod)  # an expected error stays
    assert "errors" not in refused
    monitor = create_token(city["db"], role="MONITOR", name="m")[1]
    r = prod.post("/graphql", json={"query": "{ persons(first: 1) { totalCount } }"},
                  headers={"Authorization": f"Bearer {monitor}"}).json()
    assert r["errors"][0]["extensions"]["code"] == "FORBIDDEN" and "may not read" in r["errors"][0]["message"]


def test_batched_requests_are_refused(city):
    r = city["client"].post("/graphql", json=[{"query": "{ __typename }"}, {"query": "{ __typename }"}],
                            headers={"Authorization": f"Bearer {city['tokens']['ADMIN']}"})
    assert r.status_code == 400


def test_every_mutation_is_logged_with_its_caller_and_published_through_the_outbox(city):
    import json

    from sqlalchemy import select

    from hub.adapters.orm import OperationLogRow, OutboxRow

    db = city["db"]
    new_code, person = unit_code(), make_person(city["db"], name="钱五")
    steps = [
        ("createUnit", 'mutation($c: String!) { createUnit(unit: {code: $c, name: "杭州市新设局", kind: GOVERNMENT_ORGAN, '
                       'level: CITY, regionCode: "330100", funding: FULL}, effectiveDate: "2026-01-01", '
                       'documentNumber: "杭编〔2026〕1号") { __typename } }', {"c": new_code}, "unit.create", new_code),
        ("updateUnit", 'mutation($c: String!) { updateUnit(code: $c, changes: {name: "杭州市新设二局"}, '
                       'effectiveDate: "2026-02-01") { __typename } }', {"c": new_code}, "unit.update", new_code),
        ("setQuota", 'mutation($c: String!) { setQuota(unitCode: $c, category: ADMINISTRATIVE, approved: 4, '
                     'effectiveDate: "2026-02-01") { __typename } }', {"c": new_code}, "quota.set", f"{new_code}/ADMINISTRATIVE"),
        ("setLeaderQuota", 'mutation($c: String!) { setLeaderQuota(unitCode: $c, rank: SECTION_CHIEF, approved: 1, '
                           'effectiveDate: "2026-02-01") { __typename } }', {"c": new_code}, "leader_quota.set",
         f"{new_code}/SECTION_CHIEF"),
        ("registerPerson", 'mutation($i: String!) { registerPerson(person: {idNumber: $i, name: "钱伍"}, '
                           'effectiveDate: "2026-02-01") { __typename } }', {"i": person}, "person.", person),
        ("endPosting", 'mutation($i: String!) { endPosting(idNumber: $i, endDate: "2026-03-01", reason: TRANSFER_OUT) '
                       '{ __typename } }', {"i": city["people"]["王三"]}, "posting.end", None),
        ("abolishUnit", 'mutation($c: String!) { abolishUnit(code: $c, effectiveDate: "2026-04-01") { __typename } }',
         {"c": new_code}, "unit.abolish", new_code),
    ]
    for field, query, variables, action, entity_id in steps:
        with db.read_session() as s:
            last_log = s.scalar(select(OperationLogRow.seq).order_by(OperationLogRow.seq.desc()).limit(1)) or 0
            last_out = s.scalar(select(OutboxRow.id).order_by(OutboxRow.id.desc()).limit(1)) or 0
        r = gql(city, query, variables)
        assert r["data"][field]["__typename"].endswith("Payload"), r
        with db.read_session() as s:
            logged = s.execute(select(OperationLogRow).where(OperationLogRow.seq > last_log)).scalars().all()
            sent = s.execute(select(OutboxRow).where(OutboxRow.id > last_out)).scalars().all()
        assert any(e.action.startswith(action) and (entity_id is None or e.entity_id == entity_id) for e in logged), \
            (field, [(e.action, e.entity_id) for e in logged])
        assert all(e.actor.startswith("ADMIN") for e in logged), [e.actor for e in logged]
        updates = [json.loads(o.value) for o in sent if o.topic == "registry.updates.v1"]
        assert updates and all(u["type"].startswith("gov.registry.") for u in updates), (field, [o.topic for o in sent])


def test_mismatches_carry_their_class_and_filter_and_count_by_it(city):
    """Issue 19 item 7: OVER_QUOTA is a management warning (管理预警), a ghost payroll line a discrepancy (比对疑点);
    the class is on every mismatch, in its event, in the filter and in the statistics."""
    from sqlalchemy import select

    from hub.adapters.orm import OutboxRow
    from tests.events import paid
    from tests.factories import id_number
    from tests.integration.registry_helpers import apply

    ghost = id_number(region="110105", serial=913)
    apply(city["db"], paid(ghost, "无名氏", city["bureau"]))
    both = gql(city, "{ mismatches(filter: {status: OPEN}) { edges { node { kind class } } } }")["data"]["mismatches"]
    pairs = {(e["node"]["kind"], e["node"]["class"]) for e in both["edges"]}
    assert ("OVER_QUOTA", "WARNING") in pairs and ("GHOST_PAYROLL", "DISCREPANCY") in pairs
    warn = gql(city, "{ mismatches(filter: {class: WARNING}) { edges { node { kind class } } } }")["data"]["mismatches"]
    assert warn["edges"] and {e["node"]["class"] for e in warn["edges"]} == {"WARNING"}
    st = gql(city, "{ mismatchStats(filter: {status: OPEN}) { total byClass { key count } } }")["data"]["mismatchStats"]
    by_class = {c["key"]: c["count"] for c in st["byClass"]}
    assert by_class["WARNING"] >= 1 and by_class["DISCREPANCY"] >= 1 and sum(by_class.values()) == st["total"]
    with city["db"].read_session() as s:
        datas = [r for r in s.execute(select(OutboxRow.value)).scalars() if "gov.registry.mismatch" in r]
    import json
    events = [json.loads(p) for p in datas]
    assert events and all(e["data"]["class"] in ("WARNING", "DISCREPANCY") for e in events)
    assert any(e["data"]["kind"] == "GHOST_PAYROLL" and e["data"]["class"] == "DISCREPANCY" for e in events)
