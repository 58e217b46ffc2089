"""A connector's batch is judged and written as a whole (one lookup, one write over arrays on PostgreSQL): the cases
where a set-based path could differ from applying the events one by one — duplicates within one batch, one person
twice in a batch from two departments, a stale event after a newer one in the same batch, a payroll stop after its
paid line — on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import func, select

from connectors.spec import partner_row
from hub.adapters.orm import (
    AppliedEventRow,
    MismatchRow,
    PartnerEmploymentRow,
    PartnerInsuranceRow,
    PartnerPayrollRow,
    SubjectSequenceRow,
)
from hub.service_layer.partner_events import apply_events
from hub.service_layer.unit_of_work import UnitOfWork
from tests import events as ev
from tests.integration.registry_helpers import hire, make_person, make_unit


def batch(db, *events: dict, one_by_one: bool = False):
    """Apply the events as ONE connector batch (plain-row reconciliation, as the runner does); or each alone."""
    groups = [[e] for e in events] if one_by_one else [list(events)]
    results = []
    for group in groups:
        with UnitOfWork(db, actor="test:connector") as uow:
            results.append(apply_events(uow, [ev.translated(e) for e in group], partner_row=partner_row, plain=True))
            uow.commit()
    return results[0] if not one_by_one else results


def count(db, model, *where) -> int:
    with db.read_session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def open_kinds(db, idn) -> set[str]:
    with db.read_session() as s:
        return set(s.scalars(select(MismatchRow.kind).where(MismatchRow.subject == idn, MismatchRow.status == "OPEN")))


def test_the_same_event_twice_in_one_batch_is_applied_once_and_a_changed_twin_is_refused(db):
    unit, other = make_unit(db), make_unit(db)
    idn = make_person(db)
    hire(db, idn, unit)
    first = ev.hr(idn, "张伟", unit, sequence=1)
    twin = {**first, "data": {**first["data"], "unit_code": other}}  # same id, another payload
    res = batch(db, first, first, twin)
    assert (res.applied, res.duplicates) == (1, 1)
    assert [reason for _, reason in res.conflicts] == [
        f"event id {first['id']!r} from /gov/hr was already applied with a different payload"]
    assert count(db, AppliedEventRow) == 1
    with db.read_session() as s:
        assert s.scalar(select(PartnerEmploymentRow.unit_code).where(PartnerEmploymentRow.id_number == idn)) == unit
    assert "HR_UNIT_MISMATCH" not in open_kinds(db, idn)  # the refused twin changed nothing
    again = batch(db, first)  # and in a later batch it is a duplicate
    assert (again.applied, again.duplicates) == (0, 1)


def test_one_person_twice_in_a_batch_from_two_departments_is_judged_with_both(db):
    unit = make_unit(db)
    idn = make_person(db, name="张伟")
    hire(db, idn, unit)
    # the same sequence number from two departments: each department orders its own events
    res = batch(db, ev.police(idn, "张卫", sequence=7), ev.contribution(idn, "张伟", make_unit(db), sequence=7))
    assert (res.applied, res.stale) == (2, 0)
    assert {"NAME_MISMATCH", "INSURANCE_EMPLOYER_MISMATCH"} <= open_kinds(db, idn)
    with db.read_session() as s:
        assert dict(s.execute(select(SubjectSequenceRow.source, SubjectSequenceRow.sequence)
                              .where(SubjectSequenceRow.subject == idn)).all()) == {"/gov/police": 7, "/gov/insurance": 7}
    # one open mismatch per kind although two events touched the person in one batch
    assert count(db, MismatchRow, MismatchRow.subject == idn, MismatchRow.kind == "NAME_MISMATCH") == 1


def test_a_stale_event_after_a_newer_one_in_the_same_batch_changes_nothing(db):
    unit = make_unit(db)
    idn = make_person(db)
    hire(db, idn, unit)
    res = batch(db, ev.hr(idn, "张伟", unit, sequence=5), ev.hr(idn, "张伟", unit, status="LEFT", sequence=3))
    assert (res.applied, res.stale) == (1, 1)
    assert count(db, AppliedEventRow) == 2  # the stale one is recorded as seen: a redelivery is a duplicate
    with db.read_session() as s:
        assert s.scalar(select(PartnerEmploymentRow.status).where(PartnerEmploymentRow.id_number == idn)) == "EMPLOYED"
        assert s.scalar(select(SubjectSequenceRow.sequence).where(SubjectSequenceRow.subject == idn)) == 5
    assert "HR_STATUS_CONFLICT" not in open_kinds(db, idn)


def test_a_batch_leaves_what_the_same_events_one_by_one_leave(db):
    """Same events, once as one batch and once one per batch, for two persons: the same views and mismatches."""
    unit, other = make_unit(db), make_unit(db)
    a, b = make_person(db, name="王芳"), make_person(db, name="王芳")
    hire(db, a, unit)
    hire(db, b, unit)

    def plan(idn):
        return [ev.paid(idn, "王芳", other, amount="9000.00", sequence=1),
                ev.contribution(idn, "王芳", unit, "2026-10", sequence=1),
                ev.contribution(idn, "王芳", other, "2026-09", sequence=2),  # an older period later: kept out
                ev.stopped(idn, other, sequence=2),  # keeps the paid line's name and amount
                ev.hr(idn, "王芳", other, sequence=9), ev.hr(idn, "王芳", unit, sequence=8)]  # stale

    batch(db, *plan(a))
    batch(db, *plan(b), one_by_one=True)

    def state(idn):
        with db.read_session() as s:
            pay = s.execute(select(PartnerPayrollRow.unit_code, PartnerPayrollRow.name, PartnerPayrollRow.gross_amount,
                                   PartnerPayrollRow.paid).where(PartnerPayrollRow.id_number == idn)).all()
            ins = s.execute(select(PartnerInsuranceRow.period, PartnerInsuranceRow.employer_code)
                            .where(PartnerInsuranceRow.id_number == idn)).one()
            hr = s.scalar(select(PartnerEmploymentRow.unit_code).where(PartnerEmploymentRow.id_number == idn))
        return [tuple(p) for p in pay], tuple(ins), hr, open_kinds(db, idn)

    assert state(a) == state(b)
    pay, ins, hr, kinds = state(a)
    assert pay == [(other, "王芳", "9000.00", False)]
    assert ins == ("2026-10", unit) and hr == other
    assert kinds >= {"HR_UNIT_MISMATCH"} and "PAYROLL_UNIT_MISMATCH" not in kinds


def test_a_stop_in_a_later_batch_keeps_the_stored_paid_line(db):
    unit = make_unit(db)
    idn = make_person(db)
    batch(db, ev.paid(idn, "张伟", unit, amount="7100.00"))
    # the second stops a line never paid; the paid line beside the stops is written in the same statement
    batch(db, ev.stopped(idn, unit), ev.stopped(idn, unit, period="2026-11"), ev.paid(idn, "张伟", unit, period="2026-12"))
    with db.read_session() as s:
        assert sorted(tuple(r) for r in s.execute(select(PartnerPayrollRow.period, PartnerPayrollRow.name,
                                                         PartnerPayrollRow.gross_amount, PartnerPayrollRow.paid)
                                                  .where(PartnerPayrollRow.id_number == idn))) == [
            ("2026-10", "张伟", "7100.00", False), ("2026-11", None, None, False), ("2026-12", "张伟", "8650.00", True)]
