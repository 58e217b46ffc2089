"""Mutations of the establishment office (ADMIN). Expected failures are typed results, not top-level errors;
every mutation goes through the service layer, the operation log and the outbox."""

from __future__ import annotations

import threading
from datetime import date
from typing import Annotated, Union

import strawberry
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from hub.adapters.orm import PostingRow, UnitRow
from hub.adapters.text_limits import is_too_long, refuse_overlong

from hub.api.workflow_types import ApprovalForm, LeaderAppointment
from hub.api.types import (
    Ctx,
    InternalDepartment,
    DispatchedBody,
    Funding,
    InstitutionClass,
    LeaderRank,
    Person,
    Posting,
    QuotaCategory,
    Unit,
    UnitGrade,
    UnitKind,
    UnitLevel,
)
from hub.domain import registry as rules
from hub.domain.identifiers import InvalidIdentifier
from hub.domain.registry import Person as DomainPerson
from hub.domain.registry import Unit as DomainUnit
from hub.domain.retirement import FlexibleRetirement as FlexibleRetirementKind
from hub.domain.vocabulary import NonEstablishmentKind as NonEstablishmentKindValue
from hub.domain.vocabulary import Role
from hub.service_layer import registry_changes
from hub.service_layer.unit_of_work import UnitOfWork


@strawberry.type(description="The caller's role may not do this.")
class NotAllowed:
    message: str


@strawberry.type(description="An argument is not acceptable; `field` names it.")
class InvalidInput:
    message: str
    field: str | None = None


@strawberry.type(description="An ID number fails GB 11643 (or a unit code GB 32100).")
class InvalidIdNumber:
    message: str


@strawberry.type
class UnitNotFound:
    message: str


@strawberry.type
class PersonNotFound:
    message: str


@strawberry.type
class PostingNotFound:
    message: str


@strawberry.type(description="Gender or birth date disagree with the ID number.")
class IdentityDisagrees:
    message: str


@strawberry.type(description="No free slot in the category: approved and used are given.")
class QuotaExhausted:
    message: str


@strawberry.type
class LeaderQuotaExhausted:
    message: str


@strawberry.type
class PersonAlreadyPosted:
    message: str


@strawberry.type
class UnitPayload:
    unit: Unit


@strawberry.type
class QuotaPayload:
    unit: Unit


@strawberry.type
class PersonPayload:
    person: Person


@strawberry.type(description="A posting started or ended, with the approval form it started or ended by.")
class PostingPayload:
    posting: Posting
    form: ApprovalForm | None = None
    appointment: LeaderAppointment | None = None


FlexibleRetirement = strawberry.enum(FlexibleRetirementKind, description="弹性退休: EARLY 弹性提前, DELAY 弹性延迟")


@strawberry.type(description="An approved flexible retirement (弹性退休): the date it sets replaces the statutory one.")
class RetirementDecision:
    id_number: str
    kind: FlexibleRetirement
    retire_on: date
    document_number: str


@strawberry.type
class RetirementDecisionPayload:
    decision: RetirementDecision


NonEstablishmentKind = strawberry.enum(NonEstablishmentKindValue, description="编外人员: CONTRACT 编外聘用, LABOUR_DISPATCH 劳务派遣, "
                                      "SECONDMENT 借调, TEMPORARY_POST 挂职, RETIREE_PENSION 退休人员(财政发放退休费)")


@strawberry.type(description="A person employed and paid by a unit outside the establishment (编外人员).")
class NonEstablishmentEntry:
    id: int
    id_number: str
    name: str
    unit_code: str
    kind: NonEstablishmentKind
    start_date: date
    end_date: date | None
    active: bool
    document_number: str | None

    @classmethod
    def from_row(cls, r) -> "NonEstablishmentEntry":
        return cls(id=r.id, id_number=r.id_number, name=r.name, unit_code=r.unit_code,
                   kind=NonEstablishmentKindValue(r.kind), start_date=r.start_date, end_date=r.end_date, active=r.active,
                   document_number=r.document_number)


