"""GraphQL types, separate from ORM rows (built with ``from_row``); lists resolve through per-request DataLoaders."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Annotated, Generic, TypeVar

import strawberry
from sqlalchemy import func, select
from strawberry.scalars import JSON
from strawberry.types import Info

from hub.adapters import history
from hub.adapters.orm import (
    AccessLogBatchRow,
    AccessLogRow,
    LeaderQuotaVersionRow,
    PostingRow,
    QuotaVersionRow,
    UnitRow,
    UnitVersionRow,
)
from hub.api import access
from hub.api.context import Forbidden, HubContext
from hub.api.execution import direct
from hub.api.pagination import Edge, PageInfo, encode_cursor, page_window
from hub.domain import vocabulary as v
from hub.domain.calendar import office_today

UnitKind = strawberry.enum(v.UnitKind, description="机构类别")
UnitLevel = strawberry.enum(v.UnitLevel, description="层级")
UnitGrade = strawberry.enum(v.UnitGrade, description="机构规格: 正厅(局)级 … 副科级")
InstitutionClass = strawberry.enum(v.InstitutionClass, description="事业单位分类: 公益一类, 公益二类, 承担行政职能, 经营类")
DispatchedBody = strawberry.enum(v.DispatchedBody, description="派出机构: 街道办事处, 开发区管委会")
Funding = strawberry.enum(v.Funding, description="经费形式")
QuotaCategory = strawberry.enum(v.QuotaCategory, description="编制类型")
LeaderRank = strawberry.enum(v.LeaderRank, description="领导职数")
Education = strawberry.enum(v.Education, description="学历")
Degree = strawberry.enum(v.Degree, description="学位")
MismatchKind = strawberry.enum(v.MismatchKind, description="Contract section 7")
MismatchStatus = strawberry.enum(v.MismatchStatus)
MismatchClass = strawberry.enum(v.MismatchClass, description="WARNING: 管理预警 (the registry's own rules); DISCREPANCY: 比对疑点 (a partner disagrees)")
UnitStatus = strawberry.enum(v.UnitStatus)
Role = strawberry.enum(v.Role)

Ctx = Info[HubContext, None]
T = TypeVar("T")


def check(info: Ctx, field: str) -> None:
    """Refuse the field for this caller's role (GraphQL error with extensions.code = FORBIDDEN)."""
    role = info.context.principal.role
    if not access.allowed(field, role):
        raise Forbidden(f"role {role.value} may not read {field}")


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int


def connection(rows: list, total: int | None, offset: int, make) -> Connection:
    """A page as a connection. ``total`` is None when neither ``totalCount`` nor ``pageInfo`` was selected (see
    ``wants_total``): then neither is ever resolved, and the count query was skipped."""
    edges = [Edge(node=make(r), offset=offset + i) for i, r in enumerate(rows)]
    if total is None:
        return Connection(edges=edges, total_count=None, page_info=None)
    return Connection(edges=edges, total_count=total, page_info=PageInfo(
        has_next_page=offset + len(rows) < total, has_previous_page=offset > 0,
        start_cursor=encode_cursor(offset) if edges else None, end_cursor=encode_cursor(offset + len(rows) - 1) if edges else None))


def _selection(info: Ctx) -> dict:
    """Names selected under this field, by depth below it: {"": {...}, "edges.node": {...}} (through fragments;
    @skip/@include are not evaluated, so this over-approximates, never misses). Cached per request and field node."""
    ctx = info.context
    key = id(info._raw_info.field_nodes[0])
    cache = ctx.selection_cache
    found = cache.get(key)
    if found is None:
        found = {}

        def walk(selections, path: str) -> None:
            names = found.setdefault(path, set())
            for sel in selections:
                name = getattr(sel, "name", None)
                if name is None or not hasattr(sel, "arguments"):  # fragment spread or inline fragment
                    walk(sel.selections, path)
                    continue
                names.add(name)
                if sel.selections:
                    walk(sel.selections, f"{path}.{name}" if path else name)

        for field in info.selected_fields:
            walk(field.selections, "")
        cache[key] = found
    return found


def wants_total(info: Ctx) -> bool:
    """Whether a connection's ``totalCount`` or ``pageInfo`` is asked for (both need the count query)."""
    top = _selection(info).get("", ())
    return "totalCount" in top or "pageInfo" in top


