"""Hiring plans (用编计划) and unit freezes: a unit asks for N slots of a category for a year; the office approves
(possibly fewer) or rejects. Approved slots are reserved until filled or until the plan's year ends. A unit over
quota gets no plan (只出不进); a frozen unit gets neither plans nor hires."""

from __future__ import annotations

from sqlalchemy import select

from hub.adapters.orm import HiringPlanRow, UnitFreezeRow, UnitRow
from hub.contract.topics import UPDATES_TOPIC
from hub.domain.registry import QuotaExhausted
from hub.domain.vocabulary import ApplicationStatus, FormKind, QuotaCategory
from hub.domain.workflows import TEXT_MAX, ApplicationNotFound, Caller, UnitOverQuota, WrongState, bounded, record_id
from hub.service_layer import evaluation
from hub.service_layer.establishment import establishments, locked_establishment
from hub.service_layer.unit_of_work import UnitOfWork
from hub.service_layer.workflows.common import ensure_not_frozen, unit_for
from hub.service_layer.workflows.forms import issue_form


def plan_data(r: HiringPlanRow) -> dict:
    return {"hiring_plan_id": r.id, "unit_code": r.unit_code, "year": r.year, "category": r.category, "slots": r.slots,
            "approved_slots": r.approved_slots, "filled": r.filled, "reason": r.reason, "status": r.status,
            "comment": r.comment, "form_number": r.form_number, "evaluation_id": r.evaluation_id}


def _publish(uow: UnitOfWork, row: HiringPlanRow, action: str, before: dict | None = None) -> None:
    uow.session.flush()
    uow.record(f"hiring_plan.{action}", "hiring_plan", str(row.id), before=before, after=plan_data(row))
    uow.publish(UPDATES_TOPIC, key=f"hiring-plan-{row.id}", type=f"gov.registry.hiring_plan.{action}",
                subject=row.unit_code, data=plan_data(row))


def _refuse_over_quota(est, unit_code: str) -> None:
    over = est.over_quota() | est.policy_over_quota()  # a policy excess is still an excess: 只出不进 until absorbed
    if over:
        listed = ", ".join(f"{c} {v['used']}/{v['approved']}" for c, v in over.items())
        raise UnitOverQuota(f"unit {unit_code} is over quota ({listed}): no hiring plan until it fits (只出不进)")


def submit_hiring_plan(uow: UnitOfWork, caller: Caller, *, unit_code: str, year: int, category: str, slots: int,
                       reason: str) -> HiringPlanRow:
    """A unit (its own) or the office asks for ``slots`` slots of a category for a year."""
    unit = unit_for(uow, caller, unit_code, unit_may=True)
    cat = QuotaCategory.parse(category, "quota category")
    if slots < 1:
        raise ValueError("slots must be at least 1")
    if not uow.now.year <= year <= uow.now.year + 1:  # a plan's reservation lapses at the end of its year
        raise ValueError(f"a hiring plan is for this year ({uow.now.year}) or the next ({uow.now.year + 1}), not {year}")
    reason = bounded(reason, "reason", TEXT_MAX)
    if not reason:
        raise ValueError("a hiring plan needs a reason (用编理由)")
    ensure_not_frozen(uow, unit.code)
    _refuse_over_quota(establishments(uow.session, [unit.code], today=uow.today, leaders=False)[unit.code], unit.code)
    row = HiringPlanRow(unit_code=unit.code, year=year, category=cat.value, slots=slots, filled=0, reason=reason,
                        status=ApplicationStatus.IN_REVIEW.value, submitted_by=caller.actor, submitted_at=uow.now)
    uow.session.add(row)
    _publish(uow, row, "submitted")
    return row


