"""The document register (文号): the office records the documents its changes rest on (编委会议纪要, 批复, …); a unit's
history (沿革) lists every document its versions, quotas, leader positions and appointments name."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.adapters.orm import (
    DocumentRow,
    LeaderAppointmentRow,
    LeaderQuotaVersionRow,
    PolicyOverQuotaRow,
    QuotaVersionRow,
    UnitVersionRow,
)
from hub.contract.topics import UPDATES_TOPIC
from hub.domain.calendar import office_date
from hub.domain.vocabulary import DocumentKind, Role
from hub.domain.workflows import DOCUMENT_NUMBER_MAX, ISSUER_MAX, TITLE_MAX, Caller, NotAllowed, bounded
from hub.service_layer.unit_of_work import UnitOfWork


def document_data(r: DocumentRow) -> dict:
    return {"number": r.number, "title": r.title, "issuer": r.issuer, "issued_on": r.issued_on, "kind": r.kind}


def record_document(uow: UnitOfWork, caller: Caller, *, number: str, title: str, issuer: str, issued_on: date,
                    kind: str) -> DocumentRow:
    """Register a document (the office, city or district)."""
    if caller.role is not Role.ADMIN:
        raise NotAllowed(f"role {caller.role.value} may not record documents")
    number = bounded(number, "document number", DOCUMENT_NUMBER_MAX)
    title, issuer = bounded(title, "document title", TITLE_MAX), bounded(issuer, "issuer", ISSUER_MAX)
    for name, value in (("number", number), ("title", title), ("issuer", issuer)):
        if not value:
            raise ValueError(f"the document's {name} must not be empty")
    k = DocumentKind.parse(kind, "document kind")
    if uow.session.execute(select(DocumentRow.id).where(DocumentRow.number == number)).first():
        raise ValueError(f"document {number} is already in the register")
    row = DocumentRow(number=number, title=title, issuer=issuer, issued_on=issued_on, kind=k.value,
                      recorded_by=caller.actor, recorded_at=uow.now)
    uow.session.add(row)
    uow.session.flush()
    uow.record("document.record", "document", number, after=document_data(row))
    uow.publish(UPDATES_TOPIC, key=number, type="gov.registry.document.recorded", subject=number, data=document_data(row))
    return row


@dataclass
class DocumentUse:
    """A document number a unit's history names: since when, for what, and the register's entry (None if absent)."""

    number: str
    first_used: date
    uses: list[str] = field(default_factory=list)
    document: DocumentRow | None = None


def unit_documents(session: Session, unit_code: str) -> list[DocumentUse]:
    """Every document number the unit's history names, oldest first."""
    found: dict[str, DocumentUse] = {}
    uses = defaultdict(list)

    def note(number, on, what):
        if not number:
            return
        u = found.get(number)
        if u is None:
            u = found[number] = DocumentUse(number=number, first_used=on)
        u.first_used = min(u.first_used, on)
        if what not in uses[number]:
            uses[number].append(what)

    for n, on in session.execute(select(UnitVersionRow.document_number, UnitVersionRow.valid_from).where(UnitVersionRow.unit_code == unit_code)):
        note(n, on, "unit")
    for n, on, cat in session.execute(select(QuotaVersionRow.document_number, QuotaVersionRow.valid_from, QuotaVersionRow.category)
                                      .where(QuotaVersionRow.unit_code == unit_code)):
        note(n, on, f"quota {cat}")
    for n, on, rank in session.execute(select(LeaderQuotaVersionRow.document_number, LeaderQuotaVersionRow.valid_from,
                                              LeaderQuotaVersionRow.rank).where(LeaderQuotaVersionRow.unit_code == unit_code)):
        note(n, on, f"leader_quota {rank}")
    for n, on, idn in session.execute(select(LeaderAppointmentRow.document_number, LeaderAppointmentRow.effective_date,
                                             LeaderAppointmentRow.id_number).where(
            LeaderAppointmentRow.unit_code == unit_code, LeaderAppointmentRow.stage == "CONFIRMED")):
        note(n, on, f"leader_appointment {idn}")
    for n, at, cat in session.execute(select(PolicyOverQuotaRow.document_number, PolicyOverQuotaRow.recorded_at,
                                             PolicyOverQuotaRow.category).where(PolicyOverQuotaRow.unit_code == unit_code)):
        note(n, office_date(at), f"policy_overquota {cat}")
    if found:
        for d in session.execute(select(DocumentRow).where(DocumentRow.number.in_(list(found)))).scalars():
            found[d.number].document = d
    for number, u in found.items():
        u.uses = uses[number]
    return sorted(found.values(), key=lambda u: (u.first_used, u.number))