def paged(info: Ctx, q, order, first, after, make, *, scalars: bool = True, total=None) -> Connection:
    """A page of ``q`` in ``order``; ``total``: a query counting q's rows more cheaply than counting q."""
    offset, limit = page_window(first, after)
    with info.context.db.read_session() as s:
        if total is None:
            total = select(func.count()).select_from(q.order_by(None).subquery())
        total = s.scalar(total) if wants_total(info) else None
        result = s.execute(q.order_by(*order).offset(offset).limit(limit))
        rows = (result.scalars() if scalars else result).all()
    return connection(rows, total, offset, make)


@strawberry.type(description="Approved quota slots (编制) in one category, how many are used, how many approved hiring "
                             "plans reserve (用编计划) and how many are available (approved − used − reserved).")
class Quota:
    category: QuotaCategory
    approved: int
    used: int
    document_number: str | None = None
    reserved: int = 0

    @strawberry.field
    def available(self) -> int:
        return self.approved - self.used - self.reserved


@strawberry.type(description="Approved leadership positions (领导职数) of one rank and how many are filled.")
class LeaderQuota:
    rank: LeaderRank
    approved: int
    used: int
    document_number: str | None = None

    @strawberry.field
    def available(self) -> int:
        return self.approved - self.used


@strawberry.type(description="One version of a unit in its history (沿革): valid from one date to the next.")
class UnitVersion:
    valid_from: date
    valid_to: date | None
    name: str
    kind: UnitKind
    level: UnitLevel
    funding: Funding
    status: UnitStatus
    parent_code: str | None
    document_number: str | None
    recorded_at: datetime
    grade: UnitGrade | None = None
    civil_service_managed: bool = False
    classification: InstitutionClass | None = None
    dispatched: DispatchedBody | None = None


def _parameters(r) -> dict:
    """机构规格, 参公, classification and dispatched body of a unit row or version (None where a row has none)."""
    g, c, d = getattr(r, "grade", None), getattr(r, "classification", None), getattr(r, "dispatched", None)
    return {"grade": v.UnitGrade(g) if g else None, "civil_service_managed": bool(getattr(r, "civil_service_managed", False)),
            "classification": v.InstitutionClass(c) if c else None, "dispatched": v.DispatchedBody(d) if d else None}


@strawberry.type(description="内设机构: an internal department (科室) with its leader positions (正职 at 正科, 副职 at 副科).")
class InternalDepartment:
    id: int
    name: str
    approved: bool = strawberry.field(description="Named by the unit's approval (三定); false: UNAPPROVED_DEPARTMENT.")
    chief_positions: int
    deputy_positions: int
    document_number: str | None

    @classmethod
    def from_row(cls, r) -> "InternalDepartment":
        return cls(id=r.id, name=r.name, approved=r.approved, chief_positions=r.chief_positions,
                   deputy_positions=r.deputy_positions, document_number=r.document_number)


@strawberry.type(description="One rank's leader positions: approved, held by internal departments, left to the team (班子).")
class LeaderSplit:
    rank: LeaderRank
    approved: int
    departments: int
    team: int


