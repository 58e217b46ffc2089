"""Workflow mutations and queries (contract section 9). Thin: build the caller and the command, run the service
layer in one unit of work, translate refusals into the result unions' typed members."""

from __future__ import annotations

import logging
from datetime import date
from typing import Annotated, Union

import strawberry
from sqlalchemy import func, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.exc import DBAPIError

from hub.adapters.orm import ApprovalFormRow, DocumentRow, HiringPlanRow, OnboardingRow, UnitRow
from hub.adapters.text_limits import is_too_long, refuse_overlong
from hub.api.context import Forbidden
from hub.api.mutations import (
    InvalidIdNumber,
    InvalidInput,
    LeaderQuotaExhausted,
    NotAllowed,
    PersonAlreadyPosted,
    PersonNotFound,
    Posting,
    PostingNotFound,
    PostingPayload,
    QuotaExhausted,
    UnitNotFound,
    UnitPayload,
    UnitResult,
)
from hub.api.pagination import page_window
from hub.api.types import Connection, Ctx, Education, LeaderRank, QuotaCategory, Unit, connection, wants_total
from hub.api.workflow_types import (
    ApplicationStatus,
    ApprovalForm,
    DepartureReason,
    Document,
    DocumentKind,
    LeaderAppointment,
    PolicyOverQuota,
    FormVerification,
    HiringPlan,
    Onboarding,
    RecruitmentRoute,
)
from hub.domain import registry as rules
from hub.domain import workflows as wf
from hub.domain.identifiers import InvalidIdentifier
from hub.domain.vocabulary import Role
from hub.service_layer.unit_of_work import UnitOfWork
from hub.service_layer.workflows import documents, leaders, onboarding, plans, policy, postings
from hub.service_layer.workflows.forms import genuine_form


@strawberry.type(description="The application still waits for a required review (联审).")
class ReviewPending:
    message: str


@strawberry.type(description="Police's latest record disagrees: deceased or cancelled, or another name.")
class IdentityNotVerified:
    message: str


@strawberry.type(description="The office froze the unit: no hiring plans, no onboarding.")
class UnitFrozen:
    message: str


@strawberry.type(description="The unit is over quota: no hiring plan until it fits (只出不进).")
class UnitOverQuota:
    message: str


@strawberry.type(description="No application or plan with this id.")
class ApplicationNotFound:
    message: str


@strawberry.type(description="The application is not in a state that allows this step (e.g. already approved).")
class WrongState:
    message: str


@strawberry.type
class OnboardingPayload:
    onboarding: Onboarding


@strawberry.type
class PolicyOverQuotaPayload:
    decision: PolicyOverQuota
    unit: Unit


@strawberry.type
class DocumentPayload:
    document: Document


@strawberry.type
class HiringPlanPayload:
    hiring_plan: HiringPlan


OnboardingResult = Annotated[Union[
    OnboardingPayload, QuotaExhausted, PersonAlreadyPosted, IdentityNotVerified, ReviewPending, NotAllowed, InvalidInput,
    InvalidIdNumber, UnitNotFound, UnitFrozen, ApplicationNotFound, WrongState], strawberry.union("OnboardingResult")]
HiringPlanResult = Annotated[Union[
    HiringPlanPayload, QuotaExhausted, UnitOverQuota, UnitFrozen, NotAllowed, InvalidInput, InvalidIdNumber, UnitNotFound,
    ApplicationNotFound, WrongState], strawberry.union("HiringPlanResult")]
PolicyOverQuotaResult = Annotated[Union[PolicyOverQuotaPayload, NotAllowed, InvalidInput, InvalidIdNumber, UnitNotFound],
                                  strawberry.union("PolicyOverQuotaResult")]
