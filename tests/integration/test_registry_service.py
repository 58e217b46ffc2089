"""Registry changes through the service layer, on SQLite and PostgreSQL."""

import json
from datetime import date

import pytest
from sqlalchemy import func, select, text

from hub.adapters import history
from hub.adapters.operation_log import verify
from hub.adapters.orm import (
    MismatchRow,
    OperationLogRow,
    OutboxRow,
    PersonVersionRow,
    PostingRow,
    QuotaVersionRow,
    UnitVersionRow,
)
from hub.domain.registry import LeaderQuotaExhausted, PersonAlreadyPosted, QuotaExhausted
from hub.service_layer import registry_changes
from hub.service_layer.unit_of_work import UnitOfWork
from tests.integration.registry_helpers import hire, make_person, make_unit


def _count(db, model, *where):
    with db.read_session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_hire_fills_a_slot_and_publishes_through_the_outbox(db):
    unit = make_unit(db, approved={"ADMINISTRATIVE": 1})
    idn = make_person(db)
    hire(db, idn, unit)
    assert _count(db, PostingRow, PostingRow.active) == 1
    with db.read_session() as s:
        types = [json.loads(v)["type"] for v in s.execute(select(OutboxRow.value)).scalars()]
    assert "gov.registry.posting.started" in types and "gov.registry.unit.created" in types


def test_hire_is_refused_when_quota_is_full_and_changes_nothing(db):
    unit = make_unit(db, approved={"ADMINISTRATIVE": 1})
    hire(db, make_person(db), unit)
    before_outbox, before_log = _count(db, OutboxRow), _count(db, OperationLogRow)
    with pytest.raises(QuotaExhausted):
        hire(db, make_person(db), unit)
    assert _count(db, PostingRow) == 1
    # the refused hire wrote nothing (the person registration before it did)
    assert _count(db, OperationLogRow) == before_log + 1
    assert _count(db, OutboxRow) == before_outbox + 1


def test_appointment_is_refused_when_leader_positions_are_full(db):
    unit = make_unit(db, approved={"ADMINISTRATIVE": 5}, leaders={"SECTION_CHIEF": 1})
    hire(db, make_person(db), unit, rank="SECTION_CHIEF")
    with pytest.raises(LeaderQuotaExhausted):
        hire(db, make_person(db), unit, rank="SECTION_CHIEF")
    assert _count(db, PostingRow) == 1


def test_a_person_holds_at_most_one_active_posting(db):
    u1, u2 = make_unit(db), make_unit(db)
    idn = make_person(db)
    hire(db, idn, u1)
    with pytest.raises(PersonAlreadyPosted):
        hire(db, idn, u2)


def test_database_refuses_a_second_active_posting_even_past_the_domain(db):
    u1 = make_unit(db)
    idn = make_person(db)
    hire(db, idn, u1)
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        with UnitOfWork(db, actor="test") as uow:
            uow.session.add(PostingRow(id_number=idn, unit_code=u1, category="ADMINISTRATIVE", start_date=date(2022, 1, 1), active=True))
            uow.session.flush()


def test_quota_cut_below_use_opens_over_quota_and_restoring_it_resolves(db):
    unit = make_unit(db, approved={"ADMINISTRATIVE": 2})
    hire(db, make_person(db), unit)
    hire(db, make_person(db), unit)
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.set_quota(uow, unit_code=unit, category="ADMINISTRATIVE", approved=1, document_number="杭编〔2023〕9号", effective=date(2023, 1, 1))
        uow.commit()
    with db.read_session() as s:
        m = s.execute(select(MismatchRow).where(MismatchRow.kind == "OVER_QUOTA")).scalar_one()
        assert m.status == "OPEN" and m.subject == unit
        assert json.loads(m.details) == {"over": {"ADMINISTRATIVE": {"approved": 1, "used": 2}}}
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.set_quota(uow, unit_code=unit, category="ADMINISTRATIVE", approved=2, document_number="杭编〔2024〕1号", effective=date(2024, 1, 1))
        uow.commit()
    with db.read_session() as s:
        assert s.execute(select(MismatchRow.status).where(MismatchRow.kind == "OVER_QUOTA")).scalar_one() == "RESOLVED"