@strawberry.type(description="A unit (机构), identified by its unified social credit code.")
class Unit:
    code: str
    name: str
    kind: UnitKind
    level: UnitLevel
    funding: Funding
    region_code: str
    status: UnitStatus
    established_on: date | None
    abolished_on: date | None
    parent_code: strawberry.Private[str | None]
    as_of: strawberry.Private[date | None] = None
    grade: UnitGrade | None = strawberry.field(default=None, description="机构规格")
    civil_service_managed: bool = strawberry.field(default=False, description="参照公务员法管理 (参公)")
    classification: InstitutionClass | None = strawberry.field(default=None, description="事业单位分类")
    dispatched: DispatchedBody | None = strawberry.field(default=None, description="派出机构")

    @classmethod
    def from_row(cls, r, as_of: date | None = None) -> "Unit":
        return cls(code=r.code if hasattr(r, "code") else r.unit_code, name=r.name, kind=v.UnitKind(r.kind),
                   level=v.UnitLevel(r.level), funding=v.Funding(r.funding), region_code=r.region_code,
                   status=v.UnitStatus(r.status), established_on=getattr(r, "established_on", None),
                   abolished_on=getattr(r, "abolished_on", None), parent_code=r.parent_code, as_of=as_of,
                   **_parameters(r))

    @strawberry.field
    async def parent(self, info: Ctx) -> Unit | None:
        if not self.parent_code:
            return None
        row = await info.context.loaders.unit.load(self.parent_code)
        return Unit.from_row(row) if row else None

    @strawberry.field(description="Units whose parent this unit is.")
    async def children(self, info: Ctx) -> list[Unit]:
        return [Unit.from_row(r) for r in await info.context.loaders.children.load(self.code)]

    @strawberry.field(description="Quota per category: approved, used (active postings) and available (用编余量).")
    async def quotas(self, info: Ctx) -> list[Quota]:
        if self.as_of:
            return _quotas_as_of(info, self.code, self.as_of)
        return [Quota(category=v.QuotaCategory(c), approved=a, used=u, reserved=r)
                for c, a, u, r in await info.context.loaders.quotas.load(self.code)]

    @strawberry.field(description="Leadership positions per rank: approved, used and available.")
    async def leader_quotas(self, info: Ctx) -> list[LeaderQuota]:
        if self.as_of:
            return _leader_quotas_as_of(info, self.code, self.as_of)
        return [LeaderQuota(rank=v.LeaderRank(r), approved=a, used=u) for r, a, u in await info.context.loaders.leader_quotas.load(self.code)]

    @strawberry.field(description="内设机构: the unit's active internal departments (科室) and their leader positions.")
    def internal_departments(self, info: Ctx) -> list[InternalDepartment]:
        from hub.adapters.orm import InternalDepartmentRow

        with info.context.db.read_session() as s:
            rows = s.execute(select(InternalDepartmentRow).where(InternalDepartmentRow.unit_code == self.code,
                                                                 InternalDepartmentRow.active)
                             .order_by(InternalDepartmentRow.id)).scalars().all()
        return [InternalDepartment.from_row(r) for r in rows]

    @strawberry.field(description="领导职数 split between the leadership team (班子) and the internal departments, per rank.")
    def leader_split(self, info: Ctx) -> list[LeaderSplit]:
        from hub.adapters.orm import InternalDepartmentRow, LeaderQuotaRow
        from hub.domain.registry import leader_split

        with info.context.db.read_session() as s:
            grade = s.scalar(select(UnitRow.grade).where(UnitRow.code == self.code))
            approved = {v.LeaderRank(r): n for r, n in s.execute(select(LeaderQuotaRow.rank, LeaderQuotaRow.approved)
                                                                  .where(LeaderQuotaRow.unit_code == self.code))}
            depts = s.execute(select(InternalDepartmentRow.chief_positions, InternalDepartmentRow.deputy_positions)
                              .where(InternalDepartmentRow.unit_code == self.code, InternalDepartmentRow.active)).all()
        return [LeaderSplit(rank=r, approved=n["approved"], departments=n["departments"], team=n["team"])
                for r, n in leader_split(approved, [tuple(d) for d in depts], grade).items()]

    @strawberry.field(description="Why the office froze the unit (no hiring plans, no onboarding), or null.")
    async def frozen_reason(self, info: Ctx) -> str | None:
        row = await info.context.loaders.frozen.load(self.code)
        return row.reason if row else None

    @strawberry.field(description="Actual headcount (实有人数): active postings, or postings held on asOf.")
    async def headcount(self, info: Ctx) -> int:
        if self.as_of:
            with info.context.db.read_session() as s:
                return len(history.postings_on(s, on=self.as_of, unit_code=self.code))
        return await info.context.loaders.headcount.load(self.code)

    @strawberry.field(description="Postings in this unit (active only by default; on asOf when read as of a date).")
    async def postings(self, info: Ctx, include_ended: bool = False, first: int | None = None, after: str | None = None) -> Connection[Posting]:
        check(info, "Unit.postings")
        p = info.context.principal
        if p.role is v.Role.UNIT and p.unit_code != self.code:
            raise Forbidden("a UNIT token reads only its own unit's postings")
        offset, limit = page_window(first, after)
        # The holders come joined to the postings when `person` is selected, except for UNIT tokens (load_person
        # checks each holder's posting in the token's unit for them).
        with_person = p.role is not v.Role.UNIT and "person" in _selection(info).get("edges.node", ())
        rows, total = await info.context.loaders.unit_postings.load(
            (self.code, self.as_of, include_ended, offset, limit, with_person, wants_total(info)))
        return connection(rows, total, offset, Posting.from_joined if with_person else Posting.from_row)

    @strawberry.field(description="Policy over-quota decisions (政策性超编): allowed slots, document, deadline to absorb "
                                  "(消化), the excess today and whether it is overdue.")
    def policy_over_quota(self, info: Ctx) -> list[Annotated["PolicyOverQuota", strawberry.lazy("hub.api.workflow_types")]]:  # noqa: F821 (strawberry.lazy)
        from hub.api.workflow_types import PolicyOverQuota
        from hub.service_layer.workflows.policy import decisions_of

        today = office_today()
        with info.context.db.read_session() as s:
            found = decisions_of(s, self.code, today)
        return [PolicyOverQuota(id=strawberry.ID(str(d.row.id)), category=v.QuotaCategory(d.row.category),
                                slots=d.row.slots, document_number=d.row.document_number, deadline=d.row.deadline,
                                reason=d.row.reason, over_by=d.over_by, overdue=d.overdue) for d in found]

    @strawberry.field(description="The documents (文号) its history names — versions, quotas, leader positions, "
                                  "appointments — oldest first, with the register's entry when recorded.")
    def documents(self, info: Ctx) -> list[Annotated["DocumentUse", strawberry.lazy("hub.api.workflow_types")]]:  # noqa: F821 (strawberry.lazy)
        check(info, "Unit.history")
        from hub.api.workflow_types import Document, DocumentUse
        from hub.service_layer.workflows.documents import unit_documents

        with info.context.db.read_session() as s:
            found = unit_documents(s, self.code)
        return [DocumentUse(number=u.number, first_used=u.first_used, uses=u.uses,
                            document=Document.from_row(u.document) if u.document else None) for u in found]

    @strawberry.field(description="Every version of the unit, oldest first, with dates and document numbers (沿革表).")
    def history(self, info: Ctx) -> list[UnitVersion]:
        check(info, "Unit.history")
        with info.context.db.read_session() as s:
            rows = history.history(s, UnitVersionRow, key={"unit_code": self.code})
        return [UnitVersion(valid_from=r.valid_from, valid_to=r.valid_to, name=r.name, kind=v.UnitKind(r.kind),
                            level=v.UnitLevel(r.level), funding=v.Funding(r.funding), status=v.UnitStatus(r.status),
                            parent_code=r.parent_code, document_number=r.document_number, recorded_at=r.recorded_at,
                            **_parameters(r)) for r in rows]


