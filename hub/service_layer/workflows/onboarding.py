"""Onboarding (用编进编): a unit submits, the required departments review (联审) in any order, the office approves and
the posting starts from the approval form; a returned application is corrected and resubmitted (a new round)."""

from __future__ import annotations

from sqlalchemy import select

from hub.adapters.orm import ApplicationStepRow, HiringPlanRow, OnboardingRow, PartnerIdentityRow, PostingRow, UnitRow
from hub.contract.topics import UPDATES_TOPIC
from hub.domain.identifiers import parse_id_number
from hub.domain.registry import Person, PersonAlreadyPosted
from hub.domain.vocabulary import ApplicationStatus, FormKind, QuotaCategory, Role
from hub.domain.workflows import (
    TEXT_MAX,
    ApplicationNotFound,
    Caller,
    IdentityNotVerified,
    NotAllowed,
    OnboardingApplication,
    bounded,
    ensure_approvable,
    ensure_may_act_for_unit,
    ensure_open,
    ensure_plausible_start,
    ensure_resubmittable,
    identity_disagreement,
    plan_reserves_for,
    policy_placement,
    record_id,
    review,
)
from hub.service_layer import registry_changes
from hub.service_layer.establishment import establishments, locked_establishment
from hub.service_layer.reconcile import lock_persons
from hub.service_layer.unit_of_work import UnitOfWork
from hub.service_layer.workflows.common import ensure_not_frozen, unit_for
from hub.service_layer.workflows.forms import issue_form

OPEN = (ApplicationStatus.IN_REVIEW.value, ApplicationStatus.RETURNED.value)


def required_of(row: OnboardingRow) -> tuple[Role, ...]:
    return tuple(Role(r) for r in row.required_reviews.split(",") if r)


def onboarding_data(row: OnboardingRow) -> dict:
    return {"onboarding_id": row.id, "status": row.status, "unit_code": row.unit_code, "id_number": row.id_number,
            "name": row.name, "category": row.category, "route": row.route, "start_date": row.start_date,
            "required_reviews": list(required_of(row)), "round": row.round, "hiring_plan_id": row.hiring_plan_id,
            "posting_id": row.posting_id, "form_number": row.form_number}


def _step(uow: UnitOfWork, row: OnboardingRow, caller: Caller, action: str, comment: str | None) -> None:
    bounded(comment, "comment", TEXT_MAX)
    uow.session.add(ApplicationStepRow(application_id=row.id, round=row.round, actor=caller.actor, role=caller.role.value,
                                       action=action, comment=(comment or "").strip() or None, at=uow.now))


def _log(uow: UnitOfWork, row: OnboardingRow, action: str, comment: str | None, before: dict | None = None) -> None:
    uow.session.flush()
    data = onboarding_data(row)
    uow.record(f"onboarding.{action}", "onboarding", str(row.id), before=before, after=data | {"comment": comment})
    uow.publish(UPDATES_TOPIC, key=f"onboarding-{row.id}", type=f"gov.registry.onboarding.{action}",
                subject=row.id_number, data=data | {"comment": comment})


def _get(uow: UnitOfWork, onboarding_id, *, lock: bool = False) -> OnboardingRow:
    oid = record_id(onboarding_id)
    if oid is None:
        raise ApplicationNotFound(f"no onboarding application {str(onboarding_id)[:40]!r}")
    q = select(OnboardingRow).where(OnboardingRow.id == oid)
    row = uow.session.execute(q.with_for_update() if lock else q).scalar_one_or_none()
    if row is None:
        raise ApplicationNotFound(f"no onboarding application {oid}")
    return row


def _usable_plan(uow: UnitOfWork, app: OnboardingApplication, *, lock: bool = False) -> HiringPlanRow | None:
    """The application's hiring plan when it still reserves a slot of the category in the unit; None without one;
    a plan that does not fit is bad input."""
    if app.hiring_plan_id is None:
        return None
    q = select(HiringPlanRow).where(HiringPlanRow.id == app.hiring_plan_id)
    plan = uow.session.execute(q.with_for_update() if lock else q).scalar_one_or_none()
    if plan is None or plan.unit_code != app.unit_code or plan.category != app.category.value:
        raise ValueError(f"hiring plan {app.hiring_plan_id} is not a plan of unit {app.unit_code} for {app.category.value}")
    if not plan_reserves_for(ApplicationStatus(plan.status), plan.year, plan.approved_slots, plan.filled, uow.today):
        raise ValueError(f"hiring plan {plan.id} holds no reserved slot (status {plan.status}, year {plan.year}, "
                         f"{plan.filled} of {plan.approved_slots or 0} filled)")
    return plan


class OpenApplication(ValueError):
    """The person already has an open onboarding application (answered as InvalidInput)."""