DocumentResult = Annotated[Union[DocumentPayload, NotAllowed, InvalidInput], strawberry.union("DocumentResult")]
PostingResult = Annotated[Union[
    PostingPayload, InvalidInput, InvalidIdNumber, PersonNotFound, PostingNotFound, UnitNotFound, QuotaExhausted,
    LeaderQuotaExhausted, PersonAlreadyPosted, UnitFrozen, NotAllowed, ReviewPending, WrongState], strawberry.union("PostingResult")]

log = logging.getLogger("hub.api")

# Most specific first: several domain errors are ValueErrors.
_ERRORS = [
    (wf.NotAllowed, NotAllowed), (wf.ReviewPending, ReviewPending), (wf.IdentityNotVerified, IdentityNotVerified),
    (wf.UnitFrozen, UnitFrozen), (wf.UnitOverQuota, UnitOverQuota), (wf.ApplicationNotFound, ApplicationNotFound),
    (wf.WrongState, WrongState), (InvalidIdentifier, InvalidIdNumber), (rules.UnitNotFound, UnitNotFound),
    (rules.PersonNotFound, PersonNotFound), (rules.PostingNotFound, PostingNotFound),
    (rules.QuotaExhausted, QuotaExhausted), (rules.LeaderQuotaExhausted, LeaderQuotaExhausted),
    (rules.PersonAlreadyPosted, PersonAlreadyPosted),
]


def caller(info: Ctx) -> wf.Caller:
    p = info.context.principal
    return wf.Caller(name=p.name, role=p.role, unit_code=p.unit_code, region_code=p.region_code)


def _act(info: Ctx, allowed: tuple, work):
    """Run ``work(uow, caller)`` in one unit of work as the caller; refusals become the union's typed members."""
    c = caller(info)
    try:
        with UnitOfWork(info.context.db, actor=c.actor) as uow:
            refuse_overlong(uow.session)  # too long for its column: InvalidInput, on every database
            result = work(uow, c)
            uow.commit()
            return result
    except IntegrityError as e:  # e.g. a concurrent request (another API worker) made the same record first
        log.warning("workflow step refused by a database constraint: %s", e.orig)
        return InvalidInput(message="the change conflicts with the registry's current records (another request may "
                                    "have just made the same change); nothing changed — read them again")
    except DataError as e:  # a value the database cannot hold (the service layer names the known limits first)
        log.warning("workflow step refused by the database: %s", e.orig)
        return InvalidInput(message="a value is too long or out of range for the registry; nothing changed")
    except ValueError as e:  # every domain refusal and InvalidIdentifier is a ValueError
        for exc, typ in _ERRORS:
            if isinstance(e, exc):
                if typ in allowed:
                    return typ(message=str(e))
                break
        return InvalidInput(message=str(e))
    except DBAPIError as e:
        if not is_too_long(e):
            raise
        return InvalidInput(message="a text is longer than the registry stores")


_ONBOARDING = (QuotaExhausted, PersonAlreadyPosted, IdentityNotVerified, ReviewPending, NotAllowed, InvalidIdNumber,
               UnitNotFound, UnitFrozen, ApplicationNotFound, WrongState)
_PLAN = (QuotaExhausted, UnitOverQuota, UnitFrozen, NotAllowed, InvalidIdNumber, UnitNotFound, ApplicationNotFound, WrongState)
_POSTING = (InvalidIdNumber, PersonNotFound, PostingNotFound, UnitNotFound, QuotaExhausted, LeaderQuotaExhausted,
            PersonAlreadyPosted, UnitFrozen, NotAllowed, ReviewPending, WrongState)


@strawberry.input
class HiringPlanInput:
    unit_code: str
    year: int
    category: QuotaCategory
    slots: int
    reason: str


@strawberry.input
class DocumentInput:
    number: str
    title: str
    issuer: str
    issued_on: date
    kind: DocumentKind


