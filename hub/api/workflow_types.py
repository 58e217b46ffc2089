"""GraphQL types of the workflows (contract section 9): applications, their steps, hiring plans, approval forms."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from hub.adapters.orm import ApplicationStepRow, ApprovalFormRow, DocumentRow, HiringPlanRow, LeaderAppointmentRow, OnboardingRow
from hub.api.types import Ctx, LeaderRank, Posting, QuotaCategory, Role, Unit
from hub.domain import vocabulary as v
from hub.domain.calendar import OFFICE_TIME, office_date as _office_date  # noqa: F401  (OFFICE_TIME: hub.api.types)
from hub.domain.workflows import FORM_TITLE

if TYPE_CHECKING:
    from hub.api.evaluation import Evaluation

RecruitmentRoute = strawberry.enum(v.RecruitmentRoute, description="录用途径")
DepartureReason = strawberry.enum(v.DepartureReason, description="出编原因")
ApplicationStatus = strawberry.enum(v.ApplicationStatus)
FormKind = strawberry.enum(v.FormKind, description="审批表种类")
DocumentKind = strawberry.enum(v.DocumentKind, description="文件种类: 编委会议纪要, 批复, 通知, 决定, 任免文件, 其他")


@strawberry.type(description="An approval form (进编审批表, 减员通知单, …): its number and verification code.")
class ApprovalForm:
    number: str
    code: str
    kind: FormKind
    issued_at: datetime
    title: str

    @classmethod
    def from_row(cls, r: ApprovalFormRow) -> "ApprovalForm":
        kind = v.FormKind(r.kind)
        return cls(number=r.number, code=r.code, kind=kind, issued_at=r.issued_at, title=FORM_TITLE[kind])

    @strawberry.field(description="Where the printable form is served (path on the hub).")
    def url(self) -> str:
        return f"/forms/{self.number}?code={self.code}"


@strawberry.type(description="Whether a form's number and code belong together (and its facts are unchanged).")
class FormVerification:
    valid: bool
    form: ApprovalForm | None


@strawberry.type(description="One step on an application's timeline.")
class ApplicationStep:
    actor: str
    role: Role
    action: str
    comment: str | None
    at: datetime
    round: int

    @classmethod
    def from_row(cls, r: ApplicationStepRow) -> "ApplicationStep":
        return cls(actor=r.actor, role=v.Role(r.role), action=r.action, comment=r.comment, at=r.at, round=r.round)


@strawberry.type(description="An onboarding application (用编进编) with its review timeline.")
class Onboarding:
    id: strawberry.ID
    status: ApplicationStatus
    id_number: str
    name: str
    category: QuotaCategory
    route: RecruitmentRoute
    required_reviews: list[Role]
    start_date: date
    round: int
    submitted_at: datetime
    decided_at: datetime | None
    hiring_plan_id: strawberry.ID | None
    unit_code: strawberry.Private[str]
    posting_id: strawberry.Private[int | None]
    form_number: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, r: OnboardingRow) -> "Onboarding":
        return cls(id=strawberry.ID(str(r.id)), status=v.ApplicationStatus(r.status), id_number=r.id_number, name=r.name,
                   category=v.QuotaCategory(r.category), route=v.RecruitmentRoute(r.route),
                   required_reviews=[v.Role(x) for x in r.required_reviews.split(",") if x], start_date=r.start_date,
                   round=r.round, submitted_at=r.submitted_at, decided_at=r.decided_at,
                   hiring_plan_id=strawberry.ID(str(r.hiring_plan_id)) if r.hiring_plan_id else None,
                   unit_code=r.unit_code, posting_id=r.posting_id, form_number=r.form_number)

    @strawberry.field
    async def unit(self, info: Ctx) -> Unit:
        return Unit.from_row(await info.context.loaders.unit.load(self.unit_code))

    @strawberry.field(description="The timeline, oldest first: submitted, reviews, returns, resubmissions, approval.")
    async def steps(self, info: Ctx) -> list[ApplicationStep]:
        return [ApplicationStep.from_row(r) for r in await info.context.loaders.application_steps.load(int(self.id))]

    @strawberry.field(description="The approval form, once approved.")
    async def form(self, info: Ctx) -> ApprovalForm | None:
        if not self.form_number:
            return None
        row = await info.context.loaders.approval_form.load(self.form_number)
        return ApprovalForm.from_row(row) if row else None

    @strawberry.field(description="Working days from submission to approval, both days counted (当日办结 = 1), on the "
                                  "office's calendar of holidays and make-up working days; null until approved.")
    def turnaround_working_days(self, info: Ctx) -> int | None:
        if self.decided_at is None or self.status is not v.ApplicationStatus.APPROVED:
            return None
        return info.context.calendar.turnaround(_office_date(self.submitted_at), _office_date(self.decided_at))

    @strawberry.field(description="The posting the approval started.")
    async def posting(self, info: Ctx) -> Posting | None:
        if self.posting_id is None:
            return None
        row = await info.context.loaders.posting_by_id.load(self.posting_id)
        return Posting.from_row(row) if row else None


@strawberry.type(description="A hiring plan (用编计划): slots of a category for a year; approved slots are reserved.")
class HiringPlan:
    id: strawberry.ID
    year: int
    category: QuotaCategory
    slots: int
    approved_slots: int | None
    filled: int
    reason: str
    status: ApplicationStatus
    comment: str | None
    submitted_at: datetime
    decided_at: datetime | None
    unit_code: strawberry.Private[str]
    form_number: strawberry.Private[str | None]
    evaluation_id: strawberry.Private[int | None] = None

    @classmethod
    def from_row(cls, r: HiringPlanRow) -> "HiringPlan":
        return cls(id=strawberry.ID(str(r.id)), year=r.year, category=v.QuotaCategory(r.category), slots=r.slots,
                   approved_slots=r.approved_slots, filled=r.filled, reason=r.reason,
                   status=v.ApplicationStatus(r.status), comment=r.comment, submitted_at=r.submitted_at,
                   decided_at=r.decided_at, unit_code=r.unit_code, form_number=r.form_number,
                   evaluation_id=r.evaluation_id)

    @strawberry.field(description="The annual evaluation result (年度评估) the cut of this plan cites (减少核定用编计划).")
    def cited_evaluation(self, info: Ctx) -> Annotated["Evaluation", strawberry.lazy("hub.api.evaluation")] | None:
        if self.evaluation_id is None:
            return None
        from hub.adapters.orm import EvaluationResultRow
        from hub.api.evaluation import Evaluation

        with info.context.db.read_session() as s:
            return Evaluation.from_row(s.get(EvaluationResultRow, self.evaluation_id))

    @strawberry.field
    async def unit(self, info: Ctx) -> Unit:
        return Unit.from_row(await info.context.loaders.unit.load(self.unit_code))

    @strawberry.field(description="The 用编计划核准表, once approved.")
    async def form(self, info: Ctx) -> ApprovalForm | None:
        if not self.form_number:
            return None
        row = await info.context.loaders.approval_form.load(self.form_number)
        return ApprovalForm.from_row(row) if row else None


@strawberry.type(description="A leader appointment or removal (职数使用): CHECKED (核准) → DECIDED (任免) → CONFIRMED (配备).")
class LeaderAppointment:
    id: strawberry.ID
    rank: LeaderRank | None
    stage: str
    effective_date: date
    document_number: str
    checked_by: str
    decided_by: str | None
    confirmed_by: str | None

    @classmethod
    def from_row(cls, r: LeaderAppointmentRow) -> "LeaderAppointment":
        return cls(id=strawberry.ID(str(r.id)), rank=v.LeaderRank(r.rank) if r.rank else None, stage=r.stage,
                   effective_date=r.effective_date, document_number=r.document_number, checked_by=r.checked_by,
                   decided_by=r.decided_by, confirmed_by=r.confirmed_by)


@strawberry.type(description="A document of the register (文号).")
class Document:
    number: str
    title: str
    issuer: str
    issued_on: date
    kind: DocumentKind
    recorded_at: datetime

    @classmethod
    def from_row(cls, r: DocumentRow) -> "Document":
        return cls(number=r.number, title=r.title, issuer=r.issuer, issued_on=r.issued_on, kind=v.DocumentKind(r.kind),
                   recorded_at=r.recorded_at)


@strawberry.type(description="A document number a unit's history (沿革) names: since when, for what, and the register's entry.")
class DocumentUse:
    number: str
    first_used: date
    uses: list[str]
    document: Document | None


@strawberry.type(description="An office decision allowing policy placements above quota (政策性超编) until a deadline (消化).")
class PolicyOverQuota:
    id: strawberry.ID
    category: QuotaCategory
    slots: int
    document_number: str
    deadline: date
    reason: str
    over_by: int = strawberry.field(description="Active postings above the approved quota in the category today.")
    overdue: bool = strawberry.field(description="The deadline passed and the excess is not absorbed: a violation (OVER_QUOTA).")