def _within_reach(uow: UnitOfWork, caller: Caller, unit_code: str) -> bool:
    """Whether the caller acts for the unit (its own unit; a district office's region; the city-wide office): only
    then does a refusal name that unit or its application (no more than the workflow needs: docs/access.md)."""
    region = uow.session.scalar(select(UnitRow.region_code).where(UnitRow.code == unit_code))
    try:
        ensure_may_act_for_unit(caller, unit_code, region or "", unit_may=True)
        return True
    except NotAllowed:
        return False


def _check_person(uow: UnitOfWork, caller: Caller, app: OnboardingApplication, *, exclude: int | None = None) -> None:
    """No active posting, no other open application, and police's latest record agrees. A refusal says which of the
    three, naming another unit or its application only to a caller who acts for that unit, and never police's name."""
    s = uow.session
    current = s.execute(select(PostingRow.unit_code).where(PostingRow.id_number == app.id_number, PostingRow.active)).scalar()
    if current is not None:
        where = f" in unit {current}" if _within_reach(uow, caller, current) else " in another unit"
        raise PersonAlreadyPosted(f"person {app.id_number} already holds an active posting{where}")
    q = select(OnboardingRow.id, OnboardingRow.unit_code).where(OnboardingRow.id_number == app.id_number,
                                                               OnboardingRow.status.in_(OPEN))
    if exclude is not None:
        q = q.where(OnboardingRow.id != exclude)
    other = s.execute(q).first()
    if other is not None:
        which = f" {other.id} (unit {other.unit_code})" if _within_reach(uow, caller, other.unit_code) else ""
        raise OpenApplication(f"person {app.id_number} already has an open onboarding application{which}")
    police = s.get(PartnerIdentityRow, app.id_number)
    why = identity_disagreement(app.name, police.name if police else None, police.status if police else None)
    if why:
        raise IdentityNotVerified(f"identity of {app.id_number} not verified: {why}")
    uow.person_clear = app.id_number  # the caller now knows the person is free (hub/api/workflows.py logs it)


def _check_dates(uow: UnitOfWork, app: OnboardingApplication) -> None:
    ensure_plausible_start(app.start_date, parse_id_number(app.id_number).birth_date, uow.today)


def _check_quota(uow: UnitOfWork, app: OnboardingApplication) -> None:
    """A slot of the category is free and unreserved — or reserved for this hire by its plan."""
    plan = _usable_plan(uow, app)
    est = establishments(uow.session, [app.unit_code], today=uow.today, leaders=False)[app.unit_code]
    est.check_free(app.category, from_reservation=plan is not None, policy=policy_placement(app.route))


def submit_onboarding(uow: UnitOfWork, caller: Caller, app: OnboardingApplication, comment: str | None = None) -> OnboardingRow:
    """A unit (its own) or the office applies; checked at once: ID number, person free, police, quota."""
    unit = unit_for(uow, caller, app.unit_code, unit_may=True)
    lock_persons(uow, [app.id_number])  # racing applications for one person: the second sees the first
    ensure_not_frozen(uow, unit.code)
    _check_dates(uow, app)
    _check_person(uow, caller, app)
    _check_quota(uow, app)
    row = OnboardingRow(status=ApplicationStatus.IN_REVIEW.value, unit_code=unit.code, id_number=app.id_number,
                        name=app.name, category=app.category.value, route=app.route.value, start_date=app.start_date,
                        education=app.education.value if app.education else None, hiring_plan_id=app.hiring_plan_id,
                        required_reviews=",".join(r.value for r in app.required_reviews), round=1,
                        submitted_by=caller.actor, submitted_at=uow.now)
    uow.session.add(row)
    uow.session.flush()
    _step(uow, row, caller, "SUBMITTED", comment)
    _log(uow, row, "submitted", comment)
    return row


def review_onboarding(uow: UnitOfWork, caller: Caller, onboarding_id, approve: bool, comment: str | None) -> OnboardingRow:
    """A required reviewer approves, or returns the application to the unit with a comment."""
    row = _get(uow, onboarding_id, lock=True)
    if not approve and not (comment or "").strip():
        raise ValueError("a return needs a comment telling the unit what to correct")
    before = onboarding_data(row)
    row.status = review(ApplicationStatus(row.status), required_of(row), caller.role, approve).value
    _step(uow, row, caller, "REVIEW_APPROVED" if approve else "RETURNED", comment)
    _log(uow, row, "reviewed" if approve else "returned", comment, before)
    return row


def approved_reviews(uow: UnitOfWork, row: OnboardingRow) -> set[Role]:
    """The roles whose approval stands in the application's current round."""
    return {Role(r) for r in uow.session.execute(select(ApplicationStepRow.role).where(
        ApplicationStepRow.application_id == row.id, ApplicationStepRow.round == row.round,
        ApplicationStepRow.action == "REVIEW_APPROVED")).scalars()}