@strawberry.input
class OnboardingInput:
    unit_code: str
    id_number: str
    name: str
    category: QuotaCategory
    route: RecruitmentRoute
    start_date: date
    education: Education | None = None
    hiring_plan_id: strawberry.ID | None = None

    def domain(self) -> wf.OnboardingApplication:
        return wf.OnboardingApplication.new(
            unit_code=self.unit_code, id_number=self.id_number, name=self.name, category=self.category.value,
            route=self.route.value, start_date=self.start_date, education=self.education.value if self.education else None,
            hiring_plan_id=self.hiring_plan_id)


# What checking an application's person told the caller (access_log.outcome): the person is posted, has an open
# application, or police disagree; ACCEPTED: none of these; CLEAR: none of these, but refused later (e.g. quota).
_LOOKUP_OUTCOMES = ((rules.PersonAlreadyPosted, "ALREADY_POSTED"), (onboarding.OpenApplication, "OPEN_APPLICATION"),
                    (wf.IdentityNotVerified, "NOT_VERIFIED"))


def _looking_up(info: Ctx, field: str, application: "OnboardingInput", run):
    """``run(uow, caller, app)`` as ``_act``'s work, writing to the access log what checking the named person answered
    (an application is a lookup of that person: docs/access.md, "No membership oracle"). Refusals before the person
    is checked (another unit, an invalid number) are not lookups."""
    def work(uow, c):
        app = application.domain()
        ctx = info.context

        def note(outcome: str) -> None:
            ctx.record_read(app.id_number, operation=ctx.operation_name(info), field=field, purpose=ctx.purpose,
                            outcome=outcome)
        try:
            result = run(uow, c, app)
        except tuple(e for e, _ in _LOOKUP_OUTCOMES) as e:
            note(next(o for k, o in _LOOKUP_OUTCOMES if isinstance(e, k)))
            raise
        except Exception:
            if getattr(uow, "person_clear", None) == app.id_number:
                note("CLEAR")  # refused later (quota, plan): the answer still said the person is free
            raise
        note("ACCEPTED")
        return result
    return work


def _onboarding(row) -> OnboardingPayload:
    return OnboardingPayload(onboarding=Onboarding.from_row(row))


def _posting_change(row, number: str, uow) -> PostingPayload:
    form = uow.session.execute(select(ApprovalFormRow).where(ApprovalFormRow.number == number)).scalar_one()
    return PostingPayload(posting=Posting.from_row(row), form=ApprovalForm.from_row(form))


