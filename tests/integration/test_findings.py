"""Findings (整改事项, contract section 11) through GraphQL on SQLite and PostgreSQL: the lifecycle OPEN → RECTIFYING →
VERIFIED → CLOSED (销号) and who may take each step — every role, each refusal leaving nothing changed — the events
on registry.supervision.v1 (no ID numbers), the overdue event raised once, and the findings the hub raises itself."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from hub.adapters.orm import FindingRow, FindingStepRow, MismatchRow, OperationLogRow, OutboxRow, PostingRow
from hub.api.app import create_app
from hub.domain.registry import Unit
from hub.service_layer import registry_changes as registry
from hub.service_layer.daily import run_supervision_checks
from hub.service_layer.findings import raise_overdue
from hub.service_layer.raised_findings import raise_hub_findings
from hub.service_layer.tokens import create_token
from hub.service_layer.unit_of_work import UnitOfWork
from hub.service_layer.workflows import documents
from hub.domain.workflows import Caller
from hub.domain.vocabulary import Role
from tests.factories import unit_code
from tests.integration.registry_helpers import hire, make_person, make_unit
from hub.domain.calendar import office_today

KEY = b"finding-test-key-0123456789abcdef"
FIELDS = """__typename ... on FindingPayload { finding { id status statusLabel category categoryLabel source deadline
    overdue unitCode evidence { kind ref } steps { action actionLabel actor role statusBefore statusAfter comment
    deadlineBefore deadlineAfter evidence { kind ref } } } }
    ... on NotAllowed { message } ... on WrongState { message } ... on FindingNotFound { message }
    ... on InvalidInput { message } ... on InvalidIdNumber { message } ... on UnitNotFound { message }"""
RECORD = "mutation($f: FindingInput!) { recordFinding(finding: $f) { %s } }" % FIELDS
UPDATE = ("mutation($id: ID!, $a: FindingAction!, $c: String, $e: [EvidenceInput!], $d: Date) "
          "{ updateFinding(id: $id, action: $a, comment: $c, evidence: $e, deadline: $d) { %s } }" % FIELDS)
LIST = """query($f: FindingFilter, $n: Int, $after: String) { findings(filter: $f, first: $n, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id unitCode status category overdue } } } }"""
TODAY = office_today()


def _district_unit(db, region: str, kind="GOVERNMENT_ORGAN") -> str:
    code = unit_code()
    with UnitOfWork(db, actor="test") as uow:
        registry.create_unit(uow, unit=Unit.new(code=code, name=f"{region}区测试中心", kind=kind, level="DISTRICT",
                                                region_code=region, funding="FULL"), effective=date(2020, 1, 1))
        registry.set_quota(uow, unit_code=code, category="ADMINISTRATIVE", approved=3, document_number="区编〔2020〕1号",
                           effective=date(2020, 1, 1))
        uow.commit()
    return code


@pytest.fixture
def office(db):
    a = make_unit(db, approved={"ADMINISTRATIVE": 2}, name="杭州市甲局")  # region 330100
    b = _district_unit(db, "330106")
    person = make_person(db, name="王芳")
    hire(db, person, a)
    with UnitOfWork(db, actor="test") as uow:
        documents.record_document(uow, Caller("t", Role.ADMIN), number="杭审〔2026〕7号", title="审计报告",
                                  issuer="杭州市审计局", issued_on=date(2026, 3, 1), kind="OTHER")
        uow.commit()
    tokens = {}
    for name, role, unit, region in (("ADMIN", "ADMIN", None, None), ("DISTRICT", "ADMIN", None, "330106"),
                                     ("AUDITOR", "AUDITOR", None, None), ("UNIT_A", "UNIT", a, None),
                                     ("UNIT_B", "UNIT", b, None), ("ORGANIZATION", "ORGANIZATION", None, None),
                                     ("FINANCE", "FINANCE", None, None), ("POLICE", "POLICE", None, None),
                                     ("HR", "HR", None, None), ("INSURANCE", "INSURANCE", None, None),
                                     ("MONITOR", "MONITOR", None, None)):
        _, tokens[name] = create_token(db, role=role, name=name.lower(), unit_code=unit, region_code=region)
    return {"db": db, "a": a, "b": b, "person": person, "tokens": tokens,
            "client": TestClient(create_app(db, form_key=KEY))}


def post(office, who, query, variables=None, purpose=None):
    headers = {"Authorization": f"Bearer {office['tokens'][who]}"}
    if purpose:
        headers["X-Purpose"] = purpose
    return office["client"].post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers).json()


def gql(office, who, query, variables=None, purpose=None):
    r = post(office, who, query, variables, purpose)
    assert "errors" not in r, r
    return r["data"]


def new_finding(unit, **kw):
    return {"unitCode": unit, "source": "AUDIT", "category": "OVER_QUOTA_HIRING", "title": "超编进人2名",
            "description": "2025年度审计发现该局超编进人", "recommendation": "限期消化超编人员",
            "recommendationKind": "ABSORB_EXCESS", "responsibleParty": "杭州市甲局", "deadline": str(TODAY + timedelta(days=60)),
            "reference": "杭审〔2026〕7号", **kw}


def state(db):
    """Everything a refused step must leave as it was."""
    with db.read_session() as s:
        return (s.execute(select(FindingRow.id, FindingRow.status, FindingRow.deadline, FindingRow.verified_at,
                                 FindingRow.closed_at).order_by(FindingRow.id)).all(),
                s.scalar(select(func.count()).select_from(FindingStepRow)),
                s.scalar(select(func.count()).select_from(OutboxRow)),
                s.scalar(select(func.count()).select_from(OperationLogRow)))


def supervision_events(db):
    with db.read_session() as s:
        rows = s.execute(select(OutboxRow.key, OutboxRow.value).where(OutboxRow.topic == "registry.supervision.v1")
                         .order_by(OutboxRow.id)).all()
    return [(k, json.loads(v)) for k, v in rows]


def test_the_lifecycle_to_closing_with_every_step_logged_and_published(office):
    db, a, person = office["db"], office["a"], office["person"]
    r = gql(office, "AUDITOR", RECORD, {"f": new_finding(a, evidence=[{"kind": "PERSON", "ref": person},
                                                                     {"kind": "DOCUMENT", "ref": "杭审〔2026〕7号"}])})
    f = r["recordFinding"]["finding"]
    fid = f["id"]
    assert (f["status"], f["statusLabel"], f["categoryLabel"], f["overdue"]) == ("OPEN", "待整改", "超编进人", False)
    assert f["steps"][0]["action"] == "RECORDED" and f["steps"][0]["role"] == "AUDITOR"

    progress = gql(office, "UNIT_A", UPDATE, {"id": fid, "a": "PROGRESS", "c": "已调出1人",
                                              "e": [{"kind": "DOCUMENT", "ref": "杭审〔2026〕7号"}]})["updateFinding"]
    assert progress["finding"]["status"] == "RECTIFYING", progress
    again = gql(office, "UNIT_A", UPDATE, {"id": fid, "a": "PROGRESS", "c": f"第2人({person})已退休"})["updateFinding"]
    assert again["finding"]["status"] == "RECTIFYING"
    later = str(TODAY + timedelta(days=90))
    moved = gql(office, "ADMIN", UPDATE, {"id": fid, "a": "DEADLINE_CHANGED", "c": "退休手续办理中", "d": later})["updateFinding"]
    assert moved["finding"]["deadline"] == later
    verified = gql(office, "AUDITOR", UPDATE, {"id": fid, "a": "VERIFIED", "c": "核实已整改"})["updateFinding"]
    assert verified["finding"]["status"] == "VERIFIED"
    reopened = gql(office, "ADMIN", UPDATE, {"id": fid, "a": "REOPENED", "c": "仍超编1名"})["updateFinding"]
    assert reopened["finding"]["status"] == "RECTIFYING"
    gql(office, "ADMIN", UPDATE, {"id": fid, "a": "VERIFIED"})
    closed = gql(office, "ADMIN", UPDATE, {"id": fid, "a": "CLOSED", "c": "同意销号"})["updateFinding"]["finding"]
    assert closed["status"] == "CLOSED"
    assert [(s["action"], s["role"], s["statusBefore"], s["statusAfter"]) for s in closed["steps"]] == [
        ("RECORDED", "AUDITOR", None, "OPEN"), ("PROGRESS", "UNIT", "OPEN", "RECTIFYING"),
        ("PROGRESS", "UNIT", "RECTIFYING", "RECTIFYING"), ("DEADLINE_CHANGED", "ADMIN", "RECTIFYING", "RECTIFYING"),
        ("VERIFIED", "AUDITOR", "RECTIFYING", "VERIFIED"), ("REOPENED", "ADMIN", "VERIFIED", "RECTIFYING"),
        ("VERIFIED", "ADMIN", "RECTIFYING", "VERIFIED"), ("CLOSED", "ADMIN", "VERIFIED", "CLOSED")]
    assert closed["steps"][1]["actor"] == "UNIT:unit_a"
    assert closed["steps"][1]["evidence"] == [{"kind": "DOCUMENT", "ref": "杭审〔2026〕7号"}]
    assert closed["steps"][3]["deadlineAfter"] == later and closed["steps"][3]["comment"] == "退休手续办理中"

    # every step is an event keyed by the finding id; none carries the linked person's ID number
    evs = supervision_events(db)
    assert [e["type"].rsplit(".", 1)[1] for _, e in evs] == ["opened"] + ["updated"] * 6 + ["closed"]
    assert {k for k, _ in evs} == {fid}
    assert all(person not in json.dumps(e, ensure_ascii=False) for _, e in evs)  # also the one typed into a comment:
    assert evs[2][1]["data"]["step"]["comment"] == "第2人([身份证号已隐去])已退休"
    assert evs[0][1]["data"]["person_count"] == 1
    assert evs[0][1]["data"]["evidence"] == [{"kind": "DOCUMENT", "ref": "杭审〔2026〕7号"}]
    assert evs[-1][1]["data"]["status"] == "CLOSED" and evs[-1][1]["data"]["step"]["comment"] == "同意销号"
    # and in the operation log, with the actor
    with db.read_session() as s:
        log = s.execute(select(OperationLogRow.actor, OperationLogRow.action).where(OperationLogRow.entity == "finding")
                        .order_by(OperationLogRow.seq)).all()
    assert log[0] == ("AUDITOR:auditor", "finding.recorded") and log[-1] == ("ADMIN:admin", "finding.closed")
    assert len(log) == 8
    # closed is final
    before = state(db)
    r = gql(office, "ADMIN", UPDATE, {"id": fid, "a": "PROGRESS", "c": "x"})["updateFinding"]
    assert r["__typename"] == "WrongState"
    assert state(db) == before


def test_who_may_do_what_and_every_refusal_changes_nothing(office):
    db, a, b = office["db"], office["a"], office["b"]
    fid = gql(office, "ADMIN", RECORD, {"f": new_finding(a)})["recordFinding"]["finding"]["id"]
    bid = gql(office, "DISTRICT", RECORD, {"f": new_finding(b, source="INSPECTION", category="MIXED_USE")})["recordFinding"]["finding"]["id"]
    before = state(db)

    def refused(who, query, variables, expect):
        r = post(office, who, query, variables)
        got = r["data"] and next(iter(r["data"].values()))
        assert got and got["__typename"] == expect, (who, r)
        assert state(db) == before, who

    for who in ("UNIT_A", "ORGANIZATION", "FINANCE", "POLICE", "HR", "INSURANCE", "MONITOR"):
        refused(who, RECORD, {"f": new_finding(a)}, "NotAllowed")
    refused("DISTRICT", RECORD, {"f": new_finding(a)}, "NotAllowed")  # a city unit: not its region
    refused("ADMIN", RECORD, {"f": new_finding(a, source="HUB")}, "NotAllowed")  # the hub's own source
    refused("ADMIN", RECORD, {"f": new_finding(a, deadline=str(TODAY - timedelta(days=1)))}, "InvalidInput")
    refused("ADMIN", RECORD, {"f": new_finding(a, title="  ")}, "InvalidInput")
    refused("ADMIN", RECORD, {"f": new_finding(a, evidence=[{"kind": "DOCUMENT", "ref": "无此文号"}])}, "InvalidInput")
    refused("ADMIN", RECORD, {"f": new_finding(a, evidence=[{"kind": "PERSON", "ref": "110101199001011234"}])}, "InvalidIdNumber")
    refused("ADMIN", RECORD, {"f": new_finding(a, evidence=[{"kind": "MISMATCH", "ref": "999999"}])}, "InvalidInput")
    refused("ADMIN", RECORD, {"f": new_finding(a, evidence=[{"kind": "MISMATCH", "ref": "0471d1b6-284f-4b41-aad2-e5c7796bf927"}])},
            "InvalidInput")
    refused("ADMIN", RECORD, {"f": new_finding("91330100MA27XXXX0X")}, "InvalidIdNumber")
    refused("ADMIN", RECORD, {"f": new_finding(unit_code())}, "UnitNotFound")
    refused("ADMIN", RECORD, {"f": new_finding(a, title="超" * 301)}, "InvalidInput")

    # UNIT: only progress, only on its own unit's findings; another unit's finding does not exist for it
    for action in ("VERIFIED", "CLOSED", "REOPENED"):
        refused("UNIT_A", UPDATE, {"id": fid, "a": action, "c": "x"}, "NotAllowed")
    refused("UNIT_A", UPDATE, {"id": fid, "a": "DEADLINE_CHANGED", "c": "x", "d": str(TODAY + timedelta(days=300))}, "NotAllowed")
    refused("UNIT_B", UPDATE, {"id": fid, "a": "PROGRESS", "c": "x"}, "FindingNotFound")
    refused("UNIT_A", UPDATE, {"id": fid, "a": "PROGRESS"}, "InvalidInput")  # a progress report says what was done
    refused("DISTRICT", UPDATE, {"id": fid, "a": "PROGRESS", "c": "x"}, "FindingNotFound")  # not its region
    for who in ("ORGANIZATION", "FINANCE", "POLICE", "MONITOR"):
        refused(who, UPDATE, {"id": fid, "a": "PROGRESS", "c": "x"}, "NotAllowed")
    refused("ADMIN", UPDATE, {"id": fid, "a": "CLOSED"}, "WrongState")  # 销号 only after verification
    refused("ADMIN", UPDATE, {"id": fid, "a": "REOPENED", "c": "x"}, "WrongState")
    refused("ADMIN", UPDATE, {"id": fid, "a": "RECORDED"}, "NotAllowed")
    refused("ADMIN", UPDATE, {"id": fid, "a": "OVERDUE"}, "NotAllowed")
    refused("ADMIN", UPDATE, {"id": fid, "a": "DEADLINE_CHANGED", "d": str(TODAY + timedelta(days=9))}, "InvalidInput")
    refused("ADMIN", UPDATE, {"id": fid, "a": "DEADLINE_CHANGED", "c": "x"}, "InvalidInput")
    refused("ADMIN", UPDATE, {"id": fid, "a": "DEADLINE_CHANGED", "c": "x", "d": str(TODAY - timedelta(days=2))}, "InvalidInput")
    refused("ADMIN", UPDATE, {"id": fid, "a": "PROGRESS", "c": "x", "d": str(TODAY + timedelta(days=9))}, "InvalidInput")
    refused("ADMIN", UPDATE, {"id": "987654321", "a": "PROGRESS", "c": "x"}, "FindingNotFound")
    refused("ADMIN", UPDATE, {"id": "not-a-number", "a": "PROGRESS", "c": "x"}, "FindingNotFound")
    refused("ADMIN", UPDATE, {"id": str(2**70), "a": "PROGRESS", "c": "x"}, "FindingNotFound")
    refused("ADMIN", UPDATE, {"id": fid, "a": "PROGRESS", "c": "x" * 2001}, "InvalidInput")

    # the district office acts in its region; reads: each sees what it may
    assert gql(office, "DISTRICT", UPDATE, {"id": bid, "a": "VERIFIED"})["updateFinding"]["finding"]["status"] == "VERIFIED"
    seen = {who: {e["node"]["id"] for e in gql(office, who, LIST)["findings"]["edges"]}
            for who in ("ADMIN", "AUDITOR", "DISTRICT", "UNIT_A", "UNIT_B")}
    assert seen == {"ADMIN": {fid, bid}, "AUDITOR": {fid, bid}, "DISTRICT": {bid}, "UNIT_A": {fid}, "UNIT_B": {bid}}
    for who in ("ORGANIZATION", "FINANCE", "POLICE", "MONITOR"):
        r = post(office, who, LIST)
        assert r["errors"][0]["extensions"]["code"] == "FORBIDDEN", r
    one = "query($id: ID!) { finding(id: $id) { id status } }"
    assert gql(office, "UNIT_B", one, {"id": fid})["finding"] is None
    assert gql(office, "UNIT_A", one, {"id": fid})["finding"]["id"] == fid


def test_a_unit_sees_linked_id_numbers_only_with_a_purpose_and_each_read_is_logged(office):
    from hub.adapters.orm import AccessLogRow

    a, person = office["a"], office["person"]
    fid = gql(office, "ADMIN", RECORD, {"f": new_finding(a, evidence=[{"kind": "PERSON", "ref": person}])})["recordFinding"]["finding"]["id"]
    q = "query($id: ID!) { finding(id: $id) { evidence { kind ref } } }"
    masked = gql(office, "UNIT_A", q, {"id": fid})["finding"]["evidence"][0]["ref"]
    assert masked != person and masked[:6] == person[:6] and masked[-4:] == person[-4:]
    assert gql(office, "UNIT_A", q, {"id": fid}, purpose="rectification check 2026-7")["finding"]["evidence"][0]["ref"] == person
    with office["db"].read_session() as s:
        reads = s.execute(select(AccessLogRow.actor, AccessLogRow.field).where(AccessLogRow.id_number == person)).all()
    assert ("UNIT:unit_a", "Finding.evidence") in reads


def test_filters_and_pages(office):
    db, a, b = office["db"], office["a"], office["b"]
    ids = [gql(office, "ADMIN", RECORD, {"f": new_finding(a, category=c)})["recordFinding"]["finding"]["id"]
           for c in ("OVER_QUOTA_HIRING", "GHOST_PAYROLL", "MIXED_USE")]
    other = gql(office, "ADMIN", RECORD, {"f": new_finding(b, source="INSPECTION")})["recordFinding"]["finding"]["id"]
    with db.session() as s, s.begin():
        s.execute(update(FindingRow).where(FindingRow.id == int(ids[0])).values(deadline=TODAY - timedelta(days=1)))

    def listed(f, n=None):
        return [e["node"]["id"] for e in gql(office, "AUDITOR", LIST, {"f": f, "n": n})["findings"]["edges"]]

    assert listed({"unitCode": a}) == ids[::-1]
    assert listed({"regionCode": "330106"}) == [other]
    assert listed({"category": "GHOST_PAYROLL"}) == [ids[1]]
    assert listed({"source": "INSPECTION"}) == [other]
    assert listed({"overdue": True}) == [ids[0]]
    assert set(listed({"overdue": False})) == {ids[1], ids[2], other}
    assert listed({"status": "OPEN", "unitCode": b}) == [other]
    page = gql(office, "AUDITOR", LIST, {"n": 2})["findings"]
    assert page["totalCount"] == 4 and page["pageInfo"]["hasNextPage"]
    rest = gql(office, "AUDITOR", LIST, {"n": 2, "after": page["pageInfo"]["endCursor"]})["findings"]
    assert [e["node"]["id"] for e in page["edges"] + rest["edges"]] == [other] + ids[::-1]
    assert post(office, "AUDITOR", LIST, {"f": {"unitCode": "bad"}})["errors"]
    # a region code that is not six digits is an error, not an empty list (it would look like "nothing to rectify")
    bad_region = post(office, "AUDITOR", LIST, {"f": {"regionCode": "33010"}})
    assert bad_region["data"] is None and "region code" in bad_region["errors"][0]["message"]


def test_overdue_is_raised_once_and_again_only_after_a_new_deadline_passes(office):
    db, a = office["db"], office["a"]
    fid = gql(office, "ADMIN", RECORD, {"f": new_finding(a, deadline=str(TODAY))})["recordFinding"]["finding"]["id"]
    done = gql(office, "ADMIN", RECORD, {"f": new_finding(a, deadline=str(TODAY))})["recordFinding"]["finding"]["id"]
    gql(office, "ADMIN", UPDATE, {"id": done, "a": "VERIFIED"})  # rectified in time: never overdue

    def sweep(day):
        with UnitOfWork(db, actor="system:test") as uow:
            out = [r.id for r in raise_overdue(uow, day)]
            uow.commit()
        return out

    assert sweep(TODAY) == []  # due today is not overdue yet
    assert sweep(TODAY + timedelta(days=1)) == [int(fid)]
    assert sweep(TODAY + timedelta(days=2)) == []  # once, not on every sweep
    overdue = [e for _, e in supervision_events(db) if e["type"] == "gov.registry.finding.overdue"]
    assert len(overdue) == 1 and overdue[0]["data"]["finding_id"] == int(fid) and overdue[0]["data"]["overdue"]
    assert overdue[0]["data"]["step"]["role"] == "SYSTEM"
    new = str(TODAY + timedelta(days=5))
    gql(office, "ADMIN", UPDATE, {"id": fid, "a": "DEADLINE_CHANGED", "c": "延期", "d": new})
    assert sweep(TODAY + timedelta(days=5)) == []
    assert sweep(TODAY + timedelta(days=6)) == [int(fid)]
    r = gql(office, "ADMIN", "query($id: ID!) { finding(id: $id) { steps { action role } } }", {"id": fid})
    assert [s["action"] for s in r["finding"]["steps"]] == ["RECORDED", "OVERDUE", "DEADLINE_CHANGED", "OVERDUE"]


def test_the_hub_raises_mixed_use_and_overdue_policy_findings_once_per_condition(office, db):
    from hub.adapters.orm import PolicyOverQuotaRow
    from hub.service_layer.registry_checks import recheck_mixed_categories
    from hub.service_layer.mismatches import MismatchBook
    from datetime import datetime, timezone

    inst = _district_unit(db, "330106", kind="PUBLIC_INSTITUTION")
    p1, p2 = make_person(db, name="赵一"), make_person(db, name="钱二")
    hire(db, p1, inst, category="ADMINISTRATIVE")  # an administrative slot in a public institution: 混编混岗
    hire(db, p2, inst, category="ADMINISTRATIVE")
    over = make_unit(db, approved={"ADMINISTRATIVE": 2}, name="杭州市乙局")
    p3, p4 = make_person(db, name="孙三"), make_person(db, name="李四")
    hire(db, p3, over)
    hire(db, p4, over)
    with UnitOfWork(db, actor="test") as uow:
        registry.set_quota(uow, unit_code=over, category="ADMINISTRATIVE", approved=1, document_number="杭编〔2025〕8号",
                           effective=date(2025, 1, 1))  # a cut (核减) below what is used
        recheck_mixed_categories(uow, MismatchBook(uow))
        uow.session.add(PolicyOverQuotaRow(unit_code=over, category="ADMINISTRATIVE", slots=1, document_number="杭编〔2025〕9号",
                                           deadline=TODAY - timedelta(days=3), reason="军转安置", recorded_by="t",
                                           recorded_at=datetime.now(timezone.utc)))
        uow.commit()
    opened, overdue = run_supervision_checks(db, today=TODAY)
    assert len(opened) == 2 and overdue == []
    with db.read_session() as s:
        rows = {r.category: r for r in s.execute(select(FindingRow).where(FindingRow.id.in_(opened))).scalars()}
        mixed_ids = set(s.execute(select(MismatchRow.id).where(MismatchRow.kind == "MIXED_CATEGORY",
                                                              MismatchRow.unit_code == inst)).scalars())
    mixed, policy = rows["MIXED_USE"], rows["OVER_QUOTA_HIRING"]
    assert (mixed.unit_code, mixed.source, mixed.status, mixed.condition_key) == (inst, "HUB", "OPEN", f"MIXED_USE:{inst}")
    ev = json.loads(mixed.evidence)
    assert {e["ref"] for e in ev if e["kind"] == "PERSON"} == {p1, p2}
    assert {e["ref"] for e in ev if e["kind"] == "MISMATCH"} == mixed_ids and mixed_ids
    assert (policy.unit_code, policy.reference, policy.deadline) == (over, "杭编〔2025〕9号", TODAY + timedelta(days=90))
    assert "超1名" in policy.title

    # idempotent: nothing new while they are live — also after progress and verification
    assert run_supervision_checks(db, today=TODAY) == ([], [])
    gql(office, "ADMIN", UPDATE, {"id": str(mixed.id), "a": "VERIFIED"})
    with UnitOfWork(db, actor="test") as uow:
        assert raise_hub_findings(uow, TODAY).opened == []
        uow.rollback()
    # closed (销号) while the condition persists: the next sweep opens a new finding for it
    gql(office, "ADMIN", UPDATE, {"id": str(mixed.id), "a": "CLOSED"})
    opened2, _ = run_supervision_checks(db, today=TODAY)
    with db.read_session() as s:
        assert s.execute(select(FindingRow.category).where(FindingRow.id.in_(opened2))).scalars().all() == ["MIXED_USE"]
    # the condition gone (postings fit), nothing more is raised
    with db.session() as s, s.begin():
        s.execute(update(PostingRow).where(PostingRow.unit_code == inst).values(category="PUBLIC_INSTITUTION"))
    assert run_supervision_checks(db, today=TODAY) == ([], [])
    opened_events = [e for _, e in supervision_events(db) if e["type"] == "gov.registry.finding.opened"]
    assert len(opened_events) == 3 and all(e["data"]["source"] == "HUB" for e in opened_events)
    assert all(p not in json.dumps(e, ensure_ascii=False) for e in opened_events for p in (p1, p2))


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_two_sweeps_at_once_open_each_hub_finding_once(db):
    import threading

    inst = _district_unit(db, "330106", kind="PUBLIC_INSTITUTION")
    for name in ("甲", "乙"):
        hire(db, make_person(db, name=name), inst, category="ADMINISTRATIVE")
    barrier, results, errors = threading.Barrier(4), [], []

    def sweep():
        barrier.wait()
        try:
            results.append(run_supervision_checks(db, today=TODAY)[0])
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(len(r) for r in results) == [0, 0, 0, 1]
    with db.read_session() as s:
        assert s.scalar(select(func.count()).select_from(FindingRow).where(FindingRow.condition_key == f"MIXED_USE:{inst}")) == 1


def test_a_unit_token_is_no_membership_oracle_through_person_evidence(office):
    """A UNIT token reads only persons actively posted in its unit (docs/access.md, "No membership oracle"): a progress
    report linking a person of another unit is answered exactly as a number nobody holds, and changes nothing."""
    from tests.factories import id_number

    db, a, b = office["db"], office["a"], office["b"]
    other = make_person(db, name="李四", birth=date(1979, 2, 3))
    hire(db, other, b)
    fid = gql(office, "ADMIN", RECORD, {"f": new_finding(a)})["recordFinding"]["finding"]["id"]
    before = state(db)
    answers = []
    for ref in (other, id_number(birth=date(1966, 7, 8), serial=321)):
        r = post(office, "UNIT_A", UPDATE, {"id": fid, "a": "PROGRESS", "c": "已整改",
                                            "e": [{"kind": "PERSON", "ref": ref}]})["data"]["updateFinding"]
        answers.append((r["__typename"], r.get("message", "").replace(ref[:6], "")))
    assert answers[0] == answers[1] and answers[0][0] == "InvalidInput", answers
    assert state(db) == before
    # its own staff it may link
    ok = gql(office, "UNIT_A", UPDATE, {"id": fid, "a": "PROGRESS", "c": "已整改",
                                        "e": [{"kind": "PERSON", "ref": office["person"]}]})["updateFinding"]
    assert ok["__typename"] == "FindingPayload", ok


def test_an_id_number_in_the_reference_or_in_full_width_digits_does_not_reach_the_events(office):
    """The reference (the audit report's number, free text) was published as typed, and an ID number typed with a
    Chinese input method's full-width digits (１１０１…) passed the withholding: neither reaches the events."""
    db, a, person = office["db"], office["a"], office["person"]
    wide = person.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789X"})
    gql(office, "AUDITOR", RECORD, {"f": new_finding(a, reference=f"审计发现{person}", title=f"{wide}超编进人")})
    [(_, e)] = supervision_events(db)
    text = json.dumps(e, ensure_ascii=False)
    assert person not in text and wide not in text, text
    assert e["data"]["reference"] == "审计发现[身份证号已隐去]" and e["data"]["title"] == "[身份证号已隐去]超编进人"