def _quotas_as_of(info: Ctx, code: str, on: date) -> list[Quota]:
    rows, used = _versions_and_use_as_of(info, QuotaVersionRow, code, on, lambda p: p.category)
    return [Quota(category=v.QuotaCategory(r.category), approved=r.approved, used=used.get(r.category, 0),
                  document_number=r.document_number) for r in sorted(rows, key=lambda r: r.category)]


def _leader_quotas_as_of(info: Ctx, code: str, on: date) -> list[LeaderQuota]:
    rows, used = _versions_and_use_as_of(info, LeaderQuotaVersionRow, code, on, lambda p: p.leader_rank)
    return [LeaderQuota(rank=v.LeaderRank(r.rank), approved=r.approved, used=used.get(r.rank, 0),
                        document_number=r.document_number) for r in sorted(rows, key=lambda r: r.rank)]


def _versions_and_use_as_of(info: Ctx, version_row, code: str, on: date, slot_of) -> tuple[list, dict[str, int]]:
    """A unit's quota versions in force on ``on`` and how many postings held then used each slot (``slot_of``:
    the posting's category or leader rank; None counts for nothing)."""
    with info.context.db.read_session() as s:
        rows = history.versions_as_of(s, version_row, filters=[version_row.unit_code == code], on=on)
        held = history.postings_on(s, on=on, unit_code=code)
    used: dict[str, int] = {}
    for p in held:
        slot = slot_of(p)
        if slot:
            used[slot] = used.get(slot, 0) + 1
    return rows, used


NOT_LOADED = object()  # Posting.holder: the holder was not read with the posting


