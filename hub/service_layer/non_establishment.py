"""The non-establishment staff register (编外人员): who a unit employs and pays outside its quota.

Recording or ending an entry re-checks the person at once (reconciliation both ways): finance pay from the unit
that employs them is recognised, not GHOST_PAYROLL; ended, it is a ghost again.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from hub.adapters.orm import NonEstablishmentRow, UnitRow
from hub.contract.topics import UPDATES_TOPIC
from hub.domain.identifiers import parse_id_number, parse_unit_code
from hub.domain.registry import DomainError, UnitAbolished, UnitNotFound
from hub.domain.vocabulary import NonEstablishmentKind, UnitStatus
from hub.service_layer.mismatches import MismatchBook
from hub.service_layer.reconcile import lock_persons, reconcile_persons
from hub.service_layer.unit_of_work import UnitOfWork


class EntryNotFound(DomainError):
    code = "NON_ESTABLISHMENT_NOT_FOUND"


def entry_data(r: NonEstablishmentRow) -> dict:
    return {"entry_id": r.id, "id_number": r.id_number, "name": r.name, "unit_code": r.unit_code, "kind": r.kind,
            "start_date": r.start_date, "end_date": r.end_date, "active": r.active, "document_number": r.document_number}


def record_entry(uow: UnitOfWork, *, id_number: str, name: str, unit_code: str, kind: str, start_date: date,
                 document_number: str | None = None) -> NonEstablishmentRow:
    """Register a person as employed and paid by ``unit_code`` outside the establishment; refused (nothing changed)
    for a bad ID number, an empty name, an unknown or abolished unit, an unknown kind, or an active entry of the
    same person in the same unit."""
    idn = parse_id_number(id_number).value
    code = parse_unit_code(unit_code)
    name = (name or "").strip()
    if not name:
        raise ValueError("name must not be empty")
    if len(name) > 100:
        raise ValueError("name is longer than 100 characters")
    k = NonEstablishmentKind.parse(kind, "non-establishment kind")
    doc = (document_number or "").strip() or None
    if doc and len(doc) > 100:
        raise ValueError("document_number is longer than 100 characters")
    lock_persons(uow, [idn])
    s = uow.session
    unit = s.get(UnitRow, code)
    if unit is None:
        raise UnitNotFound(f"unit {code} is not in the registry")
    if unit.status != UnitStatus.ACTIVE.value:
        raise UnitAbolished(f"unit {code} is abolished")
    if s.execute(select(NonEstablishmentRow.id).where(NonEstablishmentRow.id_number == idn, NonEstablishmentRow.unit_code == code,
                                                      NonEstablishmentRow.active)).first():
        raise ValueError(f"person {idn} is already registered as non-establishment staff of unit {code}")
    row = NonEstablishmentRow(id_number=idn, name=name, unit_code=code, kind=k.value, start_date=start_date, end_date=None,
                              active=True, document_number=doc, recorded_at=uow.now)
    s.add(row)
    s.flush()
    data = entry_data(row)
    uow.record("non_establishment.record", "non_establishment", str(row.id), after=data)
    uow.publish(UPDATES_TOPIC, key=idn, type="gov.registry.non_establishment.recorded", subject=idn, data=data)
    reconcile_persons(uow, MismatchBook(uow), {idn}, locked=True)
    return row


def end_entry(uow: UnitOfWork, *, entry_id: int, end_date: date) -> NonEstablishmentRow:
    """End an active entry (the contract ended, the secondment is over)."""
    s = uow.session
    row = s.get(NonEstablishmentRow, entry_id)
    if row is None or not row.active:
        raise EntryNotFound(f"no active non-establishment entry {entry_id}")
    lock_persons(uow, [row.id_number])
    if end_date < row.start_date:
        raise ValueError(f"end date {end_date} is before the entry's start {row.start_date}")
    before = entry_data(row)
    row.end_date, row.active = end_date, False
    s.flush()
    data = entry_data(row)
    uow.record("non_establishment.end", "non_establishment", str(row.id), before=before, after=data)
    uow.publish(UPDATES_TOPIC, key=row.id_number, type="gov.registry.non_establishment.ended", subject=row.id_number,
                data=data)
    reconcile_persons(uow, MismatchBook(uow), {row.id_number}, locked=True)
    return row
