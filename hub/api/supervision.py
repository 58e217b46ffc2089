"""Supervision findings in GraphQL (contract section 11): ``findings(filter, first, after)``, ``finding(id)``,
``recordFinding``, ``updateFinding``. Thin: the caller and the command go to ``hub.service_layer.findings`` in one unit
of work; refusals are the result union's typed members, as in the workflow mutations."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Annotated, Union

import strawberry
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from hub.api.loaders import DataLoader  # shielded loads (hub/api/loaders.py)

from hub.adapters.jsonutil import loads
from hub.adapters.orm import FindingRow
from hub.adapters.text_limits import is_too_long, refuse_overlong
from hub.api.context import Forbidden
from hub.api.mutations import InvalidIdNumber, InvalidInput, NotAllowed, UnitNotFound
from hub.api.types import Connection, Ctx, Unit, paged
from hub.api.workflows import WrongState, caller
from hub.domain import registry as rules
from hub.domain import supervision as sv
from hub.domain import workflows as wf
from hub.domain.calendar import office_date, office_today
from hub.domain.identifiers import InvalidIdentifier, mask_id_number
from hub.service_layer import findings
from hub.service_layer.unit_of_work import UnitOfWork

log = logging.getLogger("hub.api")

FindingCategory = strawberry.enum(sv.FindingCategory, description="整改事项类别: " + "; ".join(
    f"{m.value} {m.label}" for m in sv.FindingCategory))
FindingSource = strawberry.enum(sv.FindingSource, description="来源: " + "; ".join(
    f"{m.value} {m.label}" for m in sv.FindingSource))
FindingStatus = strawberry.enum(sv.FindingStatus, description="整改状态: " + "; ".join(
    f"{m.value} {m.label}" for m in sv.FindingStatus))
RecommendationKind = strawberry.enum(sv.RecommendationKind, description="整改建议种类: " + "; ".join(
    f"{m.value} {m.label}" for m in sv.RecommendationKind))
FindingAction = strawberry.enum(sv.StepAction, name="FindingAction", description="整改步骤: " + "; ".join(
    f"{m.value} {m.label}" for m in sv.StepAction) + ". updateFinding takes PROGRESS, VERIFIED, REOPENED, CLOSED, "
    "DEADLINE_CHANGED; RECORDED and OVERDUE are the hub's own steps.")
EvidenceKind = strawberry.enum(sv.EvidenceKind, name="FindingEvidenceKind", description="证据: PERSON an ID number, MISMATCH a mismatch id, "
                                                              "DOCUMENT a document number of the register (文号)")


@strawberry.type(description="No finding with this id that the caller may see.")
class FindingNotFound:
    message: str


@strawberry.type(description="A link given as evidence. A PERSON's ID number is shown masked to a UNIT token that "
                             "sent no purpose (X-Purpose); every full one shown is written to the access log.")
class FindingEvidence:
    kind: EvidenceKind
    ref: str


@strawberry.input(description="An evidence link: kind and reference (ID number, mismatch id or document number).")
class EvidenceInput:
    kind: EvidenceKind
    ref: str


def _evidence(info: Ctx, items: list[dict]) -> list[FindingEvidence]:
    ctx, out = info.context, []
    for e in items:
        ref = e["ref"]
        if e["kind"] == sv.EvidenceKind.PERSON.value:
            if ctx.person_read_refusal(None) is None:
                ctx.record_read(ref, operation=ctx.operation_name(info), field="Finding.evidence", purpose=ctx.purpose)
            else:
                ref = mask_id_number(ref)
        out.append(FindingEvidence(kind=sv.EvidenceKind(e["kind"]), ref=ref))
    return out


@strawberry.type(description="One step on a finding's timeline (every step is logged: who, role, when, comment, evidence).")
class FindingStep:
    action: FindingAction
    action_label: str
    actor: str
    role: str = strawberry.field(description="The caller's role, or SYSTEM for the hub's own steps.")
    status_before: FindingStatus | None
    status_after: FindingStatus
    deadline_before: date | None
    deadline_after: date | None
    comment: str | None
    at: datetime
    evidence_items: strawberry.Private[list]

    @strawberry.field
    def evidence(self, info: Ctx) -> list[FindingEvidence]:
        return _evidence(info, self.evidence_items)


def _step(r) -> FindingStep:
    a = sv.StepAction(r.action)
    return FindingStep(action=a, action_label=a.label, actor=r.actor, role=r.role,
                       status_before=sv.FindingStatus(r.status_before) if r.status_before else None,
                       status_after=sv.FindingStatus(r.status_after), deadline_before=r.deadline_before,
                       deadline_after=r.deadline_after, comment=r.comment, at=r.at, evidence_items=loads(r.evidence))


def _steps_loader(info: Ctx) -> DataLoader:
    ctx = info.context
    loader = getattr(ctx, "finding_steps_loader", None)
    if loader is None:
        async def load(ids: list[int]):
            with ctx.db.read_session() as s:
                found = findings.steps_of(s, list(ids))
            return [found.get(i, []) for i in ids]
        loader = ctx.finding_steps_loader = DataLoader(load_fn=load)
    return loader


@strawberry.type(description="A finding (整改事项) of an audit (审计), an inspection (巡察) or the hub's own checks "
                             "(系统发现) about a unit, tracked to closing (销号).")
class Finding:
    id: strawberry.ID
    unit_code: str
    source: FindingSource
    category: FindingCategory
    category_label: str = strawberry.field(description="The category's Chinese name, e.g. 混编混岗.")
    status: FindingStatus
    status_label: str
    title: str
    description: str
    reference: str | None = strawberry.field(description="The audit report's or inspection feedback's number.")
    recommendation: str = strawberry.field(description="整改建议 (e.g. 退还职能, 机构改革/重组).")
    recommendation_kind: RecommendationKind | None
    responsible_party: str = strawberry.field(description="责任主体.")
    deadline: date = strawberry.field(description="整改期限 (the office's local date).")
    overdue: bool = strawberry.field(description="Past the deadline and not yet VERIFIED or CLOSED.")
    age_days: int = strawberry.field(description="Days from recording to closing (to today while not closed).")
    recorded_by: str
    recorded_at: datetime
    updated_at: datetime
    verified_at: datetime | None
    closed_at: datetime | None
    evidence_items: strawberry.Private[list]

    @classmethod
    def from_row(cls, r: FindingRow, today: date) -> "Finding":
        st = sv.FindingStatus(r.status)
        cat = sv.FindingCategory(r.category)
        return cls(id=strawberry.ID(str(r.id)), unit_code=r.unit_code, source=sv.FindingSource(r.source), category=cat,
                   category_label=cat.label, status=st, status_label=st.label, title=r.title, description=r.description,
                   reference=r.reference, recommendation=r.recommendation,
                   recommendation_kind=sv.RecommendationKind(r.recommendation_kind) if r.recommendation_kind else None,
                   responsible_party=r.responsible_party, deadline=r.deadline,
                   overdue=sv.is_overdue(st, r.deadline, today),
                   age_days=sv.age_days(office_date(r.recorded_at), office_date(r.closed_at) if r.closed_at else None, today),
                   recorded_by=r.recorded_by, recorded_at=r.recorded_at, updated_at=r.updated_at,
                   verified_at=r.verified_at, closed_at=r.closed_at, evidence_items=loads(r.evidence))

    @strawberry.field
    async def unit(self, info: Ctx) -> Unit:
        return Unit.from_row(await info.context.loaders.unit.load(self.unit_code))

    @strawberry.field(description="Evidence given when the finding was recorded.")
    def evidence(self, info: Ctx) -> list[FindingEvidence]:
        return _evidence(info, self.evidence_items)

    @strawberry.field(description="The timeline, oldest first: recorded, progress reports, verification, closing, "
                                  "deadline changes, overdue.")
    async def steps(self, info: Ctx) -> list[FindingStep]:
        return [_step(r) for r in await _steps_loader(info).load(int(self.id))]


@strawberry.type
class FindingPayload:
    finding: Finding


FindingResult = Annotated[Union[FindingPayload, NotAllowed, WrongState, FindingNotFound, InvalidInput, InvalidIdNumber,
                                UnitNotFound], strawberry.union("FindingResult")]

_ERRORS = [(wf.NotAllowed, NotAllowed), (wf.WrongState, WrongState), (sv.FindingNotFound, FindingNotFound),
           (InvalidIdentifier, InvalidIdNumber), (rules.UnitNotFound, UnitNotFound)]


def _act(info: Ctx, work):
    """``work(uow, caller)`` in one unit of work; refusals become the union's typed members and change nothing."""
    c = caller(info)
    try:
        with UnitOfWork(info.context.db, actor=c.actor) as uow:
            refuse_overlong(uow.session)
            row = work(uow, c)
            uow.commit()
            return FindingPayload(finding=Finding.from_row(row, findings.today_of(uow)))
    except IntegrityError as e:
        log.warning("finding step refused by a database constraint: %s", e.orig)
        return InvalidInput(message="the change conflicts with the registry's current records (another request may "
                                    "have just made it); nothing changed — read the finding again")
    except DataError as e:
        log.warning("finding step refused by the database: %s", e.orig)
        return InvalidInput(message="a value is too long or out of range for the registry; nothing changed")
    except ValueError as e:
        for exc, typ in _ERRORS:
            if isinstance(e, exc):
                return typ(message=str(e))
        return InvalidInput(message=str(e))
    except DBAPIError as e:
        if not is_too_long(e):
            raise
        return InvalidInput(message="a text is longer than the registry stores")