@strawberry.type(description="A person holding a slot (在编) in a unit, from start to end date.")
class Posting:
    id: strawberry.ID
    category: QuotaCategory
    leader_rank: LeaderRank | None
    start_date: date
    end_date: date | None
    end_reason: str | None
    active: bool
    unit_code: strawberry.Private[str]
    id_number: strawberry.Private[str]
    # The holder's row when it was read with the posting (UnitPostingsLoader with_person); NOT_LOADED otherwise.
    holder: strawberry.Private[object] = NOT_LOADED

    @classmethod
    def from_row(cls, r: PostingRow) -> "Posting":
        return cls(id=strawberry.ID(str(r.id)), category=v.QuotaCategory(r.category),
                   leader_rank=v.LeaderRank(r.leader_rank) if r.leader_rank else None, start_date=r.start_date,
                   end_date=r.end_date, end_reason=r.end_reason, active=r.active, unit_code=r.unit_code, id_number=r.id_number,
                   holder=NOT_LOADED)

    @classmethod
    def from_joined(cls, r) -> "Posting":
        """A posting row with its holder's columns joined (``person_*``)."""
        return cls(id=strawberry.ID(str(r.id)), category=v.QuotaCategory(r.category),
                   leader_rank=v.LeaderRank(r.leader_rank) if r.leader_rank else None, start_date=r.start_date,
                   end_date=r.end_date, end_reason=r.end_reason, active=r.active, unit_code=r.unit_code, id_number=r.id_number,
                   holder=r if r.person_id_number is not None else None)

    @strawberry.field
    async def unit(self, info: Ctx) -> Unit:
        return Unit.from_row(await info.context.loaders.unit.load(self.unit_code))

    @strawberry.field(description="The holder (a read of person data: logged).")
    @direct  # one call per posting on big pages: the executor skips strawberry's resolver glue
    def person(self, info: Ctx) -> Person | None:
        # Synchronous when the holder came with the posting (no awaitable per posting); otherwise the loader path,
        # returned as an awaitable that graphql-core awaits.
        r = self.holder
        if r is NOT_LOADED:
            return load_person(info, self.id_number, field="Posting.person")
        ctx = info.context
        refusal = ctx.person_read_refusal(None)
        if refusal is not None:
            raise Forbidden(refusal)
        if r is None:
            return None
        ctx.record_read(r.person_id_number, operation=ctx.operation_name(info), field="Posting.person", purpose=ctx.purpose)
        return Person(id_number=r.person_id_number, name=r.person_name, gender=r.person_gender, birth_date=r.person_birth_date,
                      education_value=r.person_education,
                      verified=(r.person_verified_name, r.person_identity_status, r.person_photo_sha256),
                      schooling=(r.person_degree, r.person_in_service_education, r.person_in_service_degree))


@strawberry.type(description="The identity as the police (公安) last verified it.")
class VerifiedIdentity:
    name: str | None
    status: str | None
    photo_sha256: str | None


@strawberry.type(description="One read of a person's data (who looked at whose record).")
class AccessEntry:
    at: datetime
    actor: str
    role: str
    id_number: str
    operation: str | None
    field: str
    purpose: str | None
    outcome: str | None = strawberry.field(description="null: the person was read; NOT_FOUND or OUT_OF_SCOPE: a lookup "
                                                        "that answered \"no such person\"; ACCEPTED, CLEAR, ALREADY_POSTED, "
                                                        "OPEN_APPLICATION or NOT_VERIFIED: what an onboarding submission "
                                                        "answered about the person it names.")

    @classmethod
    def from_row(cls, r: AccessLogRow) -> "AccessEntry":
        return cls(at=r.at, actor=r.actor, role=r.role, id_number=r.id_number, operation=r.operation, field=r.field,
                   purpose=r.purpose, outcome=r.outcome)


