"""Approval forms (进编审批表, 减员通知单, 调动审批表, 用编计划核准表): issued in the approving transaction, numbered, with
a verification code keyed with the hub's secret (hub.adapters.form_key) over number, kind and facts."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.adapters.orm import ApprovalFormRow
from hub.contract.topics import UPDATES_TOPIC
from hub.domain.vocabulary import FormKind
from hub.domain.workflows import canonical_facts, form_code, form_is_genuine, form_number
from hub.service_layer.unit_of_work import UnitOfWork


def issue_form(uow: UnitOfWork, key: bytes, *, kind: FormKind, unit_code: str, id_number: str | None,
               facts: dict) -> ApprovalFormRow:
    """Number a new form, compute its code over number, kind and facts, log and announce it (without the code)."""
    row = ApprovalFormRow(number=f"pending-{uuid.uuid4().hex}", kind=kind.value, code="", facts="",
                          unit_code=unit_code, id_number=id_number, issued_by=uow.actor, issued_at=uow.now)
    uow.session.add(row)
    uow.session.flush()
    row.number = form_number(kind, uow.now.year, row.id)
    row.facts = canonical_facts(facts | {"issued_at": uow.now.isoformat(timespec="seconds"), "issued_by": uow.actor})
    row.code = form_code(key, row.number, kind, row.facts)
    uow.session.flush()
    announced = {"number": row.number, "kind": row.kind, "unit_code": unit_code, "id_number": id_number,
                 "issued_at": uow.now}
    uow.record("form.issue", "approval_form", row.number, after=announced | {"facts": json.loads(row.facts)})
    uow.publish(UPDATES_TOPIC, key=row.number, type="gov.registry.form.issued", subject=id_number or unit_code,
                data=announced)
    return row


def genuine_form(session: Session, key: bytes, number: str, code: str) -> ApprovalFormRow | None:
    """The form with this number when the code is the one its number, kind and facts give; None otherwise (unknown
    number, wrong code, or a form whose stored facts were changed after issue)."""
    number = (number or "").strip()
    if "\x00" in number or len(number) > 40:  # no form has such a number (and PostgreSQL refuses a NUL): none
        return None
    row = session.execute(select(ApprovalFormRow).where(ApprovalFormRow.number == number)).scalar_one_or_none()
    if row is None or not form_is_genuine(key, row.number, FormKind(row.kind), row.facts, code):
        return None
    return row