@strawberry.type
class DepartmentPayload:
    department: InternalDepartment
    unit: Unit


@strawberry.type
class NonEstablishmentPayload:
    entry: NonEstablishmentEntry


@strawberry.type
class ComparisonStarted:
    comparison_id: strawberry.ID


UnitResult = Annotated[Union[UnitPayload, InvalidInput, InvalidIdNumber, UnitNotFound, NotAllowed], strawberry.union("UnitResult")]
QuotaResult = Annotated[Union[QuotaPayload, InvalidInput, UnitNotFound, NotAllowed], strawberry.union("QuotaResult")]
PersonResult = Annotated[Union[PersonPayload, InvalidInput, InvalidIdNumber, IdentityDisagrees, NotAllowed], strawberry.union("PersonResult")]
RetirementDecisionResult = Annotated[Union[RetirementDecisionPayload, InvalidInput, InvalidIdNumber, PersonNotFound, NotAllowed],
                                     strawberry.union("RetirementDecisionResult")]
DepartmentResult = Annotated[Union[DepartmentPayload, InvalidInput, UnitNotFound, LeaderQuotaExhausted, NotAllowed],
                             strawberry.union("DepartmentResult")]
NonEstablishmentResult = Annotated[Union[NonEstablishmentPayload, InvalidInput, InvalidIdNumber, UnitNotFound, NotAllowed],
                                   strawberry.union("NonEstablishmentResult")]
ComparisonResult = Annotated[Union[ComparisonStarted, InvalidInput, NotAllowed], strawberry.union("ComparisonResult")]

_ERRORS = [
    (InvalidIdentifier, InvalidIdNumber), (rules.IdentityDisagrees, IdentityDisagrees), (rules.UnitNotFound, UnitNotFound),
    (rules.PersonNotFound, PersonNotFound), (rules.PostingNotFound, PostingNotFound), (rules.QuotaExhausted, QuotaExhausted),
    (rules.LeaderQuotaExhausted, LeaderQuotaExhausted), (rules.PersonAlreadyPosted, PersonAlreadyPosted),
]


def _typed_error(e: Exception, allowed: tuple):
    for exc, typ in _ERRORS:
        if isinstance(e, exc) and typ in allowed:
            return typ(message=str(e))
    if isinstance(e, ValueError):
        return InvalidInput(message=str(e))
    raise e


def _run(info: Ctx, allowed: tuple, work):
    """Run ``work(uow)`` as the caller inside one unit of work; expected failures become typed results."""
    p = info.context.principal
    if p.role is not Role.ADMIN:
        return NotAllowed(message=f"role {p.role.value} may not change the registry")
    try:
        with UnitOfWork(info.context.db, actor=p.actor) as uow:
            refuse_overlong(uow.session)  # too long for its column: InvalidInput, on every database
            result = work(uow)
            uow.commit()
            return result
    except RegionRefused as e:
        return NotAllowed(message=str(e))
    except (ValueError, InvalidIdentifier) as e:
        return _typed_error(e, allowed)
    except DBAPIError as e:
        if not is_too_long(e):
            raise
        return _typed_error(ValueError("a text is longer than the registry stores"), allowed)


class RegionRefused(ValueError):
    """A district office's token acting on a unit outside its region."""


def _in_region(info: Ctx, uow, *, unit_code: str | None = None, region_code: str | None = None) -> None:
    """A district office (ADMIN with a region) edits only units of its region (and creates units only there)."""
    mine = info.context.principal.region_code
    if not mine:
        return
    if unit_code is not None:
        row = uow.session.get(UnitRow, unit_code.strip().upper())
        region_code = row.region_code if row is not None else region_code
    if region_code is not None and region_code.strip() != mine:
        raise RegionRefused(f"this ADMIN token acts only in region {mine}, not {region_code}")


def _quota_result(info: Ctx, set_slots) -> "QuotaResult":
    """Run a quota or leader-quota change; the payload is the unit with its quotas as they now stand."""
    def work(uow):
        row = set_slots(uow)
        return QuotaPayload(unit=Unit.from_row(uow.session.get(UnitRow, row.unit_code)))
    return _run(info, (InvalidInput, UnitNotFound), work)


