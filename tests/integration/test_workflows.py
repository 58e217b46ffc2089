"""Workflows through GraphQL on SQLite and PostgreSQL (contract section 9): onboarding with joint review, return and
resubmit, every refusal, district offices, hiring plans and freezes, departure and transfer, approval forms."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from hub.adapters.orm import (
    AccessLogRow,
    ApprovalFormRow,
    MismatchRow,
    OnboardingRow,
    OperationLogRow,
    OutboxRow,
    PostingRow,
)
from hub.adapters import access_chain
from hub.api.app import create_app
from hub.domain.registry import Unit
from hub.service_layer import registry_changes
from hub.service_layer.establishment import establishments
from connectors.spec import partner_row
from hub.service_layer.partner_events import apply_events
from hub.service_layer.tokens import create_token
from hub.service_layer.unit_of_work import UnitOfWork
from tests import events as ev
from tests.factories import id_number, unit_code
from tests.integration.registry_helpers import hire, make_person, make_unit
from hub.domain.calendar import office_today

KEY = b"workflow-test-key-0123456789abcdef"
ONBOARD_FIELDS = """__typename ... on OnboardingPayload { onboarding { id status round requiredReviews name
    unit { code } steps { actor role action comment round } form { number code kind } posting { active category unit { code } } } }
    ... on QuotaExhausted { message } ... on PersonAlreadyPosted { message } ... on IdentityNotVerified { message }
    ... on ReviewPending { message } ... on NotAllowed { message } ... on InvalidInput { message }
    ... on InvalidIdNumber { message } ... on UnitNotFound { message } ... on UnitFrozen { message }
    ... on ApplicationNotFound { message } ... on WrongState { message }"""
SUBMIT = "mutation($a: OnboardingInput!) { submitOnboarding(application: $a, comment: \"首次申报\") { %s } }" % ONBOARD_FIELDS
REVIEW = "mutation($id: ID!, $ok: Boolean!, $c: String) { reviewOnboarding(id: $id, approve: $ok, comment: $c) { %s } }" % ONBOARD_FIELDS
APPROVE = "mutation($id: ID!) { approveOnboarding(id: $id, comment: \"同意进编\") { %s } }" % ONBOARD_FIELDS
RESUBMIT = "mutation($id: ID!, $a: OnboardingInput!) { resubmitOnboarding(id: $id, application: $a, comment: \"已补正\") { %s } }" % ONBOARD_FIELDS
PLAN_FIELDS = """__typename ... on HiringPlanPayload { hiringPlan { id status slots approvedSlots filled form { number kind } } }
    ... on QuotaExhausted { message } ... on UnitOverQuota { message } ... on UnitFrozen { message }
    ... on NotAllowed { message } ... on InvalidInput { message } ... on WrongState { message }"""
POSTING_FIELDS = """__typename ... on PostingPayload { posting { active endReason category unit { code } } form { number code kind } }
    ... on QuotaExhausted { message } ... on NotAllowed { message } ... on PostingNotFound { message }
    ... on InvalidInput { message } ... on UnitFrozen { message }"""


def _police(db, idn, name, status="ALIVE"):
    with UnitOfWork(db, actor="test:police") as uow:
        apply_events(uow, partner_row=partner_row, events=[ev.translated(ev.police(idn, name, status=status))])
        uow.commit()


def _district_unit(db, region: str, approved: dict) -> str:
    code = unit_code()
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.create_unit(uow, unit=Unit.new(code=code, name=f"{region}区测试局", kind="COURT", level="DISTRICT",
                                                region_code=region, funding="FULL"), effective=date(2020, 1, 1))
        for cat, n in approved.items():
            registry_changes.set_quota(uow, unit_code=code, category=cat, approved=n, document_number="区编〔2020〕1号",
                               effective=date(2020, 1, 1))
        uow.commit()
    return code


@pytest.fixture
def office(db):
    a = make_unit(db, approved={"ADMINISTRATIVE": 2, "PUBLIC_INSTITUTION": 3}, name="杭州市甲局")  # region 330100
    b = _district_unit(db, "330106", {"ADMINISTRATIVE": 1, "WORKER": 2})
    tokens = {}
    for name, role, unit, region in (("ADMIN", "ADMIN", None, None), ("DISTRICT", "ADMIN", None, "330106"),
                                     ("UNIT_A", "UNIT", a, None), ("UNIT_B", "UNIT", b, None),
                                     ("ORGANIZATION", "ORGANIZATION", None, None), ("HR", "HR", None, None),
                                     ("POLICE", "POLICE", None, None), ("AUDITOR", "AUDITOR", None, None)):
        _, tokens[name] = create_token(db, role=role, name=name.lower(), unit_code=unit, region_code=region)
    return {"db": db, "a": a, "b": b, "tokens": tokens, "client": TestClient(create_app(db, form_key=KEY))}


def gql(office, who, query, variables=None):
    r = office["client"].post("/graphql", json={"query": query, "variables": variables or {}},
                              headers={"Authorization": f"Bearer {office['tokens'][who]}"}).json()
    assert "errors" not in r, r
    return r["data"]


def application(unit, idn, name="李明", category="ADMINISTRATIVE", route="CIVIL_SERVICE_EXAM", **kw):
    return {"unitCode": unit, "idNumber": idn, "name": name, "category": category, "route": route,
            "startDate": "2026-03-01", **kw}


def submit(office, who, app):
    return gql(office, who, SUBMIT, {"a": app})["submitOnboarding"]


def count(db, model, *where):
    with db.read_session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def events(db, type_):
    with db.read_session() as s:
        return [json.loads(v) for v in s.execute(select(OutboxRow.value).order_by(OutboxRow.id)).scalars()
                if json.loads(v)["type"] == type_]


def test_onboarding_from_submission_to_posting_with_its_form(office):
    db, a = office["db"], office["a"]
    idn = id_number(date(1998, 5, 4))
    _police(db, idn, "李明")
    r = submit(office, "UNIT_A", application(a, idn))
    assert r["__typename"] == "OnboardingPayload", r
    app = r["onboarding"]
    assert app["status"] == "IN_REVIEW" and app["requiredReviews"] == ["ORGANIZATION"] and app["round"] == 1
    oid = app["id"]
    assert gql(office, "ADMIN", APPROVE, {"id": oid})["approveOnboarding"]["__typename"] == "ReviewPending"
    assert gql(office, "HR", REVIEW, {"id": oid, "ok": True})["reviewOnboarding"]["__typename"] == "NotAllowed"
    assert gql(office, "UNIT_A", APPROVE, {"id": oid})["approveOnboarding"]["__typename"] == "NotAllowed"
    r = gql(office, "ORGANIZATION", REVIEW, {"id": oid, "ok": True, "c": "考察合格"})["reviewOnboarding"]
    assert r["onboarding"]["status"] == "IN_REVIEW"
    r = gql(office, "ADMIN", APPROVE, {"id": oid})["approveOnboarding"]
    assert r["__typename"] == "OnboardingPayload", r
    o = r["onboarding"]
    assert o["status"] == "APPROVED"
    assert o["posting"] == {"active": True, "category": "ADMINISTRATIVE", "unit": {"code": a}}
    assert [(s["role"], s["action"], s["comment"]) for s in o["steps"]] == [
        ("UNIT", "SUBMITTED", "首次申报"), ("ORGANIZATION", "REVIEW_APPROVED", "考察合格"), ("ADMIN", "APPROVED", "同意进编")]
    assert o["steps"][0]["actor"] == "UNIT:unit_a"
    form = o["form"]
    assert form["kind"] == "ONBOARDING" and form["number"].startswith("JB")
    # the posting.started event carries the form number; the onboarding's steps are events too
    started = [e for e in events(db, "gov.registry.posting.started") if e["subject"] == idn]
    assert len(started) == 1 and started[0]["data"]["form_number"] == form["number"]
    assert [e["type"] for e in events(db, "gov.registry.onboarding.submitted")] == ["gov.registry.onboarding.submitted"]
    assert len(events(db, "gov.registry.onboarding.approved")) == 1
    with db.read_session() as s:
        log = s.execute(select(OperationLogRow.actor, OperationLogRow.action, OperationLogRow.after)
                        .where(OperationLogRow.entity == "onboarding").order_by(OperationLogRow.seq)).all()
    assert [(x.actor, x.action) for x in log] == [("UNIT:unit_a", "onboarding.submitted"),
                                                 ("ORGANIZATION:organization", "onboarding.reviewed"),
                                                 ("ADMIN:admin", "onboarding.approved")]
    assert json.loads(log[1].after)["comment"] == "考察合格"
    # the form verifies; a changed code or number does not
    verify = "query($n: String!, $c: String!) { verifyApprovalForm(number: $n, code: $c) { valid form { kind number } } }"
    ok = gql(office, "POLICE", verify, {"n": form["number"], "c": form["code"]})
    assert ok["verifyApprovalForm"] == {"valid": True, "form": {"kind": "ONBOARDING", "number": form["number"]}}
    bad_code = form["code"][:-1] + ("0" if form["code"][-1] != "0" else "1")
    assert gql(office, "POLICE", verify, {"n": form["number"], "c": bad_code})["verifyApprovalForm"] == {"valid": False, "form": None}
    other_number = form["number"][:-1] + ("9" if form["number"][-1] != "9" else "8")
    assert gql(office, "POLICE", verify, {"n": other_number, "c": form["code"]})["verifyApprovalForm"]["valid"] is False
    # approving twice is refused and changes nothing
    assert gql(office, "ADMIN", APPROVE, {"id": oid})["approveOnboarding"]["__typename"] == "WrongState"
    assert count(db, PostingRow, PostingRow.id_number == idn) == 1


def test_a_changed_fact_in_the_database_fails_verification_and_the_printed_page(office):
    db, a = office["db"], office["a"]
    idn = id_number(date(1997, 1, 2))
    oid = submit(office, "ADMIN", application(a, idn, route="OPEN_RECRUITMENT", category="PUBLIC_INSTITUTION"))["onboarding"]["id"]
    gql(office, "HR", REVIEW, {"id": oid, "ok": True})
    form = gql(office, "ADMIN", APPROVE, {"id": oid})["approveOnboarding"]["onboarding"]["form"]
    page = office["client"].get(f"/forms/{form['number']}", params={"code": form["code"]})
    assert page.status_code == 200 and "进编审批表" in page.text and "李明" in page.text and "事业单位公开招聘" in page.text
    assert office["client"].get(f"/forms/{form['number']}", params={"code": "0" * 16}).status_code == 404
    # the page shows the person: its view is a logged read (the failed one is not: it showed nothing)
    with db.read_session() as s:
        views = s.execute(select(AccessLogRow.actor, AccessLogRow.role, AccessLogRow.field, AccessLogRow.operation)
                          .where(AccessLogRow.id_number == idn, AccessLogRow.field == "Form.page")).all()
    assert views == [(f"FORM:{form['number']}", "FORM", "Form.page", form["number"])]
    with db.read_session() as s:
        assert access_chain.verify(s, key=db.audit_key).ok  # the read is sealed into the chain like any other
    with db.session() as s, s.begin():
        s.execute(update(ApprovalFormRow).where(ApprovalFormRow.number == form["number"]).values(
            facts=func.replace(ApprovalFormRow.facts, "李明", "李鸣")))
    verify = "query($n: String!, $c: String!) { verifyApprovalForm(number: $n, code: $c) { valid } }"
    assert gql(office, "ADMIN", verify, {"n": form["number"], "c": form["code"]})["verifyApprovalForm"]["valid"] is False
    page = office["client"].get(f"/forms/{form['number']}", params={"code": form["code"]})
    assert page.status_code == 404 and "核验失败" in page.text


def test_return_and_resubmit_start_a_new_round_of_reviews(office):
    a = office["a"]
    idn = id_number(date(1990, 8, 8))
    oid = submit(office, "UNIT_A", application(a, idn, name="赵军", route="MILITARY_TRANSFER"))["onboarding"]["id"]
    assert gql(office, "ORGANIZATION", REVIEW, {"id": oid, "ok": True})["reviewOnboarding"]["onboarding"]["requiredReviews"] == ["HR", "ORGANIZATION"]
    r = gql(office, "HR", REVIEW, {"id": oid, "ok": False})["reviewOnboarding"]
    assert r["__typename"] == "InvalidInput" and "comment" in r["message"]  # a return says what to correct
    r = gql(office, "HR", REVIEW, {"id": oid, "ok": False, "c": "缺少转业证明"})["reviewOnboarding"]
    assert r["onboarding"]["status"] == "RETURNED"
    assert gql(office, "ADMIN", APPROVE, {"id": oid})["approveOnboarding"]["__typename"] == "WrongState"
    assert gql(office, "ORGANIZATION", REVIEW, {"id": oid, "ok": True})["reviewOnboarding"]["__typename"] == "WrongState"
    fixed = application(a, idn, name="赵军", route="MILITARY_TRANSFER")
    assert gql(office, "UNIT_B", RESUBMIT, {"id": oid, "a": fixed})["resubmitOnboarding"]["__typename"] == "NotAllowed"
    r = gql(office, "UNIT_A", RESUBMIT, {"id": oid, "a": fixed})["resubmitOnboarding"]
    assert r["onboarding"]["status"] == "IN_REVIEW" and r["onboarding"]["round"] == 2 and r["onboarding"]["id"] == oid
    # the first round's approval by ORGANIZATION does not carry over
    gql(office, "HR", REVIEW, {"id": oid, "ok": True, "c": "材料齐全"})
    assert gql(office, "ADMIN", APPROVE, {"id": oid})["approveOnboarding"]["__typename"] == "ReviewPending"
    gql(office, "ORGANIZATION", REVIEW, {"id": oid, "ok": True})
    r = gql(office, "ADMIN", APPROVE, {"id": oid})["approveOnboarding"]
    assert r["onboarding"]["status"] == "APPROVED"
    assert [s["action"] for s in r["onboarding"]["steps"]] == [
        "SUBMITTED", "REVIEW_APPROVED", "RETURNED", "RESUBMITTED", "REVIEW_APPROVED", "REVIEW_APPROVED", "APPROVED"]
    assert [s["round"] for s in r["onboarding"]["steps"]] == [1, 1, 1, 2, 2, 2, 2]
    # a returned application is readable by the unit with the reviewer's comment; not by another unit
    read = "query($id: ID!) { onboarding(id: $id) { status steps { comment } } }"
    assert "缺少转业证明" in [s["comment"] for s in gql(office, "UNIT_A", read, {"id": oid})["onboarding"]["steps"]]
    other = office["client"].post("/graphql", json={"query": read, "variables": {"id": oid}},
                                  headers={"Authorization": f"Bearer {office['tokens']['UNIT_B']}"}).json()
    assert other["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_every_refusal_at_submission_is_typed_and_changes_nothing(office):
    db, a, b = office["db"], office["a"], office["b"]
    posted = make_person(db, name="钱多")
    hire(db, posted, a)  # one of A's two ADMINISTRATIVE slots
    dead, renamed = id_number(date(1980, 1, 1)), id_number(date(1981, 1, 1))
    _police(db, dead, "孙亡", status="DECEASED")
    _police(db, renamed, "周新名")
    before = (count(db, OnboardingRow), count(db, OutboxRow), count(db, OperationLogRow))
    cases = [
        ("UNIT_A", application(b, id_number(date(1999, 1, 1))), "NotAllowed"),   # another unit
        ("POLICE", application(a, id_number(date(1999, 1, 2))), "NotAllowed"),   # not a submitting role
        ("DISTRICT", application(a, id_number(date(1999, 1, 3))), "NotAllowed"),  # outside its region
        ("UNIT_A", application(a, "110105194912310021"), "InvalidIdNumber"),
        ("ADMIN", application(unit_code(), id_number(date(1999, 1, 4))), "UnitNotFound"),
        ("UNIT_A", application(a, posted), "PersonAlreadyPosted"),
        ("UNIT_A", application(a, dead, name="孙亡"), "IdentityNotVerified"),
        ("UNIT_A", application(a, renamed, name="周旧名"), "IdentityNotVerified"),
        ("UNIT_A", application(a, id_number(date(1999, 1, 5)), category="WORKER"), "QuotaExhausted"),  # no WORKER quota
        ("UNIT_A", application(a, id_number(date(1999, 1, 6)), name=""), "InvalidInput"),
    ]
    for who, app, expected in cases:
        r = submit(office, who, app)
        assert r["__typename"] == expected, (who, app, r)
        assert r["message"]
    assert (count(db, OnboardingRow), count(db, OutboxRow), count(db, OperationLogRow)) == before
    # one slot left: a first application takes it at the door, a second person is not refused at submit (slots
    # are taken at approval), but the second approval is QuotaExhausted
    x, y = id_number(date(1996, 2, 2)), id_number(date(1996, 3, 3))
    ox = submit(office, "UNIT_A", application(a, x))["onboarding"]["id"]
    oy = submit(office, "UNIT_A", application(a, y))["onboarding"]["id"]
    assert submit(office, "UNIT_A", application(a, x))["__typename"] == "InvalidInput"  # already has an open application
    for oid in (ox, oy):
        gql(office, "ORGANIZATION", REVIEW, {"id": oid, "ok": True})
    assert gql(office, "ADMIN", APPROVE, {"id": ox})["approveOnboarding"]["__typename"] == "OnboardingPayload"
    r = gql(office, "ADMIN", APPROVE, {"id": oy})["approveOnboarding"]
    assert r["__typename"] == "QuotaExhausted" and "approved 2, used 2" in r["message"]
    assert count(db, OnboardingRow, OnboardingRow.status == "IN_REVIEW") == 1
    assert submit(office, "UNIT_A", application(a, id_number(date(1996, 4, 4))))["__typename"] == "QuotaExhausted"


def test_a_district_office_acts_and_lists_only_in_its_region(office):
    db, a, b = office["db"], office["a"], office["b"]
    idn = id_number(date(1995, 5, 5))
    r = submit(office, "UNIT_B", application(b, idn, category="WORKER", route="TRANSFER_IN"))
    assert r["onboarding"]["requiredReviews"] == ["HR"]
    oid = r["onboarding"]["id"]
    gql(office, "HR", REVIEW, {"id": oid, "ok": True})
    other = submit(office, "UNIT_A", application(a, id_number(date(1995, 6, 6))))["onboarding"]["id"]
    gql(office, "ORGANIZATION", REVIEW, {"id": other, "ok": True})
    assert gql(office, "DISTRICT", APPROVE, {"id": other})["approveOnboarding"]["__typename"] == "NotAllowed"
    assert gql(office, "DISTRICT", APPROVE, {"id": oid})["approveOnboarding"]["onboarding"]["status"] == "APPROVED"
    lists = "{ units { edges { node { code } } } onboardings { totalCount edges { node { id } } } }"
    d = gql(office, "DISTRICT", lists)
    assert [e["node"]["code"] for e in d["units"]["edges"]] == [b]
    assert [e["node"]["id"] for e in d["onboardings"]["edges"]] == [oid]
    city = gql(office, "ADMIN", lists)
    assert {e["node"]["code"] for e in city["units"]["edges"]} == {a, b} and city["onboardings"]["totalCount"] == 2
    assert gql(office, "UNIT_A", "{ onboardings { totalCount } }")["onboardings"]["totalCount"] == 1
    assert gql(office, "HR", "{ onboardings { totalCount } }")["onboardings"]["totalCount"] == 1  # what HR reviews
    m = "{ mismatches { edges { node { unit { code } } } } }"
    old = make_person(db, birth=date(1950, 1, 1))
    hire(db, old, a)  # RETIREMENT_DUE in unit A (city region)
    assert gql(office, "ADMIN", m)["mismatches"]["edges"]
    assert gql(office, "DISTRICT", m)["mismatches"]["edges"] == []
    ended = gql(office, "DISTRICT", "mutation($i: String!) { endPosting(idNumber: $i, endDate: \"2026-06-30\", reason: RETIREMENT) { %s } }" % POSTING_FIELDS, {"i": old})
    assert ended["endPosting"]["__typename"] == "NotAllowed"


def test_region_tokens_are_admin_only_and_validated(db):
    with pytest.raises(ValueError, match="6 digits"):
        create_token(db, role="ADMIN", name="d", region_code="3301")
    with pytest.raises(ValueError, match="only ADMIN"):
        create_token(db, role="AUDITOR", name="d", region_code="330106")
    from typer.testing import CliRunner

    from hub.cli import app

    url = str(db.engine.url.render_as_string(hide_password=False))
    ok = CliRunner().invoke(app, ["--database-url", url, "token", "create", "--role", "ADMIN", "--name", "西湖区编办", "--region", "330106"])
    assert ok.exit_code == 0 and ok.output.strip().startswith("hub_"), ok.output
    bad = CliRunner().invoke(app, ["--database-url", url, "token", "create", "--role", "ADMIN", "--name", "x", "--region", "33A106"])
    assert bad.exit_code == 1 and "6 digits" in bad.output
    from hub.service_layer.tokens import authenticate

    assert authenticate(db, ok.output.strip()).region_code == "330106"


def test_hiring_plans_reserve_slots_until_used_or_the_year_ends(office):
    db, a = office["db"], office["a"]
    submit_plan = "mutation($p: HiringPlanInput!) { submitHiringPlan(plan: $p) { %s } }" % PLAN_FIELDS
    decide = ("mutation($id: ID!, $ok: Boolean!, $n: Int) { decideHiringPlan(id: $id, approve: $ok, approvedSlots: $n, "
              "comment: \"核减1名\") { %s } }" % PLAN_FIELDS)
    year = datetime.now(timezone.utc).year
    plan = {"unitCode": a, "year": year, "category": "PUBLIC_INSTITUTION", "slots": 3, "reason": "新增业务"}
    assert gql(office, "UNIT_B", submit_plan, {"p": plan})["submitHiringPlan"]["__typename"] == "NotAllowed"
    assert gql(office, "UNIT_A", submit_plan, {"p": plan | {"reason": " "}})["submitHiringPlan"]["__typename"] == "InvalidInput"
    p = gql(office, "UNIT_A", submit_plan, {"p": plan})["submitHiringPlan"]["hiringPlan"]
    assert p["status"] == "IN_REVIEW"
    assert gql(office, "UNIT_A", decide, {"id": p["id"], "ok": True})["decideHiringPlan"]["__typename"] == "NotAllowed"
    r = gql(office, "ADMIN", decide, {"id": p["id"], "ok": True, "n": 2})["decideHiringPlan"]
    assert r["hiringPlan"]["status"] == "APPROVED" and r["hiringPlan"]["approvedSlots"] == 2
    assert r["hiringPlan"]["form"]["kind"] == "HIRING_PLAN"
    quotas = "query($c: String!) { unit(code: $c) { quotas { category approved used reserved available } } }"
    q = {x["category"]: x for x in gql(office, "AUDITOR", quotas, {"c": a})["unit"]["quotas"]}
    assert q["PUBLIC_INSTITUTION"] == {"category": "PUBLIC_INSTITUTION", "approved": 3, "used": 0, "reserved": 2, "available": 1}
    # a second plan for more than is available is refused at the decision
    p2 = gql(office, "UNIT_A", submit_plan, {"p": plan | {"slots": 2}})["submitHiringPlan"]["hiringPlan"]
    assert gql(office, "ADMIN", decide, {"id": p2["id"], "ok": True})["decideHiringPlan"]["__typename"] == "QuotaExhausted"
    assert gql(office, "ADMIN", decide, {"id": p2["id"], "ok": False})["decideHiringPlan"]["hiringPlan"]["status"] == "REJECTED"
    # the free slot goes to a hire without a plan; then only the plan's reserved slots are left
    pi = dict(category="PUBLIC_INSTITUTION", route="OPEN_RECRUITMENT")
    first = submit(office, "UNIT_A", application(a, id_number(date(1994, 1, 1)), **pi))["onboarding"]["id"]
    gql(office, "HR", REVIEW, {"id": first, "ok": True})
    assert gql(office, "ADMIN", APPROVE, {"id": first})["approveOnboarding"]["__typename"] == "OnboardingPayload"
    assert submit(office, "UNIT_A", application(a, id_number(date(1994, 2, 2)), **pi))["__typename"] == "QuotaExhausted"
    second = submit(office, "UNIT_A", application(a, id_number(date(1994, 2, 2)), hiringPlanId=p["id"], **pi))
    assert second["__typename"] == "OnboardingPayload", second
    gql(office, "HR", REVIEW, {"id": second["onboarding"]["id"], "ok": True})
    assert gql(office, "ADMIN", APPROVE, {"id": second["onboarding"]["id"]})["approveOnboarding"]["onboarding"]["status"] == "APPROVED"
    q = {x["category"]: x for x in gql(office, "AUDITOR", quotas, {"c": a})["unit"]["quotas"]}
    assert q["PUBLIC_INSTITUTION"] == {"category": "PUBLIC_INSTITUTION", "approved": 3, "used": 2, "reserved": 1, "available": 0}
    plans = gql(office, "ADMIN", "{ hiringPlans(status: APPROVED) { edges { node { filled } } } }")["hiringPlans"]["edges"]
    assert plans == [{"node": {"filled": 1}}]
    # the plan expires at the end of its year: next year nothing is reserved
    with db.read_session() as s:
        assert establishments(s, [a], today=date(year, 12, 31))[a].reserved
        assert not establishments(s, [a], today=date(year + 1, 1, 1))[a].reserved


def test_an_over_quota_unit_gets_no_plan_and_a_frozen_unit_neither_plans_nor_hires(office):
    db, a, b = office["db"], office["a"], office["b"]
    submit_plan = "mutation($p: HiringPlanInput!) { submitHiringPlan(plan: $p) { %s } }" % PLAN_FIELDS
    year = datetime.now(timezone.utc).year
    for _ in range(2):
        hire(db, make_person(db), b, category="WORKER")
    with UnitOfWork(db, actor="test") as uow:  # legacy cut: B is now over quota in WORKER
        registry_changes.set_quota(uow, unit_code=b, category="WORKER", approved=1, document_number="区编〔2026〕9号", effective=date(2026, 1, 1))
        uow.commit()
    r = gql(office, "UNIT_B", submit_plan, {"p": {"unitCode": b, "year": year, "category": "ADMINISTRATIVE", "slots": 1, "reason": "补员"}})
    assert r["submitHiringPlan"]["__typename"] == "UnitOverQuota" and "只出不进" in r["submitHiringPlan"]["message"]
    freeze = "mutation($c: String!, $f: Boolean!) { freezeUnit(code: $c, frozen: $f, reason: \"违规进人，暂停用编\") { __typename ... on UnitPayload { unit { frozenReason } } } }"
    assert gql(office, "UNIT_A", freeze, {"c": a, "f": True})["freezeUnit"]["__typename"] == "NotAllowed"
    assert gql(office, "DISTRICT", freeze, {"c": a, "f": True})["freezeUnit"]["__typename"] == "NotAllowed"
    assert gql(office, "ADMIN", freeze, {"c": a, "f": True})["freezeUnit"]["unit"]["frozenReason"] == "违规进人，暂停用编"
    r = gql(office, "UNIT_A", submit_plan, {"p": {"unitCode": a, "year": year, "category": "ADMINISTRATIVE", "slots": 1, "reason": "补员"}})
    assert r["submitHiringPlan"]["__typename"] == "UnitFrozen"
    assert submit(office, "UNIT_A", application(a, id_number(date(1993, 3, 3))))["__typename"] == "UnitFrozen"
    assert gql(office, "ADMIN", freeze, {"c": a, "f": False})["freezeUnit"]["unit"]["frozenReason"] is None
    assert submit(office, "UNIT_A", application(a, id_number(date(1993, 3, 3))))["__typename"] == "OnboardingPayload"
    assert [e["type"] for e in events(db, "gov.registry.unit.frozen")] == ["gov.registry.unit.frozen"]


def test_departure_frees_the_slot_yields_a_form_and_later_pay_is_ghost_payroll(office):
    db, a = office["db"], office["a"]
    idn = make_person(db, name="吴退")
    hire(db, idn, a, start=date(2020, 1, 1))
    end = "mutation($i: String!, $r: DepartureReason!) { endPosting(idNumber: $i, endDate: \"2026-05-31\", reason: $r, comment: \"到龄退休\") { %s } }" % POSTING_FIELDS
    assert gql(office, "UNIT_A", end, {"i": idn, "r": "RETIREMENT"})["endPosting"]["__typename"] == "NotAllowed"
    r = gql(office, "ADMIN", end, {"i": idn, "r": "RETIREMENT"})["endPosting"]
    assert r["posting"]["active"] is False and r["posting"]["endReason"] == "RETIREMENT"
    assert r["form"]["kind"] == "DEPARTURE" and r["form"]["number"].startswith("JY")
    ended = [e for e in events(db, "gov.registry.posting.ended") if e["subject"] == idn]
    assert ended[-1]["data"]["form_number"] == r["form"]["number"]
    page = office["client"].get(f"/forms/{r['form']['number']}", params={"code": r["form"]["code"]})
    assert "减员通知单" in page.text and "退休" in page.text
    assert gql(office, "ADMIN", end, {"i": idn, "r": "RETIREMENT"})["endPosting"]["__typename"] == "PostingNotFound"
    q = gql(office, "ADMIN", "query($c: String!) { unit(code: $c) { quotas { category used available } } }", {"c": a})
    assert {"category": "ADMINISTRATIVE", "used": 0, "available": 2} in q["unit"]["quotas"]
    with UnitOfWork(db, actor="test:finance") as uow:
        apply_events(uow, partner_row=partner_row, events=[ev.translated(ev.paid(idn, "吴退", a, period="2026-06"))])
        uow.commit()
    assert count(db, MismatchRow, MismatchRow.kind == "GHOST_PAYROLL", MismatchRow.subject == idn, MismatchRow.status == "OPEN") == 1


def test_transfer_is_one_step_with_both_quota_checks_and_one_form(office):
    db, a, b = office["db"], office["a"], office["b"]
    mover = make_person(db, name="郑调")
    hire(db, mover, a, start=date(2021, 1, 1))
    move = ("mutation($i: String!, $u: String!, $c: QuotaCategory!) { transferPerson(idNumber: $i, toUnitCode: $u, "
            "category: $c, effectiveDate: \"2026-07-01\") { %s } }" % POSTING_FIELDS)
    hire(db, make_person(db), b)  # B's one ADMINISTRATIVE slot is used
    before = (count(db, PostingRow), count(db, OutboxRow), count(db, ApprovalFormRow))
    assert gql(office, "ADMIN", move, {"i": mover, "u": b, "c": "ADMINISTRATIVE"})["transferPerson"]["__typename"] == "QuotaExhausted"
    assert gql(office, "DISTRICT", move, {"i": mover, "u": b, "c": "WORKER"})["transferPerson"]["__typename"] == "NotAllowed"
    assert (count(db, PostingRow), count(db, OutboxRow), count(db, ApprovalFormRow)) == before
    r = gql(office, "ADMIN", move, {"i": mover, "u": b, "c": "WORKER"})["transferPerson"]
    assert r["__typename"] == "PostingPayload", r
    assert r["posting"] == {"active": True, "endReason": None, "category": "WORKER", "unit": {"code": b}}
    assert r["form"]["kind"] == "TRANSFER"
    with db.read_session() as s:
        rows = s.execute(select(PostingRow).where(PostingRow.id_number == mover).order_by(PostingRow.id)).scalars().all()
    assert [(p.unit_code, p.active, p.end_reason) for p in rows] == [(a, False, "TRANSFER_OUT"), (b, True, None)]
    forms = {e["data"]["form_number"] for t in ("gov.registry.posting.ended", "gov.registry.posting.started")
             for e in events(db, t) if e["subject"] == mover and e["data"].get("form_number")}
    assert forms == {r["form"]["number"]}
    assert count(db, ApprovalFormRow) == before[2] + 1


APPOINT = ("mutation($i: String!, $r: LeaderRank, $d: String!) { appointLeader(idNumber: $i, rank: $r, "
           "effectiveDate: \"2026-08-01\", documentNumber: $d) { __typename ... on PostingPayload { posting { leaderRank } "
           "form { number code kind } appointment { stage rank documentNumber checkedBy decidedBy confirmedBy } } "
           "... on LeaderQuotaExhausted { message } ... on ReviewPending { message } ... on NotAllowed { message } "
           "... on WrongState { message } ... on InvalidInput { message } ... on PostingNotFound { message } } }")


def test_leader_appointment_is_checked_decided_and_confirmed_and_removal_frees_the_position(office):
    db = office["db"]
    unit = make_unit(db, approved={"ADMINISTRATIVE": 5}, leaders={"SECTION_CHIEF": 1})
    p1, p2 = make_person(db, name="冯一"), make_person(db, name="陈二")
    hire(db, p1, unit)
    hire(db, p2, unit)

    def step(who, idn, rank="SECTION_CHIEF", doc="杭组干〔2026〕12号"):
        return gql(office, who, APPOINT, {"i": idn, "r": rank, "d": doc})["appointLeader"]

    assert step("ORGANIZATION", p1)["__typename"] == "ReviewPending"   # the office checks the quota first
    assert step("HR", p1)["__typename"] == "NotAllowed"
    assert step("DISTRICT", p1)["__typename"] == "NotAllowed"          # unit in region 330100
    r = step("ADMIN", p1, doc="杭编核〔2026〕3号")
    assert r["appointment"]["stage"] == "CHECKED" and r["posting"]["leaderRank"] is None and r["form"] is None
    assert step("ADMIN", p2)["__typename"] == "LeaderQuotaExhausted"    # the one position is being filled
    assert step("ADMIN", p1)["__typename"] == "ReviewPending"           # waiting for 任免
    assert step("ORGANIZATION", p1, rank="DIVISION_CHIEF")["__typename"] == "InvalidInput"
    r = step("ORGANIZATION", p1)
    assert r["appointment"]["stage"] == "DECIDED" and r["appointment"]["decidedBy"] == "ORGANIZATION:organization"
    assert r["appointment"]["documentNumber"] == "杭组干〔2026〕12号"
    assert step("ORGANIZATION", p1)["__typename"] == "WrongState"
    r = step("ADMIN", p1)
    assert r["appointment"]["stage"] == "CONFIRMED" and r["posting"]["leaderRank"] == "SECTION_CHIEF"
    assert r["form"]["kind"] == "LEADER_APPOINTMENT"
    page = office["client"].get(f"/forms/{r['form']['number']}", params={"code": r["form"]["code"]})
    assert "领导职数使用审批表" in page.text and "正科" in page.text and "杭组干〔2026〕12号" in page.text
    lq = "query($c: String!) { unit(code: $c) { leaderQuotas { rank approved used available } } }"
    assert gql(office, "ADMIN", lq, {"c": unit})["unit"]["leaderQuotas"] == [
        {"rank": "SECTION_CHIEF", "approved": 1, "used": 1, "available": 0}]
    updated = [e for e in events(db, "gov.registry.posting.updated") if e["subject"] == p1]
    assert updated[-1]["data"]["leader_rank"] == "SECTION_CHIEF" and updated[-1]["data"]["form_number"] == r["form"]["number"]
    assert step("ADMIN", p2)["__typename"] == "LeaderQuotaExhausted"
    # removal: the same three steps with no rank, then the position is free again
    for who, stage in (("ADMIN", "CHECKED"), ("ORGANIZATION", "DECIDED"), ("ADMIN", "CONFIRMED")):
        r = step(who, p1, rank=None, doc="杭组干〔2026〕30号")
        assert r["appointment"]["stage"] == stage, r
    assert r["posting"]["leaderRank"] is None
    assert step("ADMIN", p2)["appointment"]["stage"] == "CHECKED"
    with db.read_session() as s:
        actions = [a for (a,) in s.execute(select(OperationLogRow.action).where(
            OperationLogRow.entity == "leader_appointment").order_by(OperationLogRow.seq))]
    assert actions == ["leader_appointment.checked", "leader_appointment.decided", "leader_appointment.confirmed"] * 2 + [
        "leader_appointment.checked"]


def test_turnaround_is_reported_per_application_in_working_days(office):
    from datetime import timedelta

    from hub.domain.vocabulary import Role
    from hub.domain.workflows import Caller, OnboardingApplication
    from hub.service_layer.workflows import onboarding

    db, a = office["db"], office["a"]
    cst = timezone(timedelta(hours=8))
    idn = id_number(date(1999, 9, 9))
    app = OnboardingApplication.new(unit_code=a, id_number=idn, name="春节前", category="ADMINISTRATIVE",
                                    route="SELECTED_GRADUATE", start_date=date(2026, 3, 1))
    # Friday before 春节 at 17:30 local (09:30 UTC), decided the Tuesday after the holiday (the hub's clock is UTC)
    with UnitOfWork(db, actor="UNIT:x", now=datetime(2026, 2, 13, 17, 30, tzinfo=cst).astimezone(timezone.utc)) as uow:
        oid = onboarding.submit_onboarding(uow, Caller("x", Role.UNIT, unit_code=a), app).id
        uow.commit()
    with UnitOfWork(db, actor="ORGANIZATION:o", now=datetime(2026, 2, 14, 10, 0, tzinfo=cst).astimezone(timezone.utc)) as uow:
        onboarding.review_onboarding(uow, Caller("o", Role.ORGANIZATION), oid, True, None)
        uow.commit()
    read = "query($id: ID!) { onboarding(id: $id) { status turnaroundWorkingDays } }"
    assert gql(office, "ADMIN", read, {"id": str(oid)})["onboarding"] == {"status": "IN_REVIEW", "turnaroundWorkingDays": None}
    # 00:30 local on 2-24 is still 2-23 in UTC: the office's local date counts
    with UnitOfWork(db, actor="ADMIN:a", now=datetime(2026, 2, 24, 0, 30, tzinfo=cst).astimezone(timezone.utc)) as uow:
        onboarding.approve_onboarding(uow, Caller("a", Role.ADMIN), KEY, oid, None)
        uow.commit()
    assert gql(office, "ADMIN", read, {"id": str(oid)})["onboarding"] == {"status": "APPROVED", "turnaroundWorkingDays": 3}
    listed = gql(office, "AUDITOR", "{ onboardings { edges { node { id turnaroundWorkingDays } } } }")["onboardings"]["edges"]
    assert {"id": str(oid), "turnaroundWorkingDays": 3} in [e["node"] for e in listed]


def test_documents_are_records_of_their_own_and_a_units_history_lists_them(office):
    db, a = office["db"], office["a"]
    record = ("mutation($d: DocumentInput!) { recordDocument(document: $d) { __typename ... on DocumentPayload { document { number kind } } "
              "... on InvalidInput { message } ... on NotAllowed { message } } }")
    doc = {"number": "杭编委〔2026〕2号", "title": "关于调整市甲局编制的批复", "issuer": "杭州市机构编制委员会",
           "issuedOn": "2026-03-10", "kind": "REPLY"}
    assert gql(office, "UNIT_A", record, {"d": doc})["recordDocument"]["__typename"] == "NotAllowed"
    assert gql(office, "ADMIN", record, {"d": doc | {"title": " "}})["recordDocument"]["__typename"] == "InvalidInput"
    assert gql(office, "ADMIN", record, {"d": doc})["recordDocument"]["document"] == {"number": doc["number"], "kind": "REPLY"}
    again = gql(office, "ADMIN", record, {"d": doc})["recordDocument"]
    assert again["__typename"] == "InvalidInput" and "already" in again["message"]
    gql(office, "DISTRICT", record, {"d": doc | {"number": "西编〔2026〕1号", "kind": "COMMITTEE_MINUTES", "title": "编委会议纪要"}})
    r = gql(office, "ADMIN", """mutation($c: String!) { setQuota(unitCode: $c, category: ADMINISTRATIVE, approved: 3,
            effectiveDate: "2026-03-15", documentNumber: "杭编委〔2026〕2号") { __typename } }""", {"c": a})
    assert r["setQuota"]["__typename"] == "QuotaPayload"
    hist = gql(office, "AUDITOR", "query($c: String!) { unit(code: $c) { documents { number firstUsed uses document { title issuer kind } } } }",
               {"c": a})["unit"]["documents"]
    assert hist == [
        {"number": "杭编〔2020〕1号", "firstUsed": "2020-01-01", "uses": ["quota ADMINISTRATIVE", "quota PUBLIC_INSTITUTION"], "document": None},
        {"number": "杭编委〔2026〕2号", "firstUsed": "2026-03-15", "uses": ["quota ADMINISTRATIVE"],
         "document": {"title": "关于调整市甲局编制的批复", "issuer": "杭州市机构编制委员会", "kind": "REPLY"}}]
    one = gql(office, "POLICE", 'query { document(number: "杭编委〔2026〕2号") { issuedOn kind } }')["document"]
    assert one == {"issuedOn": "2026-03-10", "kind": "REPLY"}
    listed = gql(office, "ADMIN", "{ documents(kind: COMMITTEE_MINUTES) { totalCount edges { node { number } } } }")["documents"]
    assert listed["totalCount"] == 1 and listed["edges"][0]["node"]["number"] == "西编〔2026〕1号"
    assert [e["type"] for e in events(db, "gov.registry.document.recorded")] == ["gov.registry.document.recorded"] * 2


def test_policy_over_quota_needs_an_office_decision_and_is_a_violation_again_after_its_deadline(office):
    from datetime import timedelta

    from hub.service_layer.daily import run_daily_checks

    db, a = office["db"], office["a"]
    hire(db, make_person(db), a)
    hire(db, make_person(db), a)  # A's two ADMINISTRATIVE slots are used
    military = application(a, id_number(date(1988, 8, 1)), name="转业干部", route="MILITARY_TRANSFER")
    assert submit(office, "UNIT_A", military)["__typename"] == "QuotaExhausted"
    allow = ("mutation($c: String!, $d: Date!, $doc: String!) { allowPolicyOverQuota(unitCode: $c, category: ADMINISTRATIVE, "
             "slots: 1, documentNumber: $doc, deadline: $d, reason: \"军转干部安置\") { __typename "
             "... on PolicyOverQuotaPayload { decision { slots deadline overBy overdue } } ... on InvalidInput { message } "
             "... on NotAllowed { message } } }")
    today = office_today()
    deadline = today + timedelta(days=60)
    assert gql(office, "UNIT_A", allow, {"c": a, "d": deadline.isoformat(), "doc": "杭编〔2026〕50号"})["allowPolicyOverQuota"]["__typename"] == "NotAllowed"
    assert gql(office, "DISTRICT", allow, {"c": a, "d": deadline.isoformat(), "doc": "杭编〔2026〕50号"})["allowPolicyOverQuota"]["__typename"] == "NotAllowed"
    assert gql(office, "ADMIN", allow, {"c": a, "d": today.isoformat(), "doc": "杭编〔2026〕50号"})["allowPolicyOverQuota"]["__typename"] == "InvalidInput"
    assert gql(office, "ADMIN", allow, {"c": a, "d": deadline.isoformat(), "doc": " "})["allowPolicyOverQuota"]["__typename"] == "InvalidInput"
    r = gql(office, "ADMIN", allow, {"c": a, "d": deadline.isoformat(), "doc": "杭编〔2026〕50号"})["allowPolicyOverQuota"]
    assert r["decision"] == {"slots": 1, "deadline": deadline.isoformat(), "overBy": 0, "overdue": False}
    # only policy routes may use it
    assert submit(office, "UNIT_A", application(a, id_number(date(1988, 8, 2))))["__typename"] == "QuotaExhausted"
    oid = submit(office, "UNIT_A", military)["onboarding"]["id"]
    for who in ("HR", "ORGANIZATION"):
        gql(office, who, REVIEW, {"id": oid, "ok": True})
    assert gql(office, "ADMIN", APPROVE, {"id": oid})["approveOnboarding"]["onboarding"]["status"] == "APPROVED"
    second = application(a, id_number(date(1988, 8, 3)), name="又一转业干部", route="POLICY_PLACEMENT")
    assert submit(office, "UNIT_A", second)["__typename"] == "QuotaExhausted"  # the allowance is used up
    state = "query($c: String!) { unit(code: $c) { policyOverQuota { overBy overdue documentNumber } documents { number uses } } }"
    u = gql(office, "AUDITOR", state, {"c": a})["unit"]
    assert u["policyOverQuota"] == [{"overBy": 1, "overdue": False, "documentNumber": "杭编〔2026〕50号"}]
    assert {"number": "杭编〔2026〕50号", "uses": ["policy_overquota ADMINISTRATIVE"]} in u["documents"]
    over = (MismatchRow.kind == "OVER_QUOTA", MismatchRow.subject == a, MismatchRow.status == "OPEN")
    assert count(db, MismatchRow, *over) == 0  # over quota by policy, within its allowance: not a violation
    run_daily_checks(db, today=deadline)
    assert count(db, MismatchRow, *over) == 0
    run_daily_checks(db, today=deadline + timedelta(days=1))  # not absorbed by the deadline: a violation again
    assert count(db, MismatchRow, *over) == 1
    from hub.service_layer.workflows.policy import decisions_of

    with db.read_session() as s:
        assert [d.overdue for d in decisions_of(s, a, deadline)] == [False]
        assert [d.overdue for d in decisions_of(s, a, deadline + timedelta(days=1))] == [True]


def test_a_district_office_edits_only_units_of_its_region(office):
    a, b = office["a"], office["b"]
    quota = ("mutation($c: String!) { setQuota(unitCode: $c, category: WORKER, approved: 3, effectiveDate: \"2026-04-01\") "
             "{ __typename } }")
    assert gql(office, "DISTRICT", quota, {"c": a})["setQuota"]["__typename"] == "NotAllowed"
    assert gql(office, "DISTRICT", quota, {"c": b})["setQuota"]["__typename"] == "QuotaPayload"
    create = ("mutation($c: String!, $r: String!) { createUnit(unit: {code: $c, name: \"新设局\", kind: PROCURATORATE, "
              "level: DISTRICT, regionCode: $r, funding: FULL}, effectiveDate: \"2026-04-01\") { __typename } }")
    assert gql(office, "DISTRICT", create, {"c": unit_code(), "r": "330108"})["createUnit"]["__typename"] == "NotAllowed"
    assert gql(office, "DISTRICT", create, {"c": unit_code(), "r": "330106"})["createUnit"]["__typename"] == "UnitPayload"
    move = "mutation($c: String!) { updateUnit(code: $c, changes: {regionCode: \"330108\"}, effectiveDate: \"2026-04-02\") { __typename } }"
    assert gql(office, "DISTRICT", move, {"c": b})["updateUnit"]["__typename"] == "NotAllowed"
    assert gql(office, "DISTRICT", 'mutation { startComparison(source: "police", period: "2026-10", path: "/nonexistent") { __typename } }')[
        "startComparison"]["__typename"] == "NotAllowed"


def test_a_district_office_subscribes_to_its_regions_mismatches_only(office):
    import time

    db, a, b = office["db"], office["a"], office["b"]
    with office["client"].websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {office['tokens']['DISTRICT']}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe",
                      "payload": {"query": "subscription { mismatchEvents { kind unit { code } } }"}})
        time.sleep(1.0)  # the stream starts from the outbox as it is when the subscription begins
        hire(db, make_person(db, birth=date(1950, 1, 1)), a)  # RETIREMENT_DUE in the city's unit
        hire(db, make_person(db, birth=date(1950, 2, 2)), b, category="WORKER")  # and in the district's
        msg = ws.receive_json()
        assert msg["type"] == "next", msg
        assert msg["payload"]["data"]["mismatchEvents"] == {"kind": "RETIREMENT_DUE", "unit": {"code": b}}
        ws.send_json({"id": "1", "type": "complete"})


def test_reading_applications_is_in_the_access_log(office):
    from hub.adapters.orm import AccessLogRow

    db, a = office["db"], office["a"]
    idn = id_number(date(1992, 2, 2))
    oid = submit(office, "UNIT_A", application(a, idn))["onboarding"]["id"]
    gql(office, "ORGANIZATION", "query($id: ID!) { onboarding(id: $id) { name } }", {"id": oid})
    gql(office, "AUDITOR", "{ onboardings { edges { node { name } } } }")
    with db.read_session() as s:
        rows = s.execute(select(AccessLogRow.role, AccessLogRow.field).where(AccessLogRow.id_number == idn)
                         .order_by(AccessLogRow.id)).all()
    # the submission itself was a lookup of the person (tests/integration/test_workflow_disclosure.py)
    assert [tuple(r) for r in rows] == [("UNIT", "Mutation.submitOnboarding"), ("ORGANIZATION", "Query.onboarding"),
                                        ("AUDITOR", "Query.onboardings")]


def test_the_office_rejects_and_the_unit_withdraws_an_open_application(office):
    a = office["a"]
    reject = "mutation($id: ID!, $c: String!) { rejectOnboarding(id: $id, comment: $c) { %s } }" % ONBOARD_FIELDS
    withdraw = "mutation($id: ID!) { withdrawOnboarding(id: $id, comment: \"人选放弃\") { %s } }" % ONBOARD_FIELDS
    x = submit(office, "UNIT_A", application(a, id_number(date(1991, 1, 1))))["onboarding"]["id"]
    person_y = id_number(date(1991, 2, 2))
    y = submit(office, "UNIT_A", application(a, person_y))["onboarding"]["id"]
    assert submit(office, "UNIT_A", application(a, person_y))["__typename"] == "InvalidInput"  # one open application
    assert gql(office, "UNIT_A", reject, {"id": x, "c": "不符合条件"})["rejectOnboarding"]["__typename"] == "NotAllowed"
    assert gql(office, "ADMIN", reject, {"id": x, "c": " "})["rejectOnboarding"]["__typename"] == "InvalidInput"
    r = gql(office, "ADMIN", reject, {"id": x, "c": "不符合录用条件"})["rejectOnboarding"]["onboarding"]
    assert r["status"] == "REJECTED" and r["steps"][-1]["action"] == "REJECTED"
    assert gql(office, "ADMIN", APPROVE, {"id": x})["approveOnboarding"]["__typename"] == "WrongState"
    assert gql(office, "UNIT_B", withdraw, {"id": y})["withdrawOnboarding"]["__typename"] == "NotAllowed"
    assert gql(office, "UNIT_A", withdraw, {"id": y})["withdrawOnboarding"]["onboarding"]["status"] == "WITHDRAWN"
    assert gql(office, "UNIT_A", withdraw, {"id": y})["withdrawOnboarding"]["__typename"] == "WrongState"
    # the person may apply again once the earlier application is closed
    assert submit(office, "UNIT_A", application(a, person_y))["__typename"] == "OnboardingPayload"


def test_listing_applications_reads_a_fixed_number_of_statements(office):
    from tests.integration.test_graphql_api import _count_sql

    db, a = office["db"], office["a"]
    query = ("{ onboardings(first: 50) { totalCount edges { node { id unit { code } steps { action } form { number } "
             "posting { active } turnaroundWorkingDays } } } }")

    def add(n):
        for _ in range(n):
            oid = submit(office, "ADMIN", application(a, id_number(date(1990, 1, 1)), category="PUBLIC_INSTITUTION",
                                                      route="OPEN_RECRUITMENT"))["onboarding"]["id"]
            gql(office, "HR", REVIEW, {"id": oid, "ok": True})
            gql(office, "ADMIN", APPROVE, {"id": oid})

    add(1)
    few, r1 = _count_sql(db, office["client"], office["tokens"]["AUDITOR"], query)
    add(2)
    many, r3 = _count_sql(db, office["client"], office["tokens"]["AUDITOR"], query)
    assert r1["data"]["onboardings"]["totalCount"] == 1 and r3["data"]["onboardings"]["totalCount"] == 3
    assert all(e["node"]["form"] and e["node"]["posting"]["active"] for e in r3["data"]["onboardings"]["edges"])
    assert many == few, (few, many)


def test_a_form_without_a_person_opens_and_logs_no_read(office):
    """A hiring plan's form (用编计划核准表) names no person: its page opens (no crash on the missing ID number), writes
    no access-log row, and the chain still verifies; a wrong code for it writes none either."""
    db, a = office["db"], office["a"]
    submit_plan = "mutation($p: HiringPlanInput!) { submitHiringPlan(plan: $p) { %s } }" % PLAN_FIELDS
    decide = "mutation($id: ID!) { decideHiringPlan(id: $id, approve: true) { %s } }" % PLAN_FIELDS
    plan = {"unitCode": a, "year": datetime.now(timezone.utc).year, "category": "PUBLIC_INSTITUTION", "slots": 1,
            "reason": "新增业务"}
    p = gql(office, "UNIT_A", submit_plan, {"p": plan})["submitHiringPlan"]["hiringPlan"]
    number = gql(office, "ADMIN", decide, {"id": p["id"]})["decideHiringPlan"]["hiringPlan"]["form"]["number"]
    with db.read_session() as s:
        code = s.scalar(select(ApprovalFormRow.code).where(ApprovalFormRow.number == number))
        before = s.scalar(select(func.count()).select_from(AccessLogRow))
    page = office["client"].get(f"/forms/{number}", params={"code": code})
    assert page.status_code == 200 and "用编计划核准表" in page.text
    assert office["client"].get(f"/forms/{number}", params={"code": "0" * 16}).status_code == 404
    with db.read_session() as s:
        assert s.scalar(select(func.count()).select_from(AccessLogRow)) == before
        assert access_chain.verify(s, key=db.audit_key).ok