@strawberry.input(description="A finding to record (ADMIN — a district office in its region — or AUDITOR).")
class FindingInput:
    unit_code: str
    source: FindingSource = strawberry.field(description="AUDIT (审计) or INSPECTION (巡察); HUB is the hub's own.")
    category: FindingCategory
    title: str
    description: str
    recommendation: str
    responsible_party: str
    deadline: date
    recommendation_kind: RecommendationKind | None = None
    reference: str | None = None
    evidence: list[EvidenceInput] | None = None


@strawberry.input(description="Which findings: every field optional; a UNIT token sees its own unit's only, a district "
                              "office its region's.")
class FindingFilter:
    unit_code: str | None = None
    region_code: str | None = None
    category: FindingCategory | None = None
    status: FindingStatus | None = None
    source: FindingSource | None = None
    overdue: bool | None = None


def _pairs(evidence) -> tuple:
    return tuple((e.kind.value, e.ref) for e in evidence or ())


@strawberry.type
class SupervisionMutation:
    @strawberry.mutation(description="Record a finding (整改事项) of an audit or inspection about a unit: ADMIN (a district "
                                     "office in its region) or AUDITOR. Publishes gov.registry.finding.opened.")
    def record_finding(self, info: Ctx, finding: FindingInput) -> FindingResult:
        new = findings.NewFinding(
            unit_code=finding.unit_code, source=finding.source.value, category=finding.category.value,
            title=finding.title, description=finding.description, recommendation=finding.recommendation,
            responsible_party=finding.responsible_party, deadline=finding.deadline,
            recommendation_kind=finding.recommendation_kind.value if finding.recommendation_kind else None,
            reference=finding.reference, evidence=_pairs(finding.evidence))
        return _act(info, lambda uow, c: findings.record_finding(uow, c, new))

    @strawberry.mutation(description="One step on a finding: PROGRESS (报告整改进展: the unit's own UNIT token, ADMIN or "
                                     "AUDITOR; a comment and evidence), VERIFIED (验收), REOPENED (退回整改, with why), "
                                     "CLOSED (销号), DEADLINE_CHANGED (a new deadline with its reason) — ADMIN (its region) "
                                     "and AUDITOR. Publishes gov.registry.finding.updated (closed: .closed).")
    def update_finding(self, info: Ctx, id: strawberry.ID, action: FindingAction, comment: str | None = None,
                       evidence: list[EvidenceInput] | None = None, deadline: date | None = None) -> FindingResult:
        return _act(info, lambda uow, c: findings.update_finding(
            uow, c, id, action=action.value, comment=comment, evidence=_pairs(evidence), deadline=deadline))