def decide_hiring_plan(uow: UnitOfWork, caller: Caller, key: bytes, plan_id, approve: bool,
                       approved_slots: int | None, comment: str | None, evaluation_id=None) -> HiringPlanRow:
    """The office approves (all or fewer slots, within what is available) or rejects a plan in review. A cut (fewer
    slots than asked, or a rejection: 减少核定用编计划) may cite the unit's annual evaluation result (``evaluation_id``)."""
    pid = record_id(plan_id)
    if pid is None:
        raise ApplicationNotFound(f"no hiring plan {str(plan_id)[:40]!r}")
    row = uow.session.get(HiringPlanRow, pid)
    if row is None:
        raise ApplicationNotFound(f"no hiring plan {pid}")
    unit = unit_for(uow, caller, row.unit_code, unit_may=False)
    cat = QuotaCategory(row.category)
    est = locked_establishment(uow.session, unit.code, cat, None, today=uow.today)
    uow.session.refresh(row, with_for_update=True)
    if row.status != ApplicationStatus.IN_REVIEW.value:
        raise WrongState(f"hiring plan {row.id} is {row.status}; only a plan in review can be decided")
    before = plan_data(row)
    row.comment, row.decided_at = bounded(comment, "comment", TEXT_MAX) or None, uow.now
    if evaluation_id is not None:
        if approve and (approved_slots is None or approved_slots >= row.slots):
            raise ValueError("an evaluation result is cited by a cut: approve fewer slots than asked, or reject the plan")
        row.evaluation_id = evaluation.cited(uow.session, evaluation_id, row.unit_code, row.year).id
    if not approve:
        row.status = ApplicationStatus.REJECTED.value
        _publish(uow, row, "rejected", before)
        return row
    if row.year < uow.now.year:
        raise WrongState(f"hiring plan {row.id} is for {row.year}, which has ended: reject it")
    n = row.slots if approved_slots is None else approved_slots
    if not 1 <= n <= row.slots:
        raise ValueError(f"approved slots must be between 1 and the {row.slots} asked for (reject the plan instead of 0)")
    ensure_not_frozen(uow, unit.code)
    _refuse_over_quota(est, unit.code)
    if est.available(cat) < n:
        raise QuotaExhausted(f"unit {unit.code} has {max(est.available(cat), 0)} available {cat.value} slots "
                             f"(approved {est.approved.get(cat, 0)}, used {est.used.get(cat, 0)}, reserved "
                             f"{est.reserved.get(cat, 0)}); {n} cannot be reserved")
    row.status, row.approved_slots = ApplicationStatus.APPROVED.value, n
    form = issue_form(uow, key, kind=FormKind.HIRING_PLAN, unit_code=unit.code, id_number=None, facts={
        "title": "用编计划核准表", "hiring_plan_id": row.id, "unit_code": unit.code, "unit_name": unit.name,
        "year": row.year, "category": row.category, "slots": row.slots, "approved_slots": n})
    row.form_number = form.number
    _publish(uow, row, "approved", before)
    return row


def set_unit_frozen(uow: UnitOfWork, caller: Caller, *, unit_code: str, frozen: bool, reason: str | None) -> bool:
    """The office freezes a unit (no plans, no hires) or lifts the freeze; returns whether it is frozen now."""
    unit = unit_for(uow, caller, unit_code, unit_may=False, active=False)
    # two clerks freezing at once: the second waits for the first and finds the freeze (no duplicate row)
    uow.session.execute(select(UnitRow.code).where(UnitRow.code == unit.code).with_for_update()).all()
    row = uow.session.get(UnitFreezeRow, unit.code)
    if frozen:
        reason = bounded(reason, "reason", TEXT_MAX)
        if not reason:
            raise ValueError("freezing a unit needs a reason")
        if row is None:
            uow.session.add(UnitFreezeRow(unit_code=unit.code, reason=reason, frozen_by=caller.actor, frozen_at=uow.now))
    elif row is not None:
        uow.session.delete(row)
    else:
        return False
    if frozen and row is not None:
        return True
    uow.session.flush()
    data = {"unit_code": unit.code, "frozen": frozen, "reason": reason}
    uow.record("unit.freeze" if frozen else "unit.unfreeze", "unit", unit.code, after=data)
    uow.publish(UPDATES_TOPIC, key=unit.code, type="gov.registry.unit.frozen" if frozen else "gov.registry.unit.unfrozen",
                subject=unit.code, data=data)
    return frozen
