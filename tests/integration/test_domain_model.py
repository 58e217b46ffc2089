"""Issue 19: the registry as an establishment officer knows it — rules through the service layer, both databases."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from hub.adapters.orm import MismatchRow
from tests.events import hr
from tests.factories import id_number
from tests.integration.registry_helpers import apply, hire, make_person, make_unit


def _open(db, kind: str) -> list[MismatchRow]:
    with db.read_session() as s:
        return list(s.execute(select(MismatchRow).where(MismatchRow.kind == kind, MismatchRow.status == "OPEN")).scalars())


def test_hr_rank_contradicting_a_leader_rank_opens_and_then_resolves_leader_rank_conflict(db):
    unit = make_unit(db, leaders={"DIVISION_CHIEF": 1})
    idn = make_person(db, name="张伟")
    hire(db, idn, unit, rank="DIVISION_CHIEF")
    apply(db, hr(idn, "张伟", unit, rank="四级主任科员"))
    [m] = _open(db, "LEADER_RANK_CONFLICT")
    assert (m.subject, m.unit_code, m.source) == (idn, unit, "hr")
    apply(db, hr(idn, "张伟", unit, rank="一级调研员"))  # HR corrects the rank: same level as 正处
    assert not _open(db, "LEADER_RANK_CONFLICT")


def test_education_and_degree_through_graphql_and_a_bad_degree_changes_nothing(db):
    from urllib.parse import quote

    from fastapi.testclient import TestClient

    from hub.api.app import create_app
    from hub.service_layer.tokens import create_token
    from tests.factories import id_number

    client, token = TestClient(create_app(db)), create_token(db, role="ADMIN", name="admin")[1]

    def gql(q):
        return client.post("/graphql", json={"query": q}, headers={"Authorization": f"Bearer {token}",
                                                                   "X-Purpose": quote("核查")}).json()

    idn = id_number(region="110105", serial=771)
    r = gql(f'mutation {{ registerPerson(person: {{idNumber: "{idn}", name: "王芳", education: "BACHELOR", degree: "BACHELOR",'
            f' inServiceEducation: "MASTER", inServiceDegree: "MASTER"}}, effectiveDate: "2024-01-01") {{ __typename }} }}')
    assert r["data"]["registerPerson"]["__typename"] == "PersonPayload", r
    fields = "education degree inServiceEducation inServiceDegree"
    got = gql(f'{{ person(idNumber: "{idn}") {{ {fields} }} }}')["data"]["person"]
    assert got == {"education": "BACHELOR", "degree": "BACHELOR", "inServiceEducation": "MASTER", "inServiceDegree": "MASTER"}
    # a full-time doctorate degree on a 本科 education: refused with the reason, nothing changed
    r = gql(f'mutation {{ registerPerson(person: {{idNumber: "{idn}", name: "王芳", degree: "DOCTOR"}},'
            f' effectiveDate: "2025-01-01") {{ __typename ... on InvalidInput {{ message }} }} }}')
    assert r["data"]["registerPerson"]["__typename"] == "InvalidInput" and "full-time" in r["data"]["registerPerson"]["message"]
    assert gql(f'{{ person(idNumber: "{idn}") {{ {fields} }} }}')["data"]["person"] == got
    # a correction of the name keeps the schooling recorded
    gql(f'mutation {{ registerPerson(person: {{idNumber: "{idn}", name: "王 芳"}}, effectiveDate: "2025-02-01") {{ __typename }} }}')
    assert gql(f'{{ person(idNumber: "{idn}") {{ {fields} }} }}')["data"]["person"] == got


def _retirement(db) -> dict[str, MismatchRow]:
    return {m.subject: m for m in _open(db, "RETIREMENT_DUE")}


def test_retirement_due_follows_hr_post_and_rank(db):
    from hub.service_layer.mismatches import MismatchBook
    from hub.service_layer.registry_checks import recheck_retirement
    from hub.service_layer.unit_of_work import UnitOfWork

    unit = make_unit(db, approved={"ADMINISTRATIVE": 5, "WORKER": 2}, leaders={"DEPUTY_DIVISION_CHIEF": 1})
    cadre_in_worker_slot = make_person(db, birth=date(1975, 3, 10), male=False, name="李娟")
    worker_in_admin_slot = make_person(db, birth=date(1975, 3, 11), male=False, name="王丽")
    leader = make_person(db, birth=date(1968, 6, 1), male=False, name="赵敏")
    hire(db, cadre_in_worker_slot, unit, category="WORKER")
    hire(db, worker_in_admin_slot, unit)
    hire(db, leader, unit, rank="DEPUTY_DIVISION_CHIEF")
    apply(db, hr(cadre_in_worker_slot, "李娟", unit, rank="一级科员"), hr(worker_in_admin_slot, "王丽", unit, rank="工勤技能岗位三级"))
    with UnitOfWork(db, actor="test") as uow:
        recheck_retirement(uow, MismatchBook(uow), date(2026, 1, 1))
        uow.commit()
    due = _retirement(db)
    assert set(due) == {worker_in_admin_slot}  # the 县处级 woman and the cadre in a worker slot are not due yet
    import json
    d = json.loads(due[worker_in_admin_slot].details)
    assert (d["retirement_date"], d["post"], d["schedule"]) == ("2025-05-11", "WORKER", "50")


def test_a_flexible_retirement_decision_moves_the_date_and_holds_the_finding_until_then(db):
    import json

    from hub.domain.registry import PersonNotFound
    from hub.service_layer.mismatches import MismatchBook
    from hub.service_layer.registry_checks import recheck_retirement, record_retirement_decision
    from hub.service_layer.unit_of_work import UnitOfWork

    unit = make_unit(db)
    idn = make_person(db, birth=date(1964, 5, 20), name="孙强")
    hire(db, idn, unit, start=date(2000, 1, 1))
    assert idn in _retirement(db)  # statutory 2024-05-20
    for kind, on, why in (("DELAY", date(2027, 5, 21), "弹性延迟"), ("EARLY", date(2023, 1, 1), "弹性提前")):
        with UnitOfWork(db, actor="test") as uow:
            try:
                record_retirement_decision(uow, id_number=idn, kind=kind, retire_on=on, document_number="杭人社〔2024〕9号")
                raise AssertionError("accepted")
            except ValueError as e:
                assert why in str(e)
    with UnitOfWork(db, actor="test") as uow:
        try:
            record_retirement_decision(uow, id_number=idn, kind="DELAY", retire_on=date(2027, 5, 20), document_number=" ")
            raise AssertionError("accepted")
        except ValueError as e:
            assert "document" in str(e)
    assert idn in _retirement(db)  # refused decisions changed nothing
    with UnitOfWork(db, actor="test") as uow:
        record_retirement_decision(uow, id_number=idn, kind="DELAY", retire_on=date(2027, 5, 20), document_number="杭人社〔2024〕9号")
        uow.commit()
    assert idn not in _retirement(db)  # held until the decided date
    with UnitOfWork(db, actor="test") as uow:
        recheck_retirement(uow, MismatchBook(uow), date(2027, 5, 19))
        uow.commit()
    assert idn not in _retirement(db)
    with UnitOfWork(db, actor="test") as uow:
        recheck_retirement(uow, MismatchBook(uow), date(2027, 5, 20))
        uow.commit()
    d = json.loads(_retirement(db)[idn].details)
    assert (d["retirement_date"], d["statutory_date"], d["decision"]) == ("2027-05-20", "2024-05-20", "DELAY")
    with UnitOfWork(db, actor="test") as uow:
        try:
            record_retirement_decision(uow, id_number=id_number(region="110105", serial=919), kind="DELAY", retire_on=date(2027, 5, 20),
                                       document_number="x")
            raise AssertionError("accepted")
        except PersonNotFound:
            pass


def test_non_establishment_staff_paid_by_finance_are_not_ghosts_and_a_stranger_is(db, tmp_path):
    """编外: a contract worker on the register, paid by the unit that employs them, is recognised; a contract worker
    unknown to every register, paid the same way, is GHOST_PAYROLL; a retiree is a ghost until the unit registers
    the pension it pays through finance. 三数一致 counts the recognised pay apart (general path on SQLite, staged set
    operations on PostgreSQL)."""
    from hub.service_layer import registry_changes
    from hub.service_layer.comparison.pipeline import run_compare
    from hub.service_layer.non_establishment import end_entry, record_entry
    from hub.service_layer.unit_of_work import UnitOfWork
    from tests.events import paid

    unit = make_unit(db, approved={"ADMINISTRATIVE": 1})
    retiree = make_person(db, birth=date(1960, 2, 2), name="吴刚")
    hire(db, retiree, unit, start=date(1990, 1, 1))
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.end_posting(uow, id_number=retiree, end_date=date(2020, 2, 29), reason="RETIREMENT")
        uow.commit()
    staff = make_person(db, name="周杰")
    hire(db, staff, unit)
    contract, stranger = id_number(region="110105", serial=801), id_number(region="110105", serial=802)
    with UnitOfWork(db, actor="test") as uow:
        entry = record_entry(uow, id_number=contract, name="郑爽", unit_code=unit, kind="CONTRACT",
                             start_date=date(2025, 1, 1), document_number="杭人社〔2025〕3号").id
        uow.commit()
    apply(db, paid(contract, "郑爽", unit), paid(stranger, "冯某", unit), paid(retiree, "吴刚", unit), paid(staff, "周杰", unit))
    assert {m.subject: m.unit_code for m in _open(db, "GHOST_PAYROLL")} == {stranger: unit, retiree: unit}
    with UnitOfWork(db, actor="test") as uow:  # the unit pays the retiree's pension through finance: registered
        record_entry(uow, id_number=retiree, name="吴刚", unit_code=unit, kind="RETIREE_PENSION", start_date=date(2020, 3, 1))
        uow.commit()
    assert {m.subject: m.unit_code for m in _open(db, "GHOST_PAYROLL")} == {stranger: unit}

    snapshot = tmp_path / "finance.csv"
    snapshot.write_text("id_number,name,unit_code,period,gross_amount\n"
                        f"{staff},周杰,{unit},2026-10,8000.00\n{contract},郑爽,{unit},2026-10,5000.00\n"
                        f"{retiree},吴刚,{unit},2026-10,6000.00\n", encoding="utf-8")
    report = run_compare(db, source="finance", period="2026-10", path=snapshot)
    assert report.method == ("staged" if db.is_postgres else "general")
    assert not _open(db, "HEADCOUNT_INCONSISTENT")  # approved 1, actual 1, paid 1 (编内): consistent
    assert not _open(db, "GHOST_PAYROLL")  # the stranger is no longer paid this period
    snapshot.write_text(snapshot.read_text(encoding="utf-8") + f"{stranger},冯某,{unit},2026-10,3000.00\n", encoding="utf-8")
    run_compare(db, source="finance", period="2026-10", path=snapshot)
    [h] = _open(db, "HEADCOUNT_INCONSISTENT")
    import json
    assert json.loads(h.details) == {"period": "2026-10", "approved": 1, "actual": 1, "paid": 2, "paid_non_establishment": 2}
    assert {m.subject for m in _open(db, "GHOST_PAYROLL")} == {stranger}

    with UnitOfWork(db, actor="test") as uow:  # the contract ends: the unit's pay for them is a ghost again
        end_entry(uow, entry_id=entry, end_date=date(2026, 10, 31))
        uow.commit()
    assert {m.subject for m in _open(db, "GHOST_PAYROLL")} == {stranger, contract}
    with UnitOfWork(db, actor="test") as uow:  # bad input: a clear error, nothing changed
        for bad in (dict(kind="TEMP"), dict(unit_code="91330100MA27XXXX0X"), dict(name=" ")):
            args = dict(id_number=contract, name="郑爽", unit_code=unit, kind="CONTRACT", start_date=date(2026, 11, 1)) | bad
            try:
                record_entry(uow, **args)
                raise AssertionError(f"accepted {bad}")
            except ValueError as e:
                assert str(e)


def test_a_posting_whose_category_does_not_fit_its_unit_is_flagged_mixed_category(db):
    import json

    from hub.service_layer import registry_changes
    from hub.service_layer.unit_of_work import UnitOfWork

    organ = make_unit(db, approved={"ADMINISTRATIVE": 2, "PUBLIC_INSTITUTION": 1})
    fits, mixed = make_person(db, name="甲"), make_person(db, name="乙")
    hire(db, fits, organ)
    hire(db, mixed, organ, category="PUBLIC_INSTITUTION")  # a public-institution slot in an organ
    [m] = _open(db, "MIXED_CATEGORY")
    assert (m.subject, m.unit_code, m.source) == (mixed, organ, "registry")
    assert json.loads(m.details) == {"expected": "a category of a organ", "found": "PUBLIC_INSTITUTION",
                                     "unit_kind": "GOVERNMENT_ORGAN"}
    with UnitOfWork(db, actor="test") as uow:  # reclassified as a public institution: now the administrative slot is mixed
        registry_changes.update_unit(uow, code=organ, changes={"kind": "PUBLIC_INSTITUTION"}, effective=date(2021, 1, 1))
        uow.commit()
    assert {(m.subject, json.loads(m.details)["found"]) for m in _open(db, "MIXED_CATEGORY")} == {(fits, "ADMINISTRATIVE")}
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.end_posting(uow, id_number=fits, end_date=date(2022, 1, 1), reason="TRANSFER_OUT")
        uow.commit()
    assert not _open(db, "MIXED_CATEGORY")


def test_unit_grade_and_parameters_through_graphql_and_leader_ranks_must_fit_the_grade(db):
    from urllib.parse import quote

    from fastapi.testclient import TestClient

    from hub.api.app import create_app
    from hub.domain.registry import LeaderRankAboveGrade
    from hub.service_layer import registry_changes
    from hub.service_layer.tokens import create_token
    from hub.service_layer.unit_of_work import UnitOfWork
    from tests.factories import unit_code

    client, token = TestClient(create_app(db)), create_token(db, role="ADMIN", name="admin")[1]

    def gql(q):
        return client.post("/graphql", json={"query": q}, headers={"Authorization": f"Bearer {token}",
                                                                   "X-Purpose": quote("核查")}).json()

    code = unit_code()
    r = gql(f'mutation {{ createUnit(unit: {{code: "{code}", name: "桐庐县测试局", kind: GOVERNMENT_ORGAN, level: DISTRICT,'
            f' regionCode: "330122", funding: FULL, grade: SECTION}}, effectiveDate: "2020-01-01") {{ __typename }} }}')
    assert r["data"]["createUnit"]["__typename"] == "UnitPayload", r
    fields = "grade civilServiceManaged classification dispatched"
    assert gql(f'{{ unit(code: "{code}") {{ {fields} }} }}')["data"]["unit"] == {
        "grade": "SECTION", "civilServiceManaged": False, "classification": None, "dispatched": None}
    # no 正处 positions or leaders in a 正科级 unit: refused with the reason, nothing changed
    r = gql(f'mutation {{ setLeaderQuota(unitCode: "{code}", rank: DIVISION_CHIEF, approved: 1, effectiveDate: "2020-01-01")'
            f' {{ __typename ... on InvalidInput {{ message }} }} }}')
    assert r["data"]["setLeaderQuota"]["__typename"] == "InvalidInput" and "机构规格" in r["data"]["setLeaderQuota"]["message"]
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.set_quota(uow, unit_code=code, category="ADMINISTRATIVE", approved=2, document_number=None, effective=date(2020, 1, 1))
        registry_changes.set_leader_quota(uow, unit_code=code, rank="SECTION_CHIEF", approved=1, document_number=None, effective=date(2020, 1, 1))
        uow.commit()
    chief = make_person(db, name="钱进")
    hire(db, chief, code, rank="SECTION_CHIEF")
    other = make_person(db, name="孙退")
    with UnitOfWork(db, actor="test") as uow:
        try:
            registry_changes.start_posting(uow, id_number=other, unit_code=code, category="ADMINISTRATIVE",
                                   leader_rank="DIVISION_CHIEF", start_date=date(2021, 1, 1))
            raise AssertionError("accepted")
        except LeaderRankAboveGrade as e:
            assert "DIVISION_CHIEF" in str(e)
    # a grade below the unit's leaders is refused; raising it and reclassifying is recorded in the unit's history
    r = gql(f'mutation {{ updateUnit(code: "{code}", changes: {{grade: DEPUTY_SECTION}}, effectiveDate: "2022-01-01")'
            f' {{ __typename ... on InvalidInput {{ message }} }} }}')
    assert r["data"]["updateUnit"]["__typename"] == "InvalidInput"
    r = gql(f'mutation {{ updateUnit(code: "{code}", changes: {{grade: DIVISION, dispatched: DEVELOPMENT_ZONE}},'
            f' effectiveDate: "2022-01-01") {{ __typename }} }}')
    assert r["data"]["updateUnit"]["__typename"] == "UnitPayload", r
    got = gql(f'{{ unit(code: "{code}") {{ {fields} history {{ validFrom grade dispatched }} }} }}')["data"]["unit"]
    assert (got["grade"], got["dispatched"]) == ("DIVISION", "DEVELOPMENT_ZONE")
    assert [(h["grade"], h["dispatched"]) for h in got["history"]] == [("SECTION", None), ("DIVISION", "DEVELOPMENT_ZONE")]
    r = gql(f'mutation {{ setLeaderQuota(unitCode: "{code}", rank: DIVISION_CHIEF, approved: 1, effectiveDate: "2022-01-01")'
            f' {{ __typename }} }}')
    assert r["data"]["setLeaderQuota"]["__typename"] == "QuotaPayload", r


def test_the_demo_city_imports_with_its_grades_and_an_import_refuses_a_leader_above_grade(db, tmp_path):
    import csv

    from sqlalchemy import func

    from hub.adapters.orm import UnitRow
    from hub.demo.city import generate_city
    from hub.service_layer.importer import import_registry

    out = tmp_path / "city"
    generate_city(out, 400, seed=5)
    units = {r["code"]: r for r in csv.DictReader((out / "units.csv").open(encoding="utf-8"))}
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("units.csv", "quotas.csv", "leader_quotas.csv", "persons.csv", "postings.csv"):
        (bad / name).write_bytes((out / name).read_bytes())
    county = next(c for c, u in units.items() if u["grade"] == "SECTION" and u["kind"] != "PUBLIC_INSTITUTION")
    with (bad / "leader_quotas.csv").open("a", encoding="utf-8") as f:
        f.write(f"{county},DIVISION_CHIEF,1\n")
    from hub.service_layer.importer import ImportRejected

    try:
        import_registry(db, bad)
        raise AssertionError("accepted")
    except ImportRejected as e:
        [err] = e.report.errors
        assert err.file == "leader_quotas.csv" and "机构规格" in err.reason, err
    with db.read_session() as s:
        assert s.scalar(select(func.count()).select_from(UnitRow)) == 0  # all or nothing
    import_registry(db, out)
    with db.read_session() as s:
        got = {r.code: (r.grade, r.civil_service_managed, r.classification, r.dispatched) for r in s.execute(select(UnitRow)).scalars()}
    assert got == {c: (u["grade"], u["civil_service_managed"] == "true", u["classification"] or None, u["dispatched"] or None)
                   for c, u in units.items()}


def test_internal_departments_split_the_leader_quota_and_an_unapproved_one_is_a_finding(db):
    import json
    from urllib.parse import quote

    from fastapi.testclient import TestClient

    from hub.api.app import create_app
    from hub.service_layer.tokens import create_token

    unit = make_unit(db, leaders={"DIVISION_CHIEF": 1, "SECTION_CHIEF": 2, "DEPUTY_SECTION_CHIEF": 2})
    client, token = TestClient(create_app(db)), create_token(db, role="ADMIN", name="admin")[1]

    def gql(q):
        return client.post("/graphql", json={"query": q}, headers={"Authorization": f"Bearer {token}",
                                                                   "X-Purpose": quote("核查")}).json()["data"]

    def set_up(name, chief, deputy, approved, doc='"杭编〔2020〕3号"'):
        return gql(f'mutation {{ setUpInternalDepartment(unitCode: "{unit}", name: "{name}", chiefPositions: {chief},'
                   f' deputyPositions: {deputy}, approved: {approved}, documentNumber: {doc}) {{ __typename'
                   f' ... on DepartmentPayload {{ department {{ id }} }} ... on LeaderQuotaExhausted {{ message }}'
                   f' ... on InvalidInput {{ message }} }} }}')["setUpInternalDepartment"]

    assert set_up("办公室", 1, 1, "true")["__typename"] == "DepartmentPayload"
    assert set_up("政策法规科", 1, 0, "true")["__typename"] == "DepartmentPayload"
    refused = set_up("督查科", 1, 0, "true")  # no 正科 position left for a third department chief
    assert refused["__typename"] == "LeaderQuotaExhausted" and "SECTION_CHIEF" in refused["message"]
    assert set_up("督查科", 0, 0, "true", doc="null")["__typename"] == "InvalidInput"  # approved: names its document
    assert not _open(db, "UNAPPROVED_DEPARTMENT")
    extra = set_up("信息中心", 0, 1, "false", doc="null")  # set up though the approval does not name it
    assert extra["__typename"] == "DepartmentPayload"
    [m] = _open(db, "UNAPPROVED_DEPARTMENT")
    assert (m.subject, m.unit_code, json.loads(m.details)) == (unit, unit, {"departments": ["信息中心"]})
    got = gql(f'{{ unit(code: "{unit}") {{ internalDepartments {{ name approved chiefPositions deputyPositions }}'
              f' leaderSplit {{ rank approved departments team }} }} }}')["unit"]
    assert [d["name"] for d in got["internalDepartments"]] == ["办公室", "政策法规科", "信息中心"]
    assert {s["rank"]: (s["approved"], s["departments"], s["team"]) for s in got["leaderSplit"]} == {
        "DIVISION_CHIEF": (1, 0, 1), "SECTION_CHIEF": (2, 2, 0), "DEPUTY_SECTION_CHIEF": (2, 2, 0)}
    r = gql(f'mutation {{ abolishInternalDepartment(id: {extra["department"]["id"]}) {{ __typename }} }}')
    assert r["abolishInternalDepartment"]["__typename"] == "DepartmentPayload"
    assert not _open(db, "UNAPPROVED_DEPARTMENT")