def approve_onboarding(uow: UnitOfWork, caller: Caller, key: bytes, onboarding_id, comment: str | None) -> OnboardingRow:
    """The office approves: under the person's and the quota's locks, re-check everything, issue the form (进编审批表),
    start the posting. Concurrent approvals for the last slots never overfill the unit."""
    row = _get(uow, onboarding_id)
    unit = unit_for(uow, caller, row.unit_code, unit_may=False)
    lock_persons(uow, [row.id_number])  # the reconciliation lock first, as every writer (no deadlocks)
    category = QuotaCategory(row.category)
    est = locked_establishment(uow.session, unit.code, category, None, today=uow.today)
    uow.session.refresh(row, with_for_update=True)  # another approval of the same application waits, then sees it
    ensure_approvable(ApplicationStatus(row.status), required_of(row), approved_reviews(uow, row))
    ensure_not_frozen(uow, unit.code)
    app = OnboardingApplication.new(unit_code=row.unit_code, id_number=row.id_number, name=row.name,
                                    category=row.category, route=row.route, start_date=row.start_date,
                                    education=row.education, hiring_plan_id=row.hiring_plan_id)
    _check_person(uow, caller, app, exclude=row.id)
    plan = _usable_plan(uow, app, lock=True)
    policy = policy_placement(app.route)
    est.check_free(category, from_reservation=plan is not None, policy=policy)
    registry_changes.register_person(uow, person=Person.new(id_number=row.id_number, name=row.name, education=row.education),
                             effective=row.start_date)
    form = issue_form(uow, key, kind=FormKind.ONBOARDING, unit_code=unit.code, id_number=row.id_number, facts={
        "title": "进编审批表", "onboarding_id": row.id, "unit_code": unit.code, "unit_name": unit.name,
        "id_number": row.id_number, "name": row.name, "category": row.category, "route": row.route,
        "start_date": row.start_date, "hiring_plan_id": row.hiring_plan_id})
    posting = registry_changes.start_posting(uow, id_number=row.id_number, unit_code=unit.code, category=row.category,
                                     start_date=row.start_date, reason="onboarding", from_reservation=plan is not None,
                                     form_number=form.number, policy=policy)
    if plan is not None:
        plan.filled += 1
    before = onboarding_data(row)
    row.status, row.decided_at = ApplicationStatus.APPROVED.value, uow.now
    row.posting_id, row.form_number = posting.id, form.number
    _step(uow, row, caller, "APPROVED", comment)
    _log(uow, row, "approved", comment, before)
    return row


def resubmit_onboarding(uow: UnitOfWork, caller: Caller, onboarding_id, app: OnboardingApplication,
                        comment: str | None = None) -> OnboardingRow:
    """The unit corrects a returned application: same id, IN_REVIEW again, a new round of the required reviews."""
    row = _get(uow, onboarding_id)
    unit_for(uow, caller, row.unit_code, unit_may=True)
    lock_persons(uow, [row.id_number, app.id_number])  # before the row lock, as approveOnboarding (no deadlock)
    uow.session.refresh(row, with_for_update=True)
    ensure_resubmittable(ApplicationStatus(row.status))
    if app.unit_code != row.unit_code:
        raise ValueError(f"a resubmission stays in unit {row.unit_code}; apply anew for unit {app.unit_code}")
    ensure_not_frozen(uow, row.unit_code)
    _check_dates(uow, app)
    _check_person(uow, caller, app, exclude=row.id)
    _check_quota(uow, app)
    before = onboarding_data(row)
    row.id_number, row.name, row.category, row.route = app.id_number, app.name, app.category.value, app.route.value
    row.start_date, row.education, row.hiring_plan_id = app.start_date, app.education.value if app.education else None, app.hiring_plan_id
    row.required_reviews = ",".join(r.value for r in app.required_reviews)
    row.round += 1
    row.status = ApplicationStatus.IN_REVIEW.value
    _step(uow, row, caller, "RESUBMITTED", comment)
    _log(uow, row, "resubmitted", comment, before)
    return row


def close_onboarding(uow: UnitOfWork, caller: Caller, onboarding_id, *, withdraw: bool, comment: str | None) -> OnboardingRow:
    """The office rejects an application (REJECTED, with a reason), or the unit withdraws it (WITHDRAWN)."""
    row = _get(uow, onboarding_id, lock=True)
    unit_for(uow, caller, row.unit_code, unit_may=withdraw, active=False)
    ensure_open(ApplicationStatus(row.status))
    if not withdraw and not (comment or "").strip():
        raise ValueError("a rejection states its reason")
    before = onboarding_data(row)
    row.status = (ApplicationStatus.WITHDRAWN if withdraw else ApplicationStatus.REJECTED).value
    row.decided_at = uow.now
    _step(uow, row, caller, "WITHDRAWN" if withdraw else "REJECTED", comment)
    _log(uow, row, "withdrawn" if withdraw else "rejected", comment, before)
    return row


def visible_to(caller: Caller, unit_code: str, unit_region: str, required: tuple[Role, ...]) -> bool:
    """Who may read an application: the office (its region), the unit itself, its required reviewers, auditors."""
    if caller.role is Role.ADMIN:
        return not caller.region_code or caller.region_code == unit_region
    if caller.role is Role.UNIT:
        return caller.unit_code == unit_code
    return caller.role is Role.AUDITOR or caller.role in required