@strawberry.type
class WorkflowMutation:
    @strawberry.mutation(description="政策性超编: the office allows military transfers and policy placements above the unit's "
                                     "quota (slots) under a document, until a deadline to absorb the excess (消化).")
    def allow_policy_over_quota(self, info: Ctx, unit_code: str, category: QuotaCategory, slots: int, document_number: str,
                                deadline: date, reason: str) -> PolicyOverQuotaResult:
        def work(uow, c):
            r = policy.allow_policy_over_quota(uow, c, unit_code=unit_code, category=category.value, slots=slots,
                                               document_number=document_number, deadline=deadline, reason=reason)
            d = next(x for x in policy.decisions_of(uow.session, r.unit_code, uow.today) if x.row.id == r.id)
            return PolicyOverQuotaPayload(
                decision=PolicyOverQuota(id=strawberry.ID(str(r.id)), category=category, slots=r.slots,
                                         document_number=r.document_number, deadline=r.deadline, reason=r.reason,
                                         over_by=d.over_by, overdue=d.overdue),
                unit=Unit.from_row(uow.session.get(UnitRow, r.unit_code)))
        return _act(info, (NotAllowed, InvalidIdNumber, UnitNotFound), work)

    @strawberry.mutation(description="The office records a document in the register (文号).")
    def record_document(self, info: Ctx, document: DocumentInput) -> DocumentResult:
        return _act(info, (NotAllowed,), lambda uow, c: DocumentPayload(document=Document.from_row(documents.record_document(
            uow, c, number=document.number, title=document.title, issuer=document.issuer, issued_on=document.issued_on,
            kind=document.kind.value))))

    @strawberry.mutation(description="A unit (its own; or the office) asks for hiring-plan slots (用编计划).")
    def submit_hiring_plan(self, info: Ctx, plan: HiringPlanInput) -> HiringPlanResult:
        return _act(info, _PLAN, lambda uow, c: HiringPlanPayload(hiring_plan=HiringPlan.from_row(plans.submit_hiring_plan(
            uow, c, unit_code=plan.unit_code, year=plan.year, category=plan.category.value, slots=plan.slots,
            reason=plan.reason))))

    @strawberry.mutation(description="The office (ADMIN) approves a plan, possibly with fewer slots, or rejects it. A cut "
                                     "(fewer slots, or a rejection: 减少核定用编计划) may cite the unit's annual evaluation "
                                     "result (`evaluationId`) of the plan's year or the year before: another unit's or another "
                                     "year's is InvalidInput, an unknown one ApplicationNotFound.")
    def decide_hiring_plan(self, info: Ctx, id: strawberry.ID, approve: bool, approved_slots: int | None = None,
                           comment: str | None = None, evaluation_id: strawberry.ID | None = None) -> HiringPlanResult:
        return _act(info, _PLAN, lambda uow, c: HiringPlanPayload(hiring_plan=HiringPlan.from_row(plans.decide_hiring_plan(
            uow, c, info.context.form_key, id, approve, approved_slots, comment, evaluation_id))))

    @strawberry.mutation(description="The office freezes a unit (no plans, no onboarding) or lifts the freeze.")
    def freeze_unit(self, info: Ctx, code: str, frozen: bool, reason: str | None = None) -> UnitResult:
        def work(uow, c):
            plans.set_unit_frozen(uow, c, unit_code=code, frozen=frozen, reason=reason)
            return UnitPayload(unit=Unit.from_row(uow.session.get(UnitRow, code.strip().upper())))
        return _act(info, (InvalidIdNumber, UnitNotFound, NotAllowed), work)

    @strawberry.mutation(description="A unit (its own; or the office) applies to post a person (用编进编).")
    def submit_onboarding(self, info: Ctx, application: OnboardingInput, comment: str | None = None) -> OnboardingResult:
        return _act(info, _ONBOARDING, _looking_up(info, "Mutation.submitOnboarding", application, lambda uow, c, app: _onboarding(
            onboarding.submit_onboarding(uow, c, app, comment))))

    @strawberry.mutation(description="A required reviewer (ORGANIZATION or HR, by route) approves or returns the application.")
    def review_onboarding(self, info: Ctx, id: strawberry.ID, approve: bool, comment: str | None = None) -> OnboardingResult:
        return _act(info, _ONBOARDING, lambda uow, c: _onboarding(onboarding.review_onboarding(uow, c, id, approve, comment)))

    @strawberry.mutation(description="The office (ADMIN) approves: re-checks the quota under a lock, starts the posting, issues the 进编审批表.")
    def approve_onboarding(self, info: Ctx, id: strawberry.ID, comment: str | None = None) -> OnboardingResult:
        return _act(info, _ONBOARDING, lambda uow, c: _onboarding(onboarding.approve_onboarding(
            uow, c, info.context.form_key, id, comment)))

    @strawberry.mutation(description="The unit corrects a RETURNED application: same id, IN_REVIEW again, a new round of reviews.")
    def resubmit_onboarding(self, info: Ctx, id: strawberry.ID, application: OnboardingInput, comment: str | None = None) -> OnboardingResult:
        return _act(info, _ONBOARDING, _looking_up(info, "Mutation.resubmitOnboarding", application, lambda uow, c, app: _onboarding(
            onboarding.resubmit_onboarding(uow, c, id, app, comment))))

    @strawberry.mutation(description="The office (ADMIN) rejects an application in review or returned, with its reason.")
    def reject_onboarding(self, info: Ctx, id: strawberry.ID, comment: str) -> OnboardingResult:
        return _act(info, _ONBOARDING, lambda uow, c: _onboarding(onboarding.close_onboarding(uow, c, id, withdraw=False, comment=comment)))

    @strawberry.mutation(description="The unit (or the office) withdraws an application in review or returned.")
    def withdraw_onboarding(self, info: Ctx, id: strawberry.ID, comment: str | None = None) -> OnboardingResult:
        return _act(info, _ONBOARDING, lambda uow, c: _onboarding(onboarding.close_onboarding(uow, c, id, withdraw=True, comment=comment)))

    @strawberry.mutation(description="出编: the office ends a person's active posting with a reason; yields the 减员通知单.")
    def end_posting(self, info: Ctx, id_number: str, end_date: date, reason: DepartureReason,
                    comment: str | None = None) -> PostingResult:
        def work(uow, c):
            row, number = postings.end_posting(uow, c, info.context.form_key, id_number=id_number, end_date=end_date,
                                               reason=reason, comment=comment)
            return _posting_change(row, number, uow)
        return _act(info, _POSTING, work)

    @strawberry.mutation(description="调动: the office moves a person to another unit in one step; both quota checks, one form.")
    def transfer_person(self, info: Ctx, id_number: str, to_unit_code: str, category: QuotaCategory, effective_date: date,
                        comment: str | None = None) -> PostingResult:
        def work(uow, c):
            row, number = postings.transfer_person(uow, c, info.context.form_key, id_number=id_number,
                                                   to_unit_code=to_unit_code, category=category.value,
                                                   effective_date=effective_date, comment=comment)
            return _posting_change(row, number, uow)
        return _act(info, _POSTING, work)

    @strawberry.mutation(description="职数: ADMIN checks the leader quota (核准), ORGANIZATION records the decision (任免), "
                                     "ADMIN confirms (配备) and the posting's rank changes; rank null removes the person "
                                     "from the leader position. Each call is the caller's next step.")
    def appoint_leader(self, info: Ctx, id_number: str, rank: LeaderRank | None, effective_date: date,
                       document_number: str) -> PostingResult:
        def work(uow, c):
            posting, appointment, number = leaders.appoint_leader(
                uow, c, info.context.form_key, id_number=id_number, rank=rank, effective_date=effective_date,
                document_number=document_number)
            payload = _posting_change(posting, number, uow) if number else PostingPayload(posting=Posting.from_row(posting))
            payload.appointment = LeaderAppointment.from_row(appointment)
            return payload
        return _act(info, _POSTING, work)