@strawberry.input
class UnitInput:
    code: str
    name: str
    kind: UnitKind
    level: UnitLevel
    region_code: str
    funding: Funding
    parent_code: str | None = None
    grade: UnitGrade | None = strawberry.field(default=None, description="机构规格")
    civil_service_managed: bool = strawberry.field(default=False, description="参公 (public institutions only)")
    classification: InstitutionClass | None = strawberry.field(default=None, description="事业单位分类 (public institutions only)")
    dispatched: DispatchedBody | None = strawberry.field(default=None, description="派出机构 (organs only)")


@strawberry.input
class UnitChanges:
    name: str | None = None
    kind: UnitKind | None = None
    level: UnitLevel | None = None
    region_code: str | None = None
    funding: Funding | None = None
    parent_code: str | None = None
    grade: UnitGrade | None = None
    civil_service_managed: bool | None = None
    classification: InstitutionClass | None = None
    dispatched: DispatchedBody | None = None


@strawberry.input
class PersonInput:
    id_number: str
    name: str
    education: str | None = strawberry.field(default=None, description="全日制教育 学历 (Education value).")
    degree: str | None = strawberry.field(default=None, description="全日制教育 学位 (Degree value); needs the education of its level.")
    in_service_education: str | None = strawberry.field(default=None, description="在职教育 学历 (Education value).")
    in_service_degree: str | None = strawberry.field(default=None, description="在职教育 学位 (Degree value).")


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Establish a unit (机构设立) under a document number.")
    def create_unit(self, info: Ctx, unit: UnitInput, effective_date: date, document_number: str | None = None) -> UnitResult:
        def work(uow):
            _in_region(info, uow, region_code=unit.region_code)
            d = DomainUnit.new(code=unit.code, name=unit.name, kind=unit.kind.value, level=unit.level.value,
                               region_code=unit.region_code, funding=unit.funding.value, parent_code=unit.parent_code,
                               grade=unit.grade.value if unit.grade else None, civil_service_managed=unit.civil_service_managed,
                               classification=unit.classification.value if unit.classification else None,
                               dispatched=unit.dispatched.value if unit.dispatched else None)
            return UnitPayload(unit=Unit.from_row(registry_changes.create_unit(uow, unit=d, document_number=document_number, effective=effective_date)))
        return _run(info, (InvalidInput, InvalidIdNumber, UnitNotFound), work)

    @strawberry.mutation(description="Rename or reclassify a unit; the old version stays in its history (沿革).")
    def update_unit(self, info: Ctx, code: str, changes: UnitChanges, effective_date: date, document_number: str | None = None) -> UnitResult:
        def work(uow):
            _in_region(info, uow, unit_code=code)
            _in_region(info, uow, region_code=changes.region_code)
            ch = {k: (x.value if hasattr(x, "value") else x) for k, x in vars(changes).items() if x is not None}
            return UnitPayload(unit=Unit.from_row(registry_changes.update_unit(uow, code=code, changes=ch, document_number=document_number, effective=effective_date)))
        return _run(info, (InvalidInput, InvalidIdNumber, UnitNotFound), work)

    @strawberry.mutation(description="Abolish a unit (机构撤销); refused while it has active postings.")
    def abolish_unit(self, info: Ctx, code: str, effective_date: date, document_number: str | None = None) -> UnitResult:
        return _run(info, (InvalidInput, InvalidIdNumber, UnitNotFound), lambda uow: _in_region(info, uow, unit_code=code) or UnitPayload(
            unit=Unit.from_row(registry_changes.abolish_unit(uow, code=code, document_number=document_number, effective=effective_date))))

    @strawberry.mutation(description="Approve a unit's quota in a category (核定编制); a cut below use opens OVER_QUOTA.")
    def set_quota(self, info: Ctx, unit_code: str, category: QuotaCategory, approved: int, effective_date: date,
                  document_number: str | None = None) -> QuotaResult:
        return _quota_result(info, lambda uow: _in_region(info, uow, unit_code=unit_code) or registry_changes.set_quota(
            uow, unit_code=unit_code, category=category.value, approved=approved, document_number=document_number,
            effective=effective_date))

    @strawberry.mutation(description="Approve a unit's leadership positions of a rank (核定领导职数).")
    def set_leader_quota(self, info: Ctx, unit_code: str, rank: LeaderRank, approved: int, effective_date: date,
                         document_number: str | None = None) -> QuotaResult:
        return _quota_result(info, lambda uow: _in_region(info, uow, unit_code=unit_code) or registry_changes.set_leader_quota(
            uow, unit_code=unit_code, rank=rank.value, approved=approved, document_number=document_number,
            effective=effective_date))

    @strawberry.mutation(description="Register a person, or correct a registered person's name, education (学历) or degree (学位).")
    def register_person(self, info: Ctx, person: PersonInput, effective_date: date) -> PersonResult:
        def work(uow):
            d = DomainPerson.new(id_number=person.id_number, name=person.name, education=person.education,
                                 degree=person.degree, in_service_education=person.in_service_education,
                                 in_service_degree=person.in_service_degree)
            if info.context.principal.region_code:  # a district office corrects only persons posted in its region
                posted = uow.session.scalar(select(PostingRow.unit_code).where(
                    PostingRow.id_number == d.id_number, PostingRow.active))
                if posted is not None:
                    _in_region(info, uow, unit_code=posted)
            return PersonPayload(person=Person.from_row(registry_changes.register_person(uow, person=d, effective=effective_date)))
        return _run(info, (InvalidInput, InvalidIdNumber, IdentityDisagrees), work)

    @strawberry.mutation(description="Record an approved flexible retirement (弹性提前/弹性延迟退休) of a posted person, "
                                     "replacing an earlier one: RETIREMENT_DUE follows the date it sets.")
    def record_retirement_decision(self, info: Ctx, id_number: str, kind: FlexibleRetirement, retire_on: date,
                                   document_number: str) -> RetirementDecisionResult:
        def work(uow):
            from hub.service_layer.registry_checks import record_retirement_decision

            row = record_retirement_decision(uow, id_number=id_number, kind=kind.value, retire_on=retire_on,
                                             document_number=document_number)
            return RetirementDecisionPayload(decision=RetirementDecision(
                id_number=row.id_number, kind=FlexibleRetirementKind(row.kind), retire_on=row.retire_on,
                document_number=row.document_number))
        return _run(info, (InvalidInput, InvalidIdNumber, PersonNotFound), work)

    @strawberry.mutation(description="Set up an internal department (内设机构) with its leader positions, drawn from the "
                                     "unit's leader quota; approved=false (the 三定 approval does not name it) opens "
                                     "UNAPPROVED_DEPARTMENT.")
    def set_up_internal_department(self, info: Ctx, unit_code: str, name: str, chief_positions: int,
                                   deputy_positions: int, approved: bool,
                                   document_number: str | None = None) -> DepartmentResult:
        def work(uow):
            from hub.service_layer.departments import set_up

            _in_region(info, uow, unit_code=unit_code)
            row = set_up(uow, unit_code=unit_code, name=name, chief_positions=chief_positions,
                         deputy_positions=deputy_positions, approved=approved, document_number=document_number)
            return DepartmentPayload(department=InternalDepartment.from_row(row),
                                     unit=Unit.from_row(uow.session.get(UnitRow, row.unit_code)))
        return _run(info, (InvalidInput, UnitNotFound, LeaderQuotaExhausted), work)

    @strawberry.mutation(description="Abolish an internal department (内设机构撤销); its positions return to the unit.")
    def abolish_internal_department(self, info: Ctx, id: int) -> DepartmentResult:
        def work(uow):
            from hub.adapters.orm import InternalDepartmentRow
            from hub.service_layer.departments import abolish

            found = uow.session.get(InternalDepartmentRow, id)
            if found is not None:
                _in_region(info, uow, unit_code=found.unit_code)
            row = abolish(uow, department_id=id)
            return DepartmentPayload(department=InternalDepartment.from_row(row),
                                     unit=Unit.from_row(uow.session.get(UnitRow, row.unit_code)))
        return _run(info, (InvalidInput,), work)

    @strawberry.mutation(description="Register a person employed and paid by a unit outside the establishment (编外人员): "
                                     "the unit's pay for them is not GHOST_PAYROLL and 三数一致 counts it apart.")
    def record_non_establishment_staff(self, info: Ctx, id_number: str, name: str, unit_code: str,
                                       kind: NonEstablishmentKind, start_date: date,
                                       document_number: str | None = None) -> NonEstablishmentResult:
        def work(uow):
            from hub.service_layer.non_establishment import record_entry

            _in_region(info, uow, unit_code=unit_code)
            return NonEstablishmentPayload(entry=NonEstablishmentEntry.from_row(record_entry(
                uow, id_number=id_number, name=name, unit_code=unit_code, kind=kind.value, start_date=start_date,
                document_number=document_number)))
        return _run(info, (InvalidInput, InvalidIdNumber, UnitNotFound), work)

    @strawberry.mutation(description="End a non-establishment entry (编外人员: contract ended, secondment over).")
    def end_non_establishment_staff(self, info: Ctx, id: int, end_date: date) -> NonEstablishmentResult:
        def work(uow):
            from hub.adapters.orm import NonEstablishmentRow
            from hub.service_layer.non_establishment import end_entry

            row = uow.session.get(NonEstablishmentRow, id)
            if row is not None:
                _in_region(info, uow, unit_code=row.unit_code)
            return NonEstablishmentPayload(entry=NonEstablishmentEntry.from_row(end_entry(uow, entry_id=id, end_date=end_date)))
        return _run(info, (InvalidInput,), work)

    @strawberry.mutation(description="Start a monthly full comparison of a snapshot file in the hub's comparison directory (HUB_COMPARISON_DIR; `path` relative to it); poll `comparison(id)`.")
    def start_comparison(self, info: Ctx, source: str, period: str, path: str, skip_bad_rows: bool = False) -> ComparisonResult:
        import hashlib
        import uuid

        from hub.config import load_settings
        from hub.service_layer.comparison.files import snapshot_file
        from hub.service_layer.comparison.pipeline import record_start, run_compare
        from hub.service_layer.comparison.sources import PERIOD, SOURCES

        p = info.context.principal
        if p.role is not Role.ADMIN or p.region_code:
            return NotAllowed(message=f"role {p.role.value}{' (district office)' if p.region_code else ''} may not start comparisons")
        if source not in SOURCES:
            return InvalidInput(message=f"unknown source {source!r} (allowed: {', '.join(SOURCES)})", field="source")
        if not PERIOD.match(period):
            return InvalidInput(message=f"period {period!r} must be YYYY-MM", field="period")
        settings = info.context.settings or load_settings()
        file = snapshot_file(settings.effective_comparison_dir(), path)
        try:
            digest = hashlib.sha256(file.read_bytes()).hexdigest() if file is not None else None
        except OSError:
            digest = None
        if digest is None:  # missing, unreadable and outside the directory are answered alike
            return InvalidInput(message="path must name a readable file in the hub's comparison directory "
                                        "(HUB_COMPARISON_DIR), relative to it", field="path")
        cid = str(uuid.uuid4())
        db = info.context.db

        def run():
            try:
                run_compare(db, source=source, period=period, path=file, skip_bad_rows=skip_bad_rows,
                            actor=p.actor, comparison_id=cid, expected_sha256=digest)  # the bytes checked, only
            except Exception:  # noqa: BLE001 - recorded as REJECTED/FAILED on the comparison row
                pass

        record_start(db, cid, source, period, file, digest, p.actor, False)
        threading.Thread(target=run, name=f"compare-{cid[:8]}", daemon=True).start()
        return ComparisonStarted(comparison_id=strawberry.ID(cid))