def test_retirement_due_opens_for_a_holder_past_retirement_and_resolves_when_posting_ends(db):
    unit = make_unit(db)
    old = make_person(db, birth=date(1960, 3, 1), male=True)  # retired at 60 in 2020
    hire(db, old, unit, start=date(1990, 1, 1))
    with db.read_session() as s:
        m = s.execute(select(MismatchRow).where(MismatchRow.kind == "RETIREMENT_DUE")).scalar_one()
        assert (m.subject, m.status) == (old, "OPEN")
        assert json.loads(m.details)["retirement_date"] == "2020-03-01"
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.end_posting(uow, id_number=old, end_date=date(2024, 1, 1), reason="retirement")
        uow.commit()
    with db.read_session() as s:
        assert s.execute(select(MismatchRow.status).where(MismatchRow.kind == "RETIREMENT_DUE")).scalar_one() == "RESOLVED"


def test_registry_reads_as_of_a_past_date(db):
    unit = make_unit(db, approved={"ADMINISTRATIVE": 3}, effective=date(2020, 1, 1), name="杭州市旧名局")
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.update_unit(uow, code=unit, changes={"name": "杭州市新名局"}, document_number="杭编〔2022〕5号", effective=date(2022, 7, 1))
        registry_changes.set_quota(uow, unit_code=unit, category="ADMINISTRATIVE", approved=8, document_number="杭编〔2022〕6号", effective=date(2022, 7, 1))
        uow.commit()
    a, b = make_person(db, name="李娜"), make_person(db, name="王强")
    hire(db, a, unit, start=date(2021, 1, 1))
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.end_posting(uow, id_number=a, end_date=date(2023, 1, 1), reason="transfer")
        uow.commit()
    hire(db, b, unit, start=date(2023, 2, 1))
    with db.read_session() as s:
        assert history.version_as_of(s, UnitVersionRow, key={"unit_code": unit}, on=date(2021, 6, 1)).name == "杭州市旧名局"
        assert history.version_as_of(s, UnitVersionRow, key={"unit_code": unit}, on=date(2022, 7, 1)).name == "杭州市新名局"
        assert history.version_as_of(s, UnitVersionRow, key={"unit_code": unit}, on=date(2019, 1, 1)) is None
        q = lambda d: history.version_as_of(s, QuotaVersionRow, key={"unit_code": unit, "category": "ADMINISTRATIVE"}, on=d)  # noqa: E731
        assert (q(date(2022, 6, 30)).approved, q(date(2022, 7, 1)).approved) == (3, 8)
        assert q(date(2022, 7, 1)).document_number == "杭编〔2022〕6号"
        # who held a slot in this unit on a date
        assert [p.id_number for p in history.postings_on(s, on=date(2022, 1, 1), unit_code=unit)] == [a]
        assert [p.id_number for p in history.postings_on(s, on=date(2023, 1, 15), unit_code=unit)] == []
        assert [p.id_number for p in history.postings_on(s, on=date(2024, 1, 1), unit_code=unit)] == [b]
        assert len(history.history(s, UnitVersionRow, key={"unit_code": unit})) == 2


def test_person_correction_keeps_the_old_version(db):
    idn = make_person(db, name="张卫", effective=date(2020, 1, 1))
    from hub.domain.registry import Person

    with UnitOfWork(db, actor="test") as uow:
        registry_changes.register_person(uow, person=Person.new(id_number=idn, name="张伟"), effective=date(2024, 5, 1))
        uow.commit()
    with db.read_session() as s:
        assert history.version_as_of(s, PersonVersionRow, key={"id_number": idn}, on=date(2023, 1, 1)).name == "张卫"
        assert history.version_as_of(s, PersonVersionRow, key={"id_number": idn}, on=date(2024, 5, 1)).name == "张伟"


def test_operation_log_is_hash_chained_and_verify_catches_tampering(db):
    unit = make_unit(db)
    hire(db, make_person(db), unit)
    with db.read_session() as s:
        report = verify(s)
        assert report.ok and report.checked >= 4
    # edit an entry's content
    with db.engine.begin() as c:
        c.execute(text("UPDATE operation_log SET actor = 'intruder' WHERE seq = 2"))
    with db.read_session() as s:
        report = verify(s)
    assert not report.ok and any("entry 2" in p and "edited" in p for p in report.problems)