def _today() -> date:
    return office_today()


@strawberry.type
class SupervisionQuery:
    @strawberry.field(description="Findings (整改事项), newest first: ADMIN (a district office: its region), AUDITOR, "
                                  "UNIT (its own unit's).")
    def findings(self, info: Ctx, filter: FindingFilter | None = None, first: int | None = None,
                 after: str | None = None) -> Connection[Finding]:
        c = caller(info)
        if c.role not in sv.READERS:
            raise Forbidden(f"role {c.role.value} may not read findings")
        f = filter or FindingFilter()
        today = _today()
        try:
            q = findings.select_findings(c, findings.FindingQuery(
                unit_code=f.unit_code, region_code=f.region_code, category=f.category.value if f.category else None,
                status=f.status.value if f.status else None, source=f.source.value if f.source else None,
                overdue=f.overdue), today)
        except InvalidIdentifier as e:
            raise ValueError(str(e)) from None
        return paged(info, q, (FindingRow.id.desc(),), first, after, lambda r: Finding.from_row(r, today))

    @strawberry.field(description="A finding with its timeline, if the caller may see it (null otherwise).")
    def finding(self, info: Ctx, id: strawberry.ID) -> Finding | None:
        c = caller(info)
        if c.role not in sv.READERS:
            raise Forbidden(f"role {c.role.value} may not read findings")
        with info.context.db.read_session() as s:
            try:
                row = findings.finding_for(s, c, id)
            except sv.FindingNotFound:
                return None
        return Finding.from_row(row, _today())
