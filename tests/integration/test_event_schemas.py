"""The JSON Schemas under schema/events/ are the partners' contract of every event: each is checked against what
the hub really publishes (every outbox row of a day's work, on SQLite and PostgreSQL — streaming, import,
registry changes, the workflows, the domain model, comparisons, dead letters) and what it accepts (the inbound models of
hub.contract.inbound)."""

from __future__ import annotations

import ast
import base64
import importlib.util
import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import select

from hub.contract.inbound import DATA_MODELS
from hub.adapters.orm import OutboxRow
from hub.demo.city import generate_city
from hub.domain.identifiers import parse_id_number
from hub.domain.vocabulary import DepartureReason, LeaderRank, Role
from hub.domain.workflows import Caller, OnboardingApplication
from hub.service_layer import registry_changes
from hub.service_layer.comparison.pipeline import run_compare
from hub.service_layer.importer import import_registry
from hub.service_layer.unit_of_work import UnitOfWork
from hub.service_layer.workflows import documents, leaders, onboarding, plans, policy, postings
from tests import events as ev
from tests.factories import id_number
from tests.integration.registry_helpers import hire, make_person, make_unit
from tests.integration.streaming_harness import Streaming
from hub.domain.calendar import office_today

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = {p.name.removesuffix(".schema.json"): json.loads(p.read_text(encoding="utf-8"))
           for p in (ROOT / "schema" / "events").glob("*.schema.json")}


def validator(type_: str) -> Draft202012Validator:
    return Draft202012Validator(SCHEMAS[type_], format_checker=Draft202012Validator.FORMAT_CHECKER)


def problems(event: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(event["type"]).iter_errors(event)]