def test_verify_catches_a_deleted_entry_and_a_deleted_tail(db):
    unit = make_unit(db)
    hire(db, make_person(db), unit)
    with db.read_session() as s:
        n = s.scalar(select(func.max(OperationLogRow.seq)))
    with db.engine.begin() as c:
        c.execute(text("DELETE FROM operation_log WHERE seq = 2"))
    with db.read_session() as s:
        assert any("missing" in p for p in verify(s).problems)
    with db.engine.begin() as c:
        c.execute(text(f"DELETE FROM operation_log WHERE seq >= {n - 1}"))
        c.execute(text("UPDATE operation_log SET seq = seq"))
    with db.read_session() as s:
        assert any("tail" in p for p in verify(s).problems)


def test_operation_log_records_who_what_before_and_after(db):
    unit = make_unit(db)
    with UnitOfWork(db, actor="ADMIN:王主任") as uow:
        registry_changes.update_unit(uow, code=unit, changes={"name": "杭州市改名局"}, effective=date(2024, 1, 1))
        uow.commit()
    with db.read_session() as s:
        e = s.execute(select(OperationLogRow).where(OperationLogRow.action == "unit.update")).scalar_one()
    assert e.actor == "ADMIN:王主任" and e.entity_id == unit
    assert json.loads(e.before)["name"] == "杭州市测试局" and json.loads(e.after)["name"] == "杭州市改名局"


def test_leader_quota_cut_is_versioned_logged_published_and_opens_leadership_over_quota(db):
    from hub.adapters.orm import LeaderQuotaVersionRow

    unit = make_unit(db, leaders={"SECTION_CHIEF": 2})
    hire(db, make_person(db), unit, rank="SECTION_CHIEF")
    hire(db, make_person(db), unit, rank="SECTION_CHIEF")
    with UnitOfWork(db, actor="ADMIN:王主任") as uow:
        registry_changes.set_leader_quota(uow, unit_code=unit, rank="SECTION_CHIEF", approved=1, document_number="杭编〔2023〕3号",
                                  effective=date(2023, 1, 1))
        uow.commit()
    with db.read_session() as s:
        m = s.execute(select(MismatchRow).where(MismatchRow.kind == "LEADERSHIP_OVER_QUOTA")).scalar_one()
        assert m.status == "OPEN" and m.subject == unit
        versions = s.execute(select(LeaderQuotaVersionRow.approved, LeaderQuotaVersionRow.document_number)
                             .where(LeaderQuotaVersionRow.unit_code == unit).order_by(LeaderQuotaVersionRow.valid_from)).all()
        assert [tuple(v) for v in versions] == [(2, "杭编〔2020〕2号"), (1, "杭编〔2023〕3号")]
        e = s.execute(select(OperationLogRow).where(OperationLogRow.action == "leader_quota.set",
                                                    OperationLogRow.actor == "ADMIN:王主任")).scalar_one()
        assert e.entity == "leader_quota" and e.entity_id == f"{unit}/SECTION_CHIEF"
        assert json.loads(e.before)["approved"] == 2 and json.loads(e.after)["approved"] == 1
        events = [json.loads(v) for v in s.execute(select(OutboxRow.value).where(OutboxRow.key == unit)).scalars()]
        assert [x["data"]["approved"] for x in events if x["type"] == "gov.registry.leader_quota.changed"][-1] == 1
    for bad, error in ((dict(rank="NOT_A_RANK", approved=1), "leader rank"), (dict(rank="SECTION_CHIEF", approved=-1), "zero or more"),
                       (dict(rank="SECTION_CHIEF", approved=1, unit_code="NOPE"), None)):
        before = _count(db, OperationLogRow)
        args = dict(unit_code=unit, document_number=None, effective=date(2024, 1, 1)) | bad
        with pytest.raises(Exception) as raised, UnitOfWork(db, actor="test") as uow:
            registry_changes.set_leader_quota(uow, **args)
            uow.commit()
        assert error is None or error in str(raised.value)
        assert _count(db, OperationLogRow) == before  # nothing changed