def access_entries(info: Ctx, *, id_number: str | None = None, actor: str | None = None, role: str | None = None,
                   since: datetime | None = None, until: datetime | None = None, first: int | None,
                   after: str | None) -> Connection[AccessEntry]:
    """A page of the access log, newest first (at, then the read's number, descending). One person's reads are the
    batches holding the ID number (one read each, found by the GIN index on PostgreSQL; ordered by batch: the same
    order), without expanding any batch; the whole log is read one row per read through the ``access_log`` view."""
    def where(t) -> list:  # the filters, on the batches or on the view (same column names)
        conditions = []
        if actor:
            conditions.append(t.actor == actor)
        if role:
            conditions.append(t.role == role)
        if since:
            conditions.append(t.at >= since)
        if until:
            conditions.append(t.at < until)
        return conditions

    b = AccessLogBatchRow
    if id_number is not None:
        q = select(b.at, b.actor, b.role, b.operation, b.field, b.purpose, b.outcome).where(b.holds(id_number),
                                                                                           *where(b))
        make = lambda r: AccessEntry(at=r.at, actor=r.actor, role=r.role, id_number=id_number,  # noqa: E731
                                     operation=r.operation, field=r.field, purpose=r.purpose, outcome=r.outcome)
        return paged(info, q, (b.at.desc(), b.id.desc()), first, after, make, scalars=False)
    # the total from the batches' array lengths: counting the view would expand every batch
    total = select(func.coalesce(func.sum(b.reads()), 0)).where(*where(b))
    return paged(info, select(AccessLogRow).where(*where(AccessLogRow)), AccessLogRow.NEWEST_FIRST, first, after,
                 AccessEntry.from_row, total=total)


@strawberry.type(description="A person in the registry, by citizen ID number.")
class Person:
    id_number: str
    name: str
    gender: str
    birth_date: date
    education_value: strawberry.Private[str | None]
    verified: strawberry.Private[tuple]
    as_of: strawberry.Private[date | None] = None
    schooling: strawberry.Private[tuple] = (None, None, None)  # degree, in-service education, in-service degree

    @classmethod
    def from_row(cls, r, as_of: date | None = None) -> "Person":
        return cls(id_number=r.id_number, name=r.name, gender=r.gender, birth_date=r.birth_date, education_value=r.education,
                   verified=(getattr(r, "verified_name", None), getattr(r, "identity_status", None), getattr(r, "photo_sha256", None)),
                   as_of=as_of, schooling=tuple(getattr(r, k, None) for k in ("degree", "in_service_education", "in_service_degree")))

    @strawberry.field(description="全日制教育 学历 (full-time education).")
    def education(self, info: Ctx) -> Education | None:
        check(info, "Person.education")
        return v.Education(self.education_value) if self.education_value else None

    @strawberry.field(description="全日制教育 学位 (the degree of the full-time education).")
    def degree(self, info: Ctx) -> Degree | None:
        check(info, "Person.education")
        return v.Degree(self.schooling[0]) if self.schooling[0] else None

    @strawberry.field(description="在职教育 学历 (in-service education).")
    def in_service_education(self, info: Ctx) -> Education | None:
        check(info, "Person.education")
        return v.Education(self.schooling[1]) if self.schooling[1] else None

    @strawberry.field(description="在职教育 学位 (an in-service degree, e.g. on equivalent qualifications 同等学力).")
    def in_service_degree(self, info: Ctx) -> Degree | None:
        check(info, "Person.education")
        return v.Degree(self.schooling[2]) if self.schooling[2] else None

    @strawberry.field(description="Postings, oldest first (those held on asOf when read as of a date).")
    async def postings(self, info: Ctx) -> list[Posting]:
        check(info, "Person.postings")
        rows = await info.context.loaders.postings_of_person.load(self.id_number)
        if self.as_of:
            rows = [r for r in rows if r.start_date <= self.as_of and (r.end_date is None or r.end_date > self.as_of)]
        return [Posting.from_row(r) for r in rows]

    @strawberry.field
    def verified_identity(self, info: Ctx) -> VerifiedIdentity:
        check(info, "Person.verifiedIdentity")
        return VerifiedIdentity(name=self.verified[0], status=self.verified[1], photo_sha256=self.verified[2])

    @strawberry.field(description="Who read this person's record, newest first (answers 'who looked at my record').")
    def access_history(self, info: Ctx, first: int | None = None, after: str | None = None) -> Connection[AccessEntry]:
        check(info, "Person.accessHistory")
        return access_entries(info, id_number=self.id_number, first=first, after=after)


