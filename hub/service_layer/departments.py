"""Internal departments (内设机构): set up and abolish a unit's 科室, their leader positions drawn from the unit's leader
quota (the split between the leadership team and the departments, as the 三定 approval states it), and the supervision
finding for a department the approval does not name (UNAPPROVED_DEPARTMENT)."""

from __future__ import annotations

from sqlalchemy import select

from hub.adapters.orm import InternalDepartmentRow, LeaderQuotaRow
from hub.contract.topics import UPDATES_TOPIC
from hub.domain.registry import DomainError, LeaderRank, UnitAbolished, check_department
from hub.domain.vocabulary import MismatchKind, UnitStatus
from hub.service_layer.mismatches import MismatchBook
from hub.service_layer.registry_changes import _get_unit
from hub.service_layer.unit_of_work import UnitOfWork

REGISTRY = "registry"


class DepartmentNotFound(DomainError):
    code = "DEPARTMENT_NOT_FOUND"


def department_data(r: InternalDepartmentRow) -> dict:
    return {"department_id": r.id, "unit_code": r.unit_code, "name": r.name, "approved": r.approved,
            "chief_positions": r.chief_positions, "deputy_positions": r.deputy_positions,
            "document_number": r.document_number, "active": r.active}


def _active(uow: UnitOfWork, unit_code: str) -> list[InternalDepartmentRow]:
    return list(uow.session.execute(select(InternalDepartmentRow).where(
        InternalDepartmentRow.unit_code == unit_code, InternalDepartmentRow.active).order_by(InternalDepartmentRow.id)).scalars())


def set_up(uow: UnitOfWork, *, unit_code: str, name: str, chief_positions: int, deputy_positions: int, approved: bool,
           document_number: str | None = None) -> InternalDepartmentRow:
    """Set up an internal department; its leader positions must fit what the unit's leader quota leaves beside its
    other departments (refused otherwise, nothing changed). ``approved=False`` (the approval does not name it) opens
    UNAPPROVED_DEPARTMENT for the unit."""
    unit = _get_unit(uow, unit_code, lock=True)  # the unit's row lock serializes its departments' positions
    if unit.status != UnitStatus.ACTIVE.value:
        raise UnitAbolished(f"unit {unit.code} is abolished")
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValueError("a department's name is 1 to 100 characters")
    doc = (document_number or "").strip() or None
    if doc and len(doc) > 100:
        raise ValueError("document_number is longer than 100 characters")
    if approved and not doc:
        raise ValueError("an approved department names the approval (三定) document")
    existing = _active(uow, unit.code)
    if any(d.name == name for d in existing):
        raise ValueError(f"unit {unit.code} already has a department {name!r}")
    leaders = {LeaderRank(r): n for r, n in uow.session.execute(select(LeaderQuotaRow.rank, LeaderQuotaRow.approved)
                                                                 .where(LeaderQuotaRow.unit_code == unit.code))}
    check_department(unit.code, unit.grade, leaders, [(d.chief_positions, d.deputy_positions) for d in existing],
                     chief_positions, deputy_positions)
    row = InternalDepartmentRow(unit_code=unit.code, name=name, approved=bool(approved), chief_positions=chief_positions,
                                deputy_positions=deputy_positions, document_number=doc, active=True, recorded_at=uow.now)
    uow.session.add(row)
    uow.session.flush()
    data = department_data(row)
    uow.record("department.set_up", "department", str(row.id), after=data)
    uow.publish(UPDATES_TOPIC, key=unit.code, type="gov.registry.department.set_up", subject=unit.code, data=data)
    recheck_departments(uow, MismatchBook(uow), unit.code)
    return row


def abolish(uow: UnitOfWork, *, department_id: int) -> InternalDepartmentRow:
    row = uow.session.get(InternalDepartmentRow, department_id)
    if row is None or not row.active:
        raise DepartmentNotFound(f"no active internal department {department_id}")
    _get_unit(uow, row.unit_code, lock=True)
    before = department_data(row)
    row.active = False
    uow.session.flush()
    data = department_data(row)
    uow.record("department.abolish", "department", str(row.id), before=before, after=data)
    uow.publish(UPDATES_TOPIC, key=row.unit_code, type="gov.registry.department.abolished", subject=row.unit_code, data=data)
    recheck_departments(uow, MismatchBook(uow), row.unit_code)
    return row


def recheck_departments(uow: UnitOfWork, book: MismatchBook, unit_code: str) -> None:
    """Open (or update) UNAPPROVED_DEPARTMENT for a unit with active departments its approval does not name; resolve
    it when there are none."""
    unapproved = sorted(d.name for d in _active(uow, unit_code) if not d.approved)
    [row] = book.open_rows(MismatchKind.UNAPPROVED_DEPARTMENT, subjects=[unit_code]) or [None]
    if unapproved:
        book.open_or_update(MismatchKind.UNAPPROVED_DEPARTMENT, subject=unit_code, unit_code=unit_code, source=REGISTRY,
                    details={"departments": unapproved}, existing=row, lookup=False)
    elif row is not None:
        book.resolve(row)
