"""The GraphQL schema partners rely on (contract section 8). Types are separate from ORM rows."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry
from sqlalchemy import func, select
from strawberry.scalars import JSON
from strawberry.types import Info

from hub.adapters.jsonutil import loads
from hub.adapters.orm import LeaderQuotaRow, MismatchRow, PersonRow, PostingRow, QuotaRow, UnitRow
from hub.api.context import Forbidden, HubContext
from hub.api.pagination import Edge, PageInfo, encode_cursor, page_window
from hub.domain import vocabulary as v
from hub.domain.identifiers import InvalidIdentifier, mask_id_number, parse_id_number, parse_unit_code

UnitKind = strawberry.enum(v.UnitKind)
UnitLevel = strawberry.enum(v.UnitLevel)
Funding = strawberry.enum(v.Funding)
QuotaCategory = strawberry.enum(v.QuotaCategory)
LeaderRank = strawberry.enum(v.LeaderRank)
MismatchKind = strawberry.enum(v.MismatchKind)
MismatchStatus = strawberry.enum(v.MismatchStatus)
UnitStatus = strawberry.enum(v.UnitStatus)

PERSON_READERS = {v.Role.ADMIN, v.Role.AUDITOR, v.Role.POLICE, v.Role.HR, v.Role.FINANCE, v.Role.INSURANCE,
                  v.Role.ORGANIZATION, v.Role.UNIT}
MISMATCH_READERS = {v.Role.ADMIN, v.Role.AUDITOR, v.Role.MONITOR, v.Role.POLICE, v.Role.HR, v.Role.FINANCE,
                    v.Role.INSURANCE, v.Role.ORGANIZATION, v.Role.UNIT}

Ctx = Info[HubContext, None]


@strawberry.type(description="Approved quota slots (编制) in one category and how many are used.")
class Quota:
    category: QuotaCategory
    approved: int
    used: int

    @strawberry.field
    def available(self) -> int:
        return self.approved - self.used


@strawberry.type(description="Approved leadership positions (领导职数) of one rank and how many are filled.")
class LeaderQuota:
    rank: LeaderRank
    approved: int
    used: int

    @strawberry.field
    def available(self) -> int:
        return self.approved - self.used


@strawberry.type(description="A unit (机构), identified by its unified social credit code.")
class Unit:
    code: str
    name: str
    kind: UnitKind
    level: UnitLevel
    funding: Funding
    region_code: str
    status: UnitStatus
    parent_code: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, r: UnitRow) -> "Unit":
        return cls(code=r.code, name=r.name, kind=v.UnitKind(r.kind), level=v.UnitLevel(r.level),
                   funding=v.Funding(r.funding), region_code=r.region_code, status=v.UnitStatus(r.status),
                   parent_code=r.parent_code)

    @strawberry.field
    def parent(self, info: Ctx) -> Unit | None:
        return load_unit(info, self.parent_code) if self.parent_code else None

    @strawberry.field(description="Quota per category: approved, used (active postings) and available.")
    def quotas(self, info: Ctx) -> list[Quota]:
        with info.context.db.read_session() as s:
            approved = dict(s.execute(select(QuotaRow.category, QuotaRow.approved).where(QuotaRow.unit_code == self.code)).all())
            used = dict(s.execute(select(PostingRow.category, func.count()).where(PostingRow.unit_code == self.code, PostingRow.active)
                                  .group_by(PostingRow.category)).all())
        cats = sorted(set(approved) | set(used))
        return [Quota(category=v.QuotaCategory(c), approved=approved.get(c, 0), used=used.get(c, 0)) for c in cats]

    @strawberry.field(description="Leadership positions per rank: approved, used and available.")
    def leader_quotas(self, info: Ctx) -> list[LeaderQuota]:
        with info.context.db.read_session() as s:
            approved = dict(s.execute(select(LeaderQuotaRow.rank, LeaderQuotaRow.approved).where(LeaderQuotaRow.unit_code == self.code)).all())
            used = dict(s.execute(select(PostingRow.leader_rank, func.count()).where(
                PostingRow.unit_code == self.code, PostingRow.active, PostingRow.leader_rank.is_not(None))
                .group_by(PostingRow.leader_rank)).all())
        ranks = sorted(set(approved) | set(used))
        return [LeaderQuota(rank=v.LeaderRank(r), approved=approved.get(r, 0), used=used.get(r, 0)) for r in ranks]

    @strawberry.field(description="Actual headcount: active postings in the unit (实有人数).")
    def headcount(self, info: Ctx) -> int:
        with info.context.db.read_session() as s:
            return s.scalar(select(func.count()).select_from(PostingRow).where(PostingRow.unit_code == self.code, PostingRow.active)) or 0


@strawberry.type(description="A person holding a slot (在编) in a unit.")
class Posting:
    category: QuotaCategory
    leader_rank: LeaderRank | None
    start_date: date
    end_date: date | None
    active: bool
    unit_code: strawberry.Private[str]

    @strawberry.field
    def unit(self, info: Ctx) -> Unit:
        return load_unit(info, self.unit_code)


@strawberry.type(description="A person in the registry, by citizen ID number.")
class Person:
    id_number: str
    name: str
    gender: str
    birth_date: date

    @strawberry.field
    def postings(self, info: Ctx) -> list[Posting]:
        with info.context.db.read_session() as s:
            rows = s.execute(select(PostingRow).where(PostingRow.id_number == self.id_number).order_by(PostingRow.start_date, PostingRow.id)).scalars().all()
        return [Posting(category=v.QuotaCategory(r.category), leader_rank=v.LeaderRank(r.leader_rank) if r.leader_rank else None,
                        start_date=r.start_date, end_date=r.end_date, active=r.active, unit_code=r.unit_code) for r in rows]


@strawberry.type(description="A mismatch between the registry and a partner's view (contract section 7).")
class Mismatch:
    id: strawberry.ID
    kind: MismatchKind
    status: MismatchStatus
    subject: str
    source: str | None
    detected_at: datetime
    resolved_at: datetime | None
    details: JSON | None
    unit_code: strawberry.Private[str]

    @strawberry.field
    def unit(self, info: Ctx) -> Unit | None:
        return load_unit(info, self.unit_code) if self.unit_code else None


@strawberry.type
class UnitConnection:
    edges: list[Edge[Unit]]
    page_info: PageInfo
    total_count: int


@strawberry.type
class MismatchConnection:
    edges: list[Edge[Mismatch]]
    page_info: PageInfo
    total_count: int


@strawberry.input
class UnitFilter:
    kind: UnitKind | None = None
    level: UnitLevel | None = None
    region_code: str | None = None
    parent_code: str | None = None
    funding: Funding | None = None
    name_contains: str | None = None


@strawberry.input
class MismatchFilter:
    kinds: list[MismatchKind] | None = None
    status: MismatchStatus | None = None
    unit_code: str | None = None
    subject: str | None = None


def load_unit(info: Ctx, code: str) -> Unit | None:
    cache = info.context.loaders.setdefault("unit", {})
    if code not in cache:
        with info.context.db.read_session() as s:
            row = s.get(UnitRow, code)
        cache[code] = Unit.from_row(row) if row else None
    return cache[code]


def _mismatch(row: MismatchRow, masked: bool) -> Mismatch:
    details = loads(row.details)
    subject = row.subject
    if masked and row.kind not in {k.value for k in v.UNIT_LEVEL_KINDS}:
        subject = mask_id_number(subject)
        details = _mask_details(details)
    return Mismatch(id=strawberry.ID(row.id), kind=v.MismatchKind(row.kind), status=v.MismatchStatus(row.status),
                    subject=subject, source=row.source, detected_at=row.detected_at, resolved_at=row.resolved_at,
                    details=details, unit_code=row.unit_code)


def _mask_details(obj):
    if isinstance(obj, dict):
        return {k: _mask_details(x) for k, x in obj.items()}
    if isinstance(obj, list):
        return [_mask_details(x) for x in obj]
    if isinstance(obj, str) and len(obj) == 18:
        try:
            return mask_id_number(parse_id_number(obj).value)
        except InvalidIdentifier:
            return obj
    return obj


@strawberry.type
class Query:
    @strawberry.field(description="A unit by its unified social credit code.")
    def unit(self, info: Ctx, code: str) -> Unit | None:
        try:
            code = parse_unit_code(code)
        except InvalidIdentifier as e:
            raise ValueError(str(e)) from None
        return load_unit(info, code)

    @strawberry.field(description="Units, filtered, as a Relay connection.")
    def units(self, info: Ctx, filter: UnitFilter | None = None, first: int | None = None, after: str | None = None) -> UnitConnection:
        offset, limit = page_window(first, after)
        q = select(UnitRow)
        if filter:
            for col, val in ((UnitRow.kind, filter.kind), (UnitRow.level, filter.level), (UnitRow.funding, filter.funding)):
                if val is not None:
                    q = q.where(col == val.value)
            if filter.region_code:
                q = q.where(UnitRow.region_code == filter.region_code)
            if filter.parent_code:
                q = q.where(UnitRow.parent_code == filter.parent_code)
            if filter.name_contains:
                q = q.where(UnitRow.name.contains(filter.name_contains))
        with info.context.db.read_session() as s:
            total = s.scalar(select(func.count()).select_from(q.subquery()))
            rows = s.execute(q.order_by(UnitRow.code).offset(offset).limit(limit)).scalars().all()
        edges = [Edge(cursor=encode_cursor(offset + i), node=Unit.from_row(r)) for i, r in enumerate(rows)]
        return UnitConnection(edges=edges, total_count=total, page_info=PageInfo(
            has_next_page=offset + len(rows) < total, has_previous_page=offset > 0,
            start_cursor=edges[0].cursor if edges else None, end_cursor=edges[-1].cursor if edges else None))

    @strawberry.field(description="A person by citizen ID number (partners: lookup only; every read is logged).")
    def person(self, info: Ctx, id_number: str) -> Person | None:
        if info.context.principal.role not in PERSON_READERS:
            raise Forbidden(f"role {info.context.principal.role.value} may not read persons")
        try:
            idn = parse_id_number(id_number).value
        except InvalidIdentifier as e:
            raise ValueError(str(e)) from None
        with info.context.db.read_session() as s:
            r = s.get(PersonRow, idn)
        return Person(id_number=r.id_number, name=r.name, gender=r.gender, birth_date=r.birth_date) if r else None

    @strawberry.field(description="Mismatches, newest first; MONITOR sees ID numbers masked.")
    def mismatches(self, info: Ctx, filter: MismatchFilter | None = None, first: int | None = None,
                   after: str | None = None) -> MismatchConnection:
        role = info.context.principal.role
        if role not in MISMATCH_READERS:
            raise Forbidden(f"role {role.value} may not read mismatches")
        offset, limit = page_window(first, after)
        q = select(MismatchRow)
        if filter:
            if filter.kinds:
                q = q.where(MismatchRow.kind.in_([k.value for k in filter.kinds]))
            if filter.status:
                q = q.where(MismatchRow.status == filter.status.value)
            if filter.unit_code:
                q = q.where(MismatchRow.unit_code == filter.unit_code)
            if filter.subject:
                q = q.where(MismatchRow.subject == filter.subject.upper())
        if role is v.Role.UNIT:
            q = q.where(MismatchRow.unit_code == info.context.principal.unit_code)
        with info.context.db.read_session() as s:
            total = s.scalar(select(func.count()).select_from(q.subquery()))
            rows = s.execute(q.order_by(MismatchRow.detected_at.desc(), MismatchRow.id).offset(offset).limit(limit)).scalars().all()
        masked = role is v.Role.MONITOR
        edges = [Edge(cursor=encode_cursor(offset + i), node=_mismatch(r, masked)) for i, r in enumerate(rows)]
        return MismatchConnection(edges=edges, total_count=total, page_info=PageInfo(
            has_next_page=offset + len(rows) < total, has_previous_page=offset > 0,
            start_cursor=edges[0].cursor if edges else None, end_cursor=edges[-1].cursor if edges else None))


schema = strawberry.Schema(query=Query)
