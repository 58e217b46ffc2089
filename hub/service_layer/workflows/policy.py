"""Policy over-quota (政策性超编): military transfers and staff following a function moved by reform may be placed above
a unit's quota only under an office decision naming its document and a deadline to absorb the excess (消化). Until the
deadline such a unit shows as policy over-quota; after it, an excess not absorbed is OVER_QUOTA again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.adapters.orm import PolicyOverQuotaRow
from hub.contract.topics import UPDATES_TOPIC
from hub.domain.vocabulary import QuotaCategory
from hub.domain.workflows import DOCUMENT_NUMBER_MAX, TEXT_MAX, Caller, bounded
from hub.service_layer import registry_checks
from hub.service_layer.establishment import establishments
from hub.service_layer.mismatches import MismatchBook
from hub.service_layer.unit_of_work import UnitOfWork
from hub.service_layer.workflows.common import unit_for


def decision_data(r: PolicyOverQuotaRow) -> dict:
    return {"decision_id": r.id, "unit_code": r.unit_code, "category": r.category, "slots": r.slots,
            "document_number": r.document_number, "deadline": r.deadline, "reason": r.reason}


def allow_policy_over_quota(uow: UnitOfWork, caller: Caller, *, unit_code: str, category: str, slots: int,
                            document_number: str, deadline: date, reason: str) -> PolicyOverQuotaRow:
    """The office allows ``slots`` policy placements above the unit's quota until ``deadline`` (ADMIN, its region)."""
    unit = unit_for(uow, caller, unit_code, unit_may=False)
    cat = QuotaCategory.parse(category, "quota category")
    document_number, reason = bounded(document_number, "document number", DOCUMENT_NUMBER_MAX), bounded(reason, "reason", TEXT_MAX)
    if not document_number:
        raise ValueError("a policy over-quota decision names its document (文号)")
    if not reason:
        raise ValueError("a policy over-quota decision states its reason (e.g. 军转安置, 职能划转)")
    if slots < 1:
        raise ValueError("slots must be at least 1")
    if deadline <= uow.today:
        raise ValueError(f"the deadline to absorb the excess must be after today, not {deadline}")
    row = PolicyOverQuotaRow(unit_code=unit.code, category=cat.value, slots=slots, document_number=document_number,
                             deadline=deadline, reason=reason, recorded_by=caller.actor, recorded_at=uow.now)
    uow.session.add(row)
    uow.session.flush()
    uow.record("policy_overquota.allow", "policy_overquota", str(row.id), after=decision_data(row))
    uow.publish(UPDATES_TOPIC, key=unit.code, type="gov.registry.policy_overquota.allowed", subject=unit.code,
                data=decision_data(row))
    registry_checks.recheck_unit_quotas(uow, MismatchBook(uow), {unit.code})
    return row


@dataclass
class DecisionState:
    row: PolicyOverQuotaRow
    over_by: int  # active postings above the approved quota in the category today
    overdue: bool  # the deadline passed and the excess is not absorbed


def decisions_of(session: Session, unit_code: str, today: date) -> list[DecisionState]:
    """The unit's policy over-quota decisions, newest deadline first, each with the excess today."""
    rows = list(session.execute(select(PolicyOverQuotaRow).where(PolicyOverQuotaRow.unit_code == unit_code)
                                .order_by(PolicyOverQuotaRow.deadline.desc(), PolicyOverQuotaRow.id)).scalars())
    if not rows:
        return []
    est = establishments(session, [unit_code], today=today, leaders=False)[unit_code]
    out = []
    for r in rows:
        c = QuotaCategory(r.category)
        over_by = max(est.excess(c), 0)
        out.append(DecisionState(row=r, over_by=over_by, overdue=r.deadline < today and over_by > 0))
    return out