def test_the_schema_files_are_what_the_export_script_writes():
    spec = importlib.util.spec_from_file_location("export_event_schemas", ROOT / "scripts" / "export_event_schemas.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0
    for schema in SCHEMAS.values():
        Draft202012Validator.check_schema(schema)


def _composed_types(tree: ast.Module) -> set[str]:
    """Types a module composes as ``f"gov.registry.<family>.{action}"`` inside a function: the family with every
    string literal the module's calls of that function pass for ``action`` (``"reviewed" if ok else "returned"``)."""
    out = set()
    for fn in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        for node in ast.walk(fn):
            if not (isinstance(node, ast.JoinedStr) and isinstance(node.values[0], ast.Constant)
                    and str(node.values[0].value).startswith("gov.registry.")):
                continue
            assert len(node.values) == 2 and isinstance(node.values[1], ast.FormattedValue), ast.unparse(node)
            family, param = node.values[0].value, node.values[1].value.id
            index = [a.arg for a in fn.args.args].index(param)
            actions = set()
            for call in ast.walk(tree):
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == fn.name:
                    arg = call.args[index] if len(call.args) > index else next(k.value for k in call.keywords if k.arg == param)
                    actions |= {c.value for c in ast.walk(arg) if isinstance(c, ast.Constant) and isinstance(c.value, str)}
            assert actions, f"no literal {param} passed to {fn.name}"
            out |= {family + a for a in actions}
    return out


def test_every_event_type_in_the_code_has_a_schema_and_every_schema_an_event_type():
    sources = [p.read_text(encoding="utf-8") for d in ("hub", "connectors") for p in (ROOT / d).rglob("*.py")]
    outbound = set(re.findall(r'"(gov\.registry\.[a-z_]+(?:\.[a-z_]+)?)"', "\n".join(sources)))
    composed = set().union(*(_composed_types(ast.parse(text)) for text in sources))
    assert {"gov.registry.onboarding.withdrawn", "gov.registry.hiring_plan.rejected",
            "gov.registry.leader_appointment.confirmed"} <= composed  # the f-strings are found
    assert outbound and set(DATA_MODELS) | outbound | composed == set(SCHEMAS), sorted(
        set(SCHEMAS) ^ (set(DATA_MODELS) | outbound | composed))


@pytest.mark.parametrize("type_", sorted(DATA_MODELS))
def test_inbound_schemas_name_the_fields_the_hub_reads(type_):
    model = DATA_MODELS[type_]
    data = SCHEMAS[type_]["properties"]["data"]
    assert set(data["properties"]) == set(model.model_fields)
    assert set(data["required"]) == {n for n, f in model.model_fields.items() if f.is_required()}




def _inbound_samples():
    from tests.factories import unit_code

    idn, unit = id_number(), unit_code(3)
    return {"gov.police.identity.updated": ev.police(idn, "张伟"),
            "gov.hr.employment.updated": ev.hr(idn, "张伟", unit),
            "gov.finance.payroll.paid": ev.paid(idn, "张伟", unit),
            "gov.finance.payroll.stopped": ev.stopped(idn, unit),
            "gov.insurance.contribution.recorded": ev.contribution(idn, "张伟", unit)}


BREAKS = {  # (data field, value): refused by the hub's model and by the schema alike
    "gov.police.identity.updated": [("gender", "X"), ("birth_date", "1985/06/15"), ("status", "alive"), ("name", "")],
    "gov.hr.employment.updated": [("status", "FIRED"), ("effective_date", 20261001), ("unit_code", "123")],
    "gov.finance.payroll.paid": [("gross_amount", "8,000.00"), ("gross_amount", 8000), ("period", "2026-13")],
    "gov.finance.payroll.stopped": [("period", "202610"), ("id_number", "33010619850615001")],
    "gov.insurance.contribution.recorded": [("status", "PAUSED"), ("base_amount", "1e4"), ("employer_code", None)],
}


@pytest.mark.parametrize("type_", sorted(DATA_MODELS))
def test_what_the_hub_accepts_the_schema_accepts_and_what_it_refuses_the_schema_refuses(type_):
    from hub.contract.inbound import Rejected
    from connectors.spec import all_connectors

    [connector] = [c for c in all_connectors().values() if type_ in c.types]  # the topic's department reads it

    def translate(raw: bytes, _types):
        return connector.translate(raw)

    good = _inbound_samples()[type_]
    assert good["source"] == connector.source
    assert not isinstance(translate(json.dumps(good).encode(), frozenset(DATA_MODELS)), Rejected)
    assert problems(good) == []
    for field, value in BREAKS[type_]:
        bad = json.loads(json.dumps(good))
        bad["data"][field] = value
        assert isinstance(translate(json.dumps(bad).encode(), frozenset(DATA_MODELS)), Rejected), (field, value)
        assert problems(bad), (field, value)
    missing = json.loads(json.dumps(good))
    del missing["data"]["id_number"]
    assert problems(missing) and isinstance(translate(json.dumps(missing).encode(), frozenset(DATA_MODELS)), Rejected)


@pytest.fixture
def streaming(db_url, kafka_bootstrap):
    s = Streaming(db_url, kafka_bootstrap)
    yield s
    s.close()


def test_everything_the_hub_publishes_matches_its_schema(streaming, tmp_path):
    db = streaming.db
    # A bulk import (events from templates) ...
    city = tmp_path / "city"
    generate_city(city, 250, seed=3)
    import_registry(db, city)
    # ... the registry's own changes ...
    unit = make_unit(db, approved={"ADMINISTRATIVE": 3}, leaders={"SECTION_CHIEF": 1})
    a, b = make_person(db, name="张伟"), make_person(db, name="李娜", male=False, birth=date(1988, 2, 2))
    hire(db, a, unit, rank="SECTION_CHIEF")
    hire(db, b, unit)
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.update_unit(uow, code=unit, changes={"name": "杭州市测试局（新）"}, effective=date(2026, 1, 1))
        registry_changes.set_quota(uow, unit_code=unit, category="ADMINISTRATIVE", approved=1, document_number="杭编〔2026〕3号",
                           effective=date(2026, 1, 1))  # over quota now
        registry_changes.end_posting(uow, id_number=b, end_date=date(2026, 1, 31), reason="RESIGNATION")
        uow.commit()
    other = make_unit(db)
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.abolish_unit(uow, code=other, effective=date(2026, 2, 1))
        uow.commit()
    # ... every step of the workflows (contract section 9) ...
    _drive_the_workflows(db)
    # ... the domain model's changes (issue 19: grades, degrees, departments, 编外, flexible retirement, new kinds) ...
    contract = _drive_the_domain_model(db, unit)
    # ... the supervision findings (contract section 11) ...
    _drive_the_findings(db, unit, a)
    # ... partner events: a mismatch opened, updated and resolved, a ghost, and a poison message ...
    dead_letters = streaming.reader("registry.deadletter.v1")  # published by the connector itself, not the outbox
    streaming.start()
    ghost = id_number(birth=date(1979, 3, 3))
    for n, event in enumerate((ev.police(a, "张卫"), ev.police(a, "章伟")), 1):  # one at a time: opened, then updated
        streaming.send(event)
        streaming.wait_consumed("police", n)
    streaming.send(ev.paid(ghost, "鬼", unit))
    streaming.partner.send("police.identity.v1", a, b"{not json")
    streaming.partner.flush()
    streaming.send(ev.police(a, "张伟"))
    streaming.wait_consumed("police", 4)
    streaming.wait_consumed("finance", 1)
    dead_letters.poll_until(lambda ms: len(ms) >= 1, 60)
    # ... and monthly comparisons (PostgreSQL: staged, events written by SQL).
    snap = tmp_path / "police.csv"
    snap.write_text("id_number,name,gender,birth_date,status\n" + f"{a},张伟,M,{parse_id_number(a).birth_date},ALIVE\n"
                    + f"{b},李娜,F,{parse_id_number(b).birth_date},DECEASED\n", encoding="utf-8")
    run_compare(db, source="police", period="2026-10", path=snap)
    pay = tmp_path / "finance.csv"
    pay.write_text(f"id_number,name,unit_code,period,gross_amount\n{a},张伟,{unit},2026-10,8000.00\n"  # 编内 paid 2 of 1:
                   f"{ghost},鬼,{unit},2026-10,3000.00\n{contract},郑爽,{unit},2026-10,5000.00\n",  # + 编外 counted apart
                   encoding="utf-8")
    run_compare(db, source="finance", period="2026-10", path=pay)

    streaming.wait_outbox_drained()
    with db.read_session() as s:
        values = [json.loads(v) for v in s.execute(select(OutboxRow.value)).scalars()] + dead_letters.values()
    dead_letters.close()
    seen: dict[str, int] = {}
    bad = []
    for event in values:
        seen[event["type"]] = seen.get(event["type"], 0) + 1
        for p in problems(event):
            bad.append((event["type"], p))
    assert not bad, bad[:20]
    assert set(seen) == set(SCHEMAS) - set(DATA_MODELS), sorted(set(SCHEMAS) - set(DATA_MODELS) - set(seen))
    for type_ in ("gov.registry.posting.started", "gov.registry.posting.ended"):  # by a form, and outside the workflows
        assert {e["data"]["form_number"] is None for e in values if e["type"] == type_} == {True, False}, type_
    mismatches = [e["data"] for e in values if e["type"].startswith("gov.registry.mismatch.")]
    assert {"LEADER_RANK_CONFLICT", "MIXED_CATEGORY", "UNAPPROVED_DEPARTMENT"} <= {m["kind"] for m in mismatches}
    assert {m["class"] for m in mismatches} == {"WARNING", "DISCREPANCY"}
    assert any(m["kind"] == "HEADCOUNT_INCONSISTENT" and m["subject"] == unit and m["details"].get("paid_non_establishment") == 1
               for m in mismatches), [m["details"] for m in mismatches if m["kind"] == "HEADCOUNT_INCONSISTENT"]
    units = [e["data"] for e in values if e["type"].startswith("gov.registry.unit.") and "grade" in e["data"]]
    assert {(u["grade"], u["civil_service_managed"], u["classification"], u["dispatched"]) for u in units} >= {
        ("DIVISION", False, None, "DEVELOPMENT_ZONE"), ("SECTION", True, "PUBLIC_WELFARE_1", None)}
    persons = [e["data"] for e in values if e["type"].startswith("gov.registry.person.") and e["data"].get("degree")]
    assert {(p["degree"], p["in_service_education"], p["in_service_degree"]) for p in persons} == {("BACHELOR", "MASTER", "MASTER")}
    dead = next(e for e in values if e["type"] == "gov.registry.deadletter")
    assert base64.b64decode(dead["data"]["raw_base64"]) == b"{not json"


KEY = b"event-schema-test-form-key-0123456789"


def _drive_the_workflows(db) -> None:
    """Every workflow step that publishes, through the service layer as the GraphQL mutations call it: documents,
    hiring plans, onboarding (reviewed, returned, resubmitted, approved, rejected, withdrawn), leader appointments,
    departure and transfer, policy over-quota, freezes."""
    unit = make_unit(db, approved={"ADMINISTRATIVE": 4, "PUBLIC_INSTITUTION": 2}, leaders={"SECTION_CHIEF": 1, "DEPUTY_SECTION_CHIEF": 1},
                     name="杭州市流程局")
    office, org, hr = Caller("office", Role.ADMIN), Caller("org", Role.ORGANIZATION), Caller("hr", Role.HR)
    own = Caller("unit", Role.UNIT, unit_code=unit)

    def step(caller, fn, *args, **kw):
        with UnitOfWork(db, actor=caller.actor) as uow:
            out = fn(uow, caller, *args, **kw)
            uow.commit()
        return out

    def apply_for(idn, name, category="ADMINISTRATIVE", route="CIVIL_SERVICE_EXAM", plan=None):
        return OnboardingApplication.new(unit_code=unit, id_number=idn, name=name, category=category, route=route,
                                         start_date=date(2026, 3, 1), education="BACHELOR", hiring_plan_id=plan)

    step(office, documents.record_document, number="杭编委〔2026〕9号", title="关于市流程局编制的批复",
         issuer="杭州市机构编制委员会", issued_on=date(2026, 3, 10), kind="REPLY")
    today = office_today()  # the hub's clock
    year = today.year
    plan = step(own, plans.submit_hiring_plan, unit_code=unit, year=year, category="ADMINISTRATIVE", slots=2,
                reason="业务扩展").id
    step(office, plans.decide_hiring_plan, KEY, plan, True, 1, "核准一名")
    refused = step(own, plans.submit_hiring_plan, unit_code=unit, year=year, category="ADMINISTRATIVE", slots=1,
                   reason="再增一名").id
    step(office, plans.decide_hiring_plan, KEY, refused, False, None, "编制已满")
    # hired from the plan: reviewed by ORGANIZATION, approved by the office (person, form, posting)
    leader = id_number(date(1995, 5, 5))
    app = step(own, onboarding.submit_onboarding, apply_for(leader, "王芳", plan=plan), "首次申报").id
    step(org, onboarding.review_onboarding, app, True, None)
    step(office, onboarding.approve_onboarding, KEY, app, "同意进编")
    # returned by HR, corrected, resubmitted, then withdrawn by the unit
    b = id_number(date(1996, 6, 6), male=False)
    app = step(own, onboarding.submit_onboarding, apply_for(b, "赵敏", "PUBLIC_INSTITUTION", "OPEN_RECRUITMENT"))
    step(hr, onboarding.review_onboarding, app.id, False, "学历证明缺失")
    step(own, onboarding.resubmit_onboarding, app.id, apply_for(b, "赵敏", "PUBLIC_INSTITUTION", "OPEN_RECRUITMENT"), "已补正")
    step(own, onboarding.close_onboarding, app.id, withdraw=True, comment=None)
    app = step(own, onboarding.submit_onboarding, apply_for(id_number(date(1997, 7, 7)), "钱进"))
    step(office, onboarding.close_onboarding, app.id, withdraw=False, comment="不符合报考条件")
    # 核准 → 任免 → 配备: the posting's rank changes, a form is issued
    for caller in (office, org, office):
        step(caller, leaders.appoint_leader, KEY, id_number=leader, rank=LeaderRank.SECTION_CHIEF,
             effective_date=date(2026, 4, 1), document_number="杭组干〔2026〕12号")
    # departure (减员通知单) and transfer (调动审批表)
    leaving, moving = make_person(db, name="孙离"), make_person(db, name="周调")
    hire(db, leaving, unit)
    hire(db, moving, unit)
    # an appointment checked (核准) but not confirmed is cancelled when its holder's posting ends
    step(office, leaders.appoint_leader, KEY, id_number=leaving, rank=LeaderRank.DEPUTY_SECTION_CHIEF,
         effective_date=date(2026, 4, 15), document_number="杭组干〔2026〕13号")
    step(office, postings.end_posting, KEY, id_number=leaving, end_date=date(2026, 4, 30),
         reason=DepartureReason.RESIGNATION, comment="本人申请")
    step(office, postings.transfer_person, KEY, id_number=moving, to_unit_code=unit, category="PUBLIC_INSTITUTION",
         effective_date=date(2026, 5, 1))
    step(office, policy.allow_policy_over_quota, unit_code=unit, category="ADMINISTRATIVE", slots=1,
         document_number="杭编〔2026〕50号", deadline=today + timedelta(days=60), reason="军转干部安置")
    step(office, plans.set_unit_frozen, unit_code=unit, frozen=True, reason="机构改革期间")
    step(office, plans.set_unit_frozen, unit_code=unit, frozen=False, reason=None)


def _drive_the_findings(db, unit: str, person: str) -> None:
    """Every finding event: the hub's own (混编混岗 from the domain model's mixed posting), one recorded by the auditor
    with a person as evidence, its progress, a new deadline, verification and closing (销号), and one overdue."""
    from hub.service_layer import findings
    from hub.service_layer.daily import run_supervision_checks

    today = office_today()
    opened, _ = run_supervision_checks(db, today=today)
    assert opened
    auditor, unit_token = Caller("audit", Role.AUDITOR), Caller("unit", Role.UNIT, unit_code=unit)
    with UnitOfWork(db, actor=auditor.actor) as uow:
        f = findings.record_finding(uow, auditor, findings.NewFinding(
            unit_code=unit, source="AUDIT", category="OVER_QUOTA_HIRING", title=f"超编进人 {person}", description="审计发现",
            recommendation="限期消化", responsible_party="测试局", deadline=today + timedelta(days=30),
            evidence=(("PERSON", person),)))
        uow.commit()
    for who, action, kw in ((unit_token, "PROGRESS", {"comment": "已调出"}),
                            (auditor, "DEADLINE_CHANGED", {"comment": "延期", "deadline": today + timedelta(days=60)}),
                            (auditor, "VERIFIED", {}), (auditor, "CLOSED", {"comment": "销号"})):
        with UnitOfWork(db, actor=who.actor) as uow:
            findings.update_finding(uow, who, f.id, action=action, comment=kw.get("comment"), deadline=kw.get("deadline"))
            uow.commit()
    with UnitOfWork(db, actor="system:test") as uow:
        assert findings.raise_overdue(uow, today + timedelta(days=400))
        uow.commit()


def _drive_the_domain_model(db, paying_unit: str) -> str:
    """The domain model's events (issue 19, docs/domain.md), through the service layer as the GraphQL mutations call
    it: units with a grade and the other parameters, a person with degrees, internal departments set up and
    abolished (UNAPPROVED_DEPARTMENT opened and resolved), a leader rank HR contradicts (LEADER_RANK_CONFLICT), a
    mixed-category posting (MIXED_CATEGORY), a flexible retirement decision, and non-establishment entries recorded and
    ended. Returns the ID number of a contract worker registered (编外) with ``paying_unit``."""
    from hub.domain.registry import Person, Unit
    from hub.service_layer import departments, non_establishment
    from hub.service_layer.registry_checks import record_retirement_decision
    from tests.events import hr
    from tests.factories import unit_code
    from tests.integration.registry_helpers import apply

    graded, institution = unit_code(), unit_code()
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.create_unit(uow, unit=Unit.new(code=graded, name="杭州市开发区管委会", kind="GOVERNMENT_ORGAN", level="CITY",
                                                region_code="330100", funding="FULL", grade="DIVISION",
                                                dispatched="DEVELOPMENT_ZONE"),
                             effective=date(2020, 1, 1))
        registry_changes.create_unit(uow, unit=Unit.new(code=institution, name="杭州市测试中心", kind="PUBLIC_INSTITUTION", level="CITY",
                                                region_code="330100", funding="FULL", grade="SECTION",
                                                civil_service_managed=True, classification="PUBLIC_WELFARE_1"), effective=date(2020, 1, 1))
        for cat, n in (("ADMINISTRATIVE", 3), ("PUBLIC_INSTITUTION", 1)):
            registry_changes.set_quota(uow, unit_code=graded, category=cat, approved=n, document_number="杭编〔2020〕7号",
                               effective=date(2020, 1, 1))
        for rank, n in (("DIVISION_CHIEF", 1), ("SECTION_CHIEF", 2), ("DEPUTY_SECTION_CHIEF", 1)):
            registry_changes.set_leader_quota(uow, unit_code=graded, rank=rank, approved=n, document_number="杭编〔2020〕8号",
                                      effective=date(2020, 1, 1))
        schooled = id_number(date(1990, 1, 1), male=False)
        registry_changes.register_person(uow, person=Person.new(id_number=schooled, name="吴秀", education="BACHELOR", degree="BACHELOR",
                                                        in_service_education="MASTER", in_service_degree="MASTER"),
                                 effective=date(2020, 1, 1))
        uow.commit()
    chief, mixed = make_person(db, name="冯军"), make_person(db, name="陈混")
    hire(db, chief, graded, rank="DIVISION_CHIEF")
    hire(db, mixed, graded, category="PUBLIC_INSTITUTION")  # a public-institution slot in an organ: MIXED_CATEGORY
    hire(db, schooled, graded)
    apply(db, hr(chief, "冯军", graded, rank="四级主任科员"))  # HR's rank contradicts 正处: LEADER_RANK_CONFLICT
    with UnitOfWork(db, actor="test") as uow:
        departments.set_up(uow, unit_code=graded, name="办公室", chief_positions=1, deputy_positions=1, approved=True,
                           document_number="杭编〔2020〕9号")
        extra = departments.set_up(uow, unit_code=graded, name="信息中心", chief_positions=0, deputy_positions=0,
                                   approved=False).id  # not in the approval: UNAPPROVED_DEPARTMENT
        uow.commit()
    with UnitOfWork(db, actor="test") as uow:
        departments.abolish(uow, department_id=extra)
        uow.commit()
    retiring = make_person(db, birth=date(1964, 5, 20), name="孙强")
    hire(db, retiring, graded, start=date(2000, 1, 1))  # past the statutory date: RETIREMENT_DUE ...
    with UnitOfWork(db, actor="test") as uow:  # ... held until the decided one
        record_retirement_decision(uow, id_number=retiring, kind="DELAY", retire_on=date(2027, 5, 20),
                                   document_number="杭人社〔2024〕9号")
        uow.commit()
    contract, seconded = id_number(region="110105", serial=801), id_number(region="110105", serial=803)
    with UnitOfWork(db, actor="test") as uow:
        non_establishment.record_entry(uow, id_number=contract, name="郑爽", unit_code=paying_unit, kind="CONTRACT",
                                       start_date=date(2025, 1, 1), document_number="杭人社〔2025〕3号")
        entry = non_establishment.record_entry(uow, id_number=seconded, name="蒋借", unit_code=graded, kind="SECONDMENT",
                                               start_date=date(2025, 6, 1)).id
        uow.commit()
    with UnitOfWork(db, actor="test") as uow:
        non_establishment.end_entry(uow, entry_id=entry, end_date=date(2026, 6, 30))
        uow.commit()
    return contract