async def load_person(info: Ctx, id_number: str, *, field: str, purpose: str | None = None,
                      with_postings: bool = False) -> Person | None:
    """Load a person for a caller allowed to read persons, enforcing purpose and writing the access log.
    ``with_postings``: the person's postings and their units will be read too — one statement reads all three.

    No membership oracle: a person outside the caller's scope (for a UNIT token, anyone not actively posted in its
    unit) is answered exactly as an unknown number — None, no error — and both are written to the access log
    (outcome OUT_OF_SCOPE / NOT_FOUND) with the same statements, so neither the answer nor the work tells them apart."""
    ctx = info.context
    role = ctx.principal.role
    refusal = ctx.person_read_refusal(purpose)
    if refusal is not None:
        raise Forbidden(refusal)
    purpose = purpose or ctx.purpose
    operation = ctx.operation_name(info)
    if with_postings:
        ctx.loaders.prime_person(id_number)
    if role is v.Role.UNIT:
        # the person and their postings, read alike whether or not the person exists
        row, posts = await asyncio.gather(ctx.loaders.person.load(id_number), ctx.loaders.postings_of_person.load(id_number))
        if row is not None and not any(p.active and p.unit_code == ctx.principal.unit_code for p in posts):
            ctx.record_read(id_number, operation=operation, field=field, purpose=purpose, outcome=access.OUT_OF_SCOPE)
            return None
    else:
        row = await ctx.loaders.person.load(id_number)
    if row is None:
        ctx.record_read(id_number, operation=operation, field=field, purpose=purpose, outcome=access.NOT_FOUND)
        return None
    ctx.record_read(id_number, operation=operation, field=field, purpose=purpose)
    return Person.from_row(row)


@strawberry.type(description="A mismatch between the registry and a partner's view (contract section 7).")
class Mismatch:
    id: strawberry.ID
    kind: MismatchKind
    class_: MismatchClass = strawberry.field(name="class", description="管理预警 (WARNING) or 比对疑点 (DISCREPANCY), by kind.")
    status: MismatchStatus
    subject: str
    source: str | None
    detected_at: datetime
    resolved_at: datetime | None
    details: JSON | None
    caused_by: list[str]
    unit_code: strawberry.Private[str]

    @strawberry.field
    async def unit(self, info: Ctx) -> Unit | None:
        if not self.unit_code:
            return None
        row = await info.context.loaders.unit.load(self.unit_code)
        return Unit.from_row(row) if row else None

    @classmethod
    def from_data(cls, d: dict) -> "Mismatch":
        """From a mismatch's data (the event's `data` shape) as the caller may receive it (hub/api/disclosure.py)."""
        parse = lambda t: datetime.fromisoformat(t.replace("Z", "+00:00")) if isinstance(t, str) else t  # noqa: E731
        return cls(id=strawberry.ID(d["mismatch_id"]), kind=v.MismatchKind(d["kind"]),
                   class_=v.MismatchClass(d.get("class") or v.mismatch_class(d["kind"])), status=v.MismatchStatus(d["status"]),
                   subject=d["subject"], source=d.get("source"), detected_at=parse(d["detected_at"]),
                   resolved_at=parse(d.get("resolved_at")), details=d.get("details"),
                   caused_by=list(d.get("caused_by") or []), unit_code=d.get("unit_code") or "")


@strawberry.input
class UnitFilter:
    kind: UnitKind | None = None
    level: UnitLevel | None = None
    region_code: str | None = None
    parent_code: str | None = None
    funding: Funding | None = None
    name_contains: str | None = strawberry.field(default=None, description="Name search (substring).")
    over_quota_only: bool = strawberry.field(default=False, description="Only units with an open OVER_QUOTA (超编预警).")


@strawberry.input
class MismatchFilter:
    kinds: list[MismatchKind] | None = None
    class_: MismatchClass | None = strawberry.field(default=None, name="class",
                                                    description="Only warnings (管理预警) or only discrepancies (比对疑点).")
    status: MismatchStatus | None = None
    unit_code: str | None = None
    subject: str | None = None
    source: str | None = None


@strawberry.input
class PersonFilter:
    name_contains: str | None = None
    unit_code: str | None = strawberry.field(default=None, description="Persons with an active posting in this unit.")
    posted: bool | None = strawberry.field(default=None, description="true: with an active posting; false: without.")


@strawberry.input
class AccessLogFilter:
    id_number: str | None = None
    actor: str | None = None
    role: Role | None = None
    since: datetime | None = None
    until: datetime | None = None