@strawberry.input
class OnboardingFilter:
    unit_code: str | None = None
    status: ApplicationStatus | None = None
    id_number: str | None = None


def _scoped(info: Ctx, q, row_cls, *, reviewers: bool):
    """Only what the caller may see: a district ADMIN its region, a UNIT its unit, a reviewer what it must review
    (onboardings), AUDITOR everything."""
    c = caller(info)
    if c.role is Role.ADMIN:
        if c.region_code:
            q = q.where(row_cls.unit_code.in_(select(UnitRow.code).where(UnitRow.region_code == c.region_code)))
        return q
    if c.role is Role.UNIT:
        return q.where(row_cls.unit_code == c.unit_code)
    if c.role is Role.AUDITOR:
        return q
    if reviewers and c.role in (Role.ORGANIZATION, Role.HR):
        return q.where(row_cls.required_reviews.contains(c.role.value))
    raise Forbidden(f"role {c.role.value} may not list these")


def _page(info: Ctx, q, order, first, after, make) -> Connection:
    offset, limit = page_window(first, after)
    with info.context.db.read_session() as s:
        total = s.scalar(select(func.count()).select_from(q.order_by(None).subquery())) if wants_total(info) else None
        rows = s.execute(q.order_by(*order).offset(offset).limit(limit)).scalars().all()
    return connection(rows, total, offset, make)


