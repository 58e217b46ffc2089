"""Leader positions (职数): ``appointLeader`` drives 核准 (the office checks the unit's leader quota, counting the
appointments already checked) → 任免 (ORGANIZATION records the decision and its document) → 配备 (the office confirms
under the leader-quota lock; the posting's rank changes and a 领导职数使用审批表 is issued). A rank of None removes the
person from the leader position by the same three steps and frees it."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from hub.adapters.orm import LeaderAppointmentRow, PersonRow, UnitRow
from hub.contract.topics import UPDATES_TOPIC
from hub.domain.identifiers import parse_id_number
from hub.domain.registry import PersonNotFound, PostingNotFound
from hub.domain.vocabulary import FormKind, LeaderRank, QuotaCategory, Role
from hub.domain.workflows import (
    CHECKED,
    CONFIRMED,
    DECIDED,
    DOCUMENT_NUMBER_MAX,
    Caller,
    bounded,
    ensure_may_act_for_unit,
    ensure_role,
    ensure_not_far_ahead,
    next_appointment_step,
)
from hub.service_layer import registry_changes, registry_checks
from hub.service_layer.establishment import locked_establishment
from hub.service_layer.mismatches import MismatchBook
from hub.service_layer.reconcile import lock_persons
from hub.service_layer.unit_of_work import UnitOfWork
from hub.service_layer.workflows.forms import issue_form

RANK_ZH = {"DIVISION_CHIEF": "正处", "DEPUTY_DIVISION_CHIEF": "副处", "SECTION_CHIEF": "正科", "DEPUTY_SECTION_CHIEF": "副科"}


def appointment_data(r: LeaderAppointmentRow) -> dict:
    return {"appointment_id": r.id, "id_number": r.id_number, "posting_id": r.posting_id, "unit_code": r.unit_code,
            "rank": r.rank, "effective_date": r.effective_date, "document_number": r.document_number,
            "stage": r.stage, "form_number": r.form_number}


def _publish(uow: UnitOfWork, row: LeaderAppointmentRow, action: str, before: dict | None = None) -> None:
    uow.session.flush()
    uow.record(f"leader_appointment.{action}", "leader_appointment", str(row.id), before=before, after=appointment_data(row))
    uow.publish(UPDATES_TOPIC, key=f"leader-appointment-{row.id}", type=f"gov.registry.leader_appointment.{action}",
                subject=row.id_number, data=appointment_data(row))


APPOINTING = frozenset({Role.ADMIN, Role.ORGANIZATION})  # the office checks and confirms, ORGANIZATION decides


def appoint_leader(uow: UnitOfWork, caller: Caller, key: bytes, *, id_number: str, rank: LeaderRank | None,
                   effective_date: date, document_number: str):
    """One step of an appointment (or removal); returns (posting, appointment, form number or None)."""
    ensure_role(caller, APPOINTING, "appoint leaders")  # before the lookup: other roles learn nothing of the person
    idn = parse_id_number(id_number).value
    document_number = bounded(document_number, "document number", DOCUMENT_NUMBER_MAX)
    if not document_number:
        raise ValueError("an appointment names its document (文号)")
    ensure_not_far_ahead(effective_date, "effective date", uow.today)
    if uow.session.get(PersonRow, idn) is None:
        raise PersonNotFound(f"person {idn} is not in the registry")
    lock_persons(uow, [idn])  # the reconciliation lock before any row lock
    posting = registry_changes.active_posting(uow, idn)
    if posting is None:
        raise PostingNotFound(f"person {idn} holds no active posting")
    unit = uow.session.get(UnitRow, posting.unit_code)
    open_ = uow.session.execute(select(LeaderAppointmentRow).where(
        LeaderAppointmentRow.id_number == idn, LeaderAppointmentRow.stage.in_((CHECKED, DECIDED))).with_for_update()).scalar_one_or_none()
    step = next_appointment_step(open_.stage if open_ else None, caller.role)
    if step in (CHECKED, CONFIRMED):
        ensure_may_act_for_unit(caller, unit.code, unit.region_code, unit_may=False)
    wanted = rank.value if rank else None
    if open_ is not None and open_.rank != wanted:
        shown = open_.rank or "removal"
        raise ValueError(f"the open appointment of {idn} is for {shown}; finish it before another rank")
    category = QuotaCategory(posting.category)
    if step == CHECKED:
        if wanted == posting.leader_rank:
            raise ValueError(f"person {idn} already holds {wanted or 'no leader rank'}")
        if rank is not None:
            est = locked_establishment(uow.session, unit.code, category, rank, today=uow.today)
            pending = uow.session.scalar(select(func.count()).select_from(LeaderAppointmentRow).where(
                LeaderAppointmentRow.unit_code == unit.code, LeaderAppointmentRow.rank == rank.value,
                LeaderAppointmentRow.stage.in_((CHECKED, DECIDED)))) or 0
            est.check_leader_free(rank, pending=pending)
        row = LeaderAppointmentRow(id_number=idn, posting_id=posting.id, unit_code=unit.code, rank=wanted,
                                   effective_date=effective_date, document_number=document_number, stage=CHECKED,
                                   checked_by=caller.actor, checked_at=uow.now)
        uow.session.add(row)
        _publish(uow, row, "checked")
        return posting, row, None
    row = open_
    before = appointment_data(row)
    if step == DECIDED:
        row.stage, row.decided_by, row.decided_at = DECIDED, caller.actor, uow.now
        row.document_number, row.effective_date = document_number, effective_date
        _publish(uow, row, "decided", before)
        return posting, row, None
    # CONFIRMED (配备): under the leader-quota lock, the position must still be free
    if rank is not None:
        locked_establishment(uow.session, unit.code, category, rank, today=uow.today).check_leader_free(rank)
    person = uow.session.get(PersonRow, idn)
    form = issue_form(uow, key, kind=FormKind.LEADER_APPOINTMENT, unit_code=unit.code, id_number=idn, facts={
        "title": "领导职数使用审批表", "appointment_id": row.id, "unit_code": unit.code, "unit_name": unit.name,
        "id_number": idn, "name": person.name, "from_rank": RANK_ZH.get(posting.leader_rank or "", None),
        "to_rank": RANK_ZH.get(wanted or "", None), "effective_date": row.effective_date,
        "document_number": row.document_number})
    posting_before = registry_changes.posting_data(posting)
    posting.leader_rank = wanted
    uow.session.flush()
    data = registry_changes.posting_data(posting) | {"form_number": form.number}
    uow.record("posting.leader_rank", "posting", str(posting.id), before=posting_before, after=data)
    uow.publish(UPDATES_TOPIC, key=str(posting.id), type="gov.registry.posting.updated", subject=idn, data=data)
    row.stage, row.confirmed_by, row.confirmed_at, row.form_number = CONFIRMED, caller.actor, uow.now, form.number
    _publish(uow, row, "confirmed", before)
    registry_checks.recheck_unit_quotas(uow, MismatchBook(uow), {unit.code})
    return posting, row, form.number