@strawberry.type
class WorkflowQuery:
    @strawberry.field(description="An onboarding application with its timeline (the office, the unit, its reviewers, auditors).")
    def onboarding(self, info: Ctx, id: strawberry.ID) -> Onboarding | None:
        oid = wf.record_id(id)
        if oid is None:
            return None
        with info.context.db.read_session() as s:
            row = s.get(OnboardingRow, oid)
            region = s.scalar(select(UnitRow.region_code).where(UnitRow.code == row.unit_code)) if row else None
        if row is None:
            return None
        if not onboarding.visible_to(caller(info), row.unit_code, region, onboarding.required_of(row)):
            raise Forbidden("this application is not yours to read")
        ctx = info.context
        ctx.record_read(row.id_number, operation=ctx.operation_name(info), field="Query.onboarding", purpose=ctx.purpose)
        return Onboarding.from_row(row)

    @strawberry.field(description="Onboarding applications, newest first, as the caller may see them.")
    def onboardings(self, info: Ctx, filter: OnboardingFilter | None = None, first: int | None = None,
                    after: str | None = None) -> Connection[Onboarding]:
        q = select(OnboardingRow)
        if filter:
            if filter.unit_code:
                q = q.where(OnboardingRow.unit_code == filter.unit_code.strip().upper())
            if filter.status:
                q = q.where(OnboardingRow.status == filter.status.value)
            if filter.id_number:
                q = q.where(OnboardingRow.id_number == filter.id_number.strip().upper())
        q = _scoped(info, q, OnboardingRow, reviewers=True)
        result = _page(info, q, (OnboardingRow.id.desc(),), first, after, Onboarding.from_row)
        ctx = info.context
        for e in result.edges:  # an application names a person: every one listed is a read of person data
            ctx.record_read(e.node.id_number, operation=ctx.operation_name(info), field="Query.onboardings", purpose=ctx.purpose)
        return result

    @strawberry.field(description="Hiring plans (用编计划), newest first, as the caller may see them.")
    def hiring_plans(self, info: Ctx, unit_code: str | None = None, status: ApplicationStatus | None = None,
                     first: int | None = None, after: str | None = None) -> Connection[HiringPlan]:
        q = select(HiringPlanRow)
        if unit_code:
            q = q.where(HiringPlanRow.unit_code == unit_code.strip().upper())
        if status:
            q = q.where(HiringPlanRow.status == status.value)
        q = _scoped(info, q, HiringPlanRow, reviewers=False)
        return _page(info, q, (HiringPlanRow.id.desc(),), first, after, HiringPlan.from_row)

    @strawberry.field(description="A document of the register by its number (文号).")
    def document(self, info: Ctx, number: str) -> Document | None:
        with info.context.db.read_session() as s:
            row = s.execute(select(DocumentRow).where(DocumentRow.number == number.strip())).scalar_one_or_none()
        return Document.from_row(row) if row else None

    @strawberry.field(description="The document register, newest first; filter by kind or part of the number or title.")
    def documents(self, info: Ctx, kind: DocumentKind | None = None, contains: str | None = None,
                  first: int | None = None, after: str | None = None) -> Connection[Document]:
        q = select(DocumentRow)
        if kind:
            q = q.where(DocumentRow.kind == kind.value)
        if contains:
            q = q.where(DocumentRow.number.contains(contains, autoescape=True)
                        | DocumentRow.title.contains(contains, autoescape=True))
        return _page(info, q, (DocumentRow.issued_on.desc(), DocumentRow.id.desc()), first, after, Document.from_row)

    @strawberry.field(description="Check an approval form: valid only when number and code belong together and its facts are unchanged.")
    def verify_approval_form(self, info: Ctx, number: str, code: str) -> FormVerification:
        with info.context.db.read_session() as s:
            row = genuine_form(s, info.context.form_key, number, code)
        return FormVerification(valid=row is not None, form=ApprovalForm.from_row(row) if row else None)
