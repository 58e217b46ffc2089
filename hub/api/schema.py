"""The GraphQL schema partners rely on (contract section 8): queries, mutations, subscriptions."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime
from typing import Annotated, AsyncGenerator

import strawberry
from sqlalchemy import func, select
from strawberry.scalars import JSON

from hub.adapters import history
from hub.adapters.jsonutil import loads
from hub.adapters.orm import (
    ComparisonRow,
    MismatchRow,
    OutboxRow,
    PersonRow,
    PersonVersionRow,
    PostingRow,
    UnitRow,
    UnitVersionRow,
)
from hub.contract.topics import MISMATCHES_TOPIC, UPDATES_TOPIC
from hub.service_layer.mismatches import mismatch_data
from hub.api import access, disclosure
from hub.api.context import Forbidden, TokenRevoked
from hub.api.errors import clean_text
from hub.api.mutations import Mutation as RegistryMutation
from hub.api.pagination import page_window
from hub.api.types import (
    AccessEntry,
    access_entries,
    AccessLogFilter,
    Connection,
    Ctx,
    Mismatch,
    MismatchFilter,
    Person,
    PersonFilter,
    Unit,
    UnitFilter,
    UnitLevel,
    _selection,
    check,
    connection,
    load_person,
    paged,
)
from hub.domain import vocabulary as v
from hub.domain.identifiers import InvalidIdentifier, parse_id_number, parse_unit_code
from hub.domain.registry import headcount_consistent, headcount_judged
from hub.domain.vocabulary import mismatch_class
from hub.service_layer.establishment import establishments
from hub.domain.calendar import office_today


def _unit_code(code: str) -> str:
    try:
        return parse_unit_code(code)
    except InvalidIdentifier as e:
        raise ValueError(str(e)) from None


def _id_number(idn: str) -> str:
    try:
        return parse_id_number(idn).value
    except InvalidIdentifier as e:
        raise ValueError(str(e)) from None


@strawberry.type(description="Approved, used and available per category or rank (用编余量).")
class EstablishmentLine:
    name: str
    approved: int
    used: int
    available: int
    reserved: int = 0


@strawberry.type(description="Establishment summary of a region and level: use per category and rank, over-quota units (超编预警).")
class EstablishmentSummary:
    units: int
    categories: list[EstablishmentLine]
    leader_ranks: list[EstablishmentLine]
    over_quota_units: list[Unit]


@strawberry.type
class Count:
    key: str
    count: int


@strawberry.type(description="Mismatch counts by kind, status, source and unit.")
class MismatchStats:
    total: int
    by_kind: list[Count]
    by_class: list[Count] = strawberry.field(description="WARNING (管理预警) and DISCREPANCY (比对疑点) counts.")
    by_status: list[Count]
    by_source: list[Count]
    by_unit: list[Count]


@strawberry.type(description="三数一致 for one unit and period: approved quota, actual and fiscally paid headcount.")
class HeadcountLine:
    unit: Unit
    approved: int
    actual: int
    paid: int = strawberry.field(description="Establishment staff paid (编内): 编外 staff and retirees apart.")
    consistent: bool
    paid_non_establishment: int = strawberry.field(
        default=0, description="Paid outside the establishment: 编外 staff of the unit and its retirees (not in 三数一致).")


@strawberry.type(description="A monthly full comparison run (全库比对) and its summary.")
class Comparison:
    id: strawberry.ID
    source: str
    period: str
    status: str
    file_name: str
    started_at: datetime
    finished_at: datetime | None
    summary: JSON | None
    error: str | None

    @classmethod
    def from_row(cls, r: ComparisonRow) -> "Comparison":
        return cls(id=strawberry.ID(r.id), source=r.source, period=r.period, status=r.status, file_name=r.file_name,
                   started_at=r.started_at, finished_at=r.finished_at, summary=loads(r.summary), error=r.error)


@strawberry.type(description="A report of the catalogue (统计报表): its name, title, purpose, parameters and columns.")
class ReportInfo:
    name: str
    title: str
    purpose: str
    params: JSON
    columns: list[str]


@strawberry.type(description="A report's result: column names (the CSV header) and rows, each a list of cells.")
class ReportTable:
    name: str
    title: str
    columns: list[str]
    labels: list[str]
    rows: JSON
    generated_on: date


@strawberry.type(description="A committed registry change (registry.updates.v1).")
class RegistryUpdate:
    id: strawberry.ID
    type: str
    subject: str | None
    time: datetime
    data: JSON


def _caller_region(info: Ctx) -> str | None:
    """The region a district ADMIN token is bound to (it lists only there), else None."""
    p = info.context.principal
    return p.region_code if p.role is v.Role.ADMIN else None


def _in_caller_region(info: Ctx, q):
    """A query over units, narrowed to the caller's region (district ADMIN)."""
    region = _caller_region(info)
    return q if region is None else q.where(UnitRow.region_code == region)


def _units_in_caller_region(info: Ctx):
    """The codes of the units in the caller's region, as a subquery; None when the caller is not bound to one."""
    region = _caller_region(info)
    return None if region is None else select(UnitRow.code).where(UnitRow.region_code == region)


def _unit_query(f: UnitFilter | None):
    q = select(UnitRow)
    if f:
        for col, val in ((UnitRow.kind, f.kind), (UnitRow.level, f.level), (UnitRow.funding, f.funding)):
            if val is not None:
                q = q.where(col == val.value)
        if f.region_code:
            q = q.where(UnitRow.region_code == f.region_code)
        if f.parent_code:
            q = q.where(UnitRow.parent_code == _unit_code(f.parent_code))
        if f.name_contains:
            q = q.where(UnitRow.name.contains(f.name_contains, autoescape=True))
        if f.over_quota_only:
            q = q.where(UnitRow.code.in_(select(MismatchRow.subject).where(
                MismatchRow.kind == "OVER_QUOTA", MismatchRow.status == "OPEN")))
    return q


def _mismatch_query(info: Ctx, f: MismatchFilter | None):
    """The mismatches this caller may see (scope, masking rules: hub/api/disclosure.py), narrowed to the filter and to
    a district office's region."""
    q = disclosure.mismatch_scope(select(MismatchRow), info.context.principal, f)
    region_units = _units_in_caller_region(info)
    if region_units is not None:
        q = q.where(MismatchRow.unit_code.in_(region_units))
    return q


class _RegionUnits:
    """A district office's units for a subscription: read once, read again for a unit code not seen yet (a unit may
    have been created in the region since)."""

    def __init__(self, info: Ctx):
        self.info, self.query, self.codes, self.elsewhere = info, _units_in_caller_region(info), None, set()
        if self.query is not None:
            self._read()

    def _read(self) -> None:
        with self.info.context.db.read_session() as s:
            self.codes = set(s.execute(self.query).scalars())

    def admits(self, code: str | None) -> bool:
        if self.query is None or code in self.codes:
            return True
        if code and code not in self.elsewhere:
            self._read()
            if code in self.codes:
                return True
            self.elsewhere.add(code)
        return False


@strawberry.type
class Query:
    @strawberry.field(description="A unit by its unified social credit code; `asOf` reads it as it was on that date.")
    async def unit(self, info: Ctx, code: str, as_of: date | None = None) -> Unit | None:
        code = _unit_code(code)
        if as_of is None:
            row = await info.context.loaders.unit.load(code)
            return Unit.from_row(row) if row else None
        with info.context.db.read_session() as s:
            row = history.version_as_of(s, UnitVersionRow, key={"unit_code": code}, on=as_of)
        return Unit.from_row(row, as_of=as_of) if row else None

    @strawberry.field(description="Units, filtered, as a Relay connection ordered by code.")
    def units(self, info: Ctx, filter: UnitFilter | None = None, first: int | None = None, after: str | None = None) -> Connection[Unit]:
        return paged(info, _in_caller_region(info, _unit_query(filter)), (UnitRow.code,), first, after, Unit.from_row)

    @strawberry.field(description="A person by citizen ID number (partners: lookup only, with a purpose; every read is logged).")
    async def person(self, info: Ctx, id_number: str, as_of: date | None = None,
                     purpose: Annotated[str | None, strawberry.argument(description="Case or document reference (or the X-Purpose header).")] = None) -> Person | None:
        idn = _id_number(id_number)
        # Postings (and their units) come in the person's statement only when asked for and readable by this role.
        with_postings = ("postings" in _selection(info).get("", ())
                         and access.allowed("Person.postings", info.context.principal.role))
        person = await load_person(info, idn, field="Query.person", purpose=purpose, with_postings=with_postings)
        if person is None or as_of is None:
            return person
        with info.context.db.read_session() as s:
            ver = history.version_as_of(s, PersonVersionRow, key={"id_number": idn}, on=as_of)
        if ver is None:
            return None
        return Person.from_row(ver, as_of=as_of)

    @strawberry.field(description="Persons (ADMIN and AUDITOR only); every person returned is logged as read.")
    def persons(self, info: Ctx, filter: PersonFilter | None = None, first: int | None = None, after: str | None = None) -> Connection[Person]:
        check(info, "Query.persons")
        q = select(PersonRow)
        if filter:
            if filter.name_contains:
                q = q.where(PersonRow.name.contains(filter.name_contains, autoescape=True))
            active = select(PostingRow.id_number).where(PostingRow.active)
            if filter.unit_code:
                q = q.where(PersonRow.id_number.in_(active.where(PostingRow.unit_code == _unit_code(filter.unit_code))))
            if filter.posted is True:
                q = q.where(PersonRow.id_number.in_(active))
            elif filter.posted is False:
                q = q.where(PersonRow.id_number.not_in(active))
        region_units = _units_in_caller_region(info)
        if region_units is not None:  # a district office lists the persons posted in its region
            q = q.where(PersonRow.id_number.in_(select(PostingRow.id_number).where(
                PostingRow.active, PostingRow.unit_code.in_(region_units))))
        result = paged(info, q, (PersonRow.id_number,), first, after, Person.from_row)
        ctx = info.context
        for e in result.edges:
            ctx.record_read(e.node.id_number, operation=ctx.operation_name(info), field="Query.persons", purpose=ctx.purpose)
        return result

    @strawberry.field(description="Mismatches, newest first. MONITOR sees ID numbers masked; partners see their source's; UNIT its unit's.")
    def mismatches(self, info: Ctx, filter: MismatchFilter | None = None, first: int | None = None, after: str | None = None) -> Connection[Mismatch]:
        check(info, "Query.mismatches")
        ctx = info.context
        operation = ctx.operation_name(info)
        return paged(info, _mismatch_query(info, filter),
                     (MismatchRow.detected_at.desc(), MismatchRow.id), first, after,
                     lambda r: Mismatch.from_data(disclosure.mismatch_for(ctx, mismatch_data(r), operation=operation)))

    @strawberry.field(description="Mismatch counts by kind, status, source and unit (top 50 units).")
    def mismatch_stats(self, info: Ctx, filter: MismatchFilter | None = None) -> MismatchStats:
        check(info, "Query.mismatchStats")
        base = _mismatch_query(info, filter).subquery()
        with info.context.db.read_session() as s:
            def group(col, limit=None):
                q = select(col, func.count()).select_from(base).group_by(col).order_by(func.count().desc(), col)
                return [Count(key=str(k or ""), count=n) for k, n in s.execute(q.limit(limit) if limit else q).all()]
            total = s.scalar(select(func.count()).select_from(base))
            by_kind = group(base.c.kind)
            classes: dict[str, int] = {}
            for c in by_kind:
                cls = mismatch_class(c.key).value
                classes[cls] = classes.get(cls, 0) + c.count
            by_class = [Count(key=k, count=n) for k, n in sorted(classes.items(), key=lambda kv: (-kv[1], kv[0]))]
            return MismatchStats(total=total, by_kind=by_kind, by_class=by_class, by_status=group(base.c.status),
                                 by_source=group(base.c.source), by_unit=group(base.c.unit_code, 50))

    @strawberry.field(description="Approved / used / available per category and leader rank, and the over-quota units.")
    def establishment_summary(self, info: Ctx, region_code: str | None = None, level: UnitLevel | None = None) -> EstablishmentSummary:
        check(info, "Query.establishmentSummary")
        units = select(UnitRow.code).where(UnitRow.status == "ACTIVE")
        if region_code:
            units = units.where(UnitRow.region_code == region_code)
        if level:
            units = units.where(UnitRow.level == level.value)
        units = _in_caller_region(info, units)
        with info.context.db.read_session() as s:
            codes = list(s.execute(units).scalars())
            est = establishments(s, codes, today=office_today()).values()
            over = s.execute(select(UnitRow).where(UnitRow.code.in_(units), UnitRow.code.in_(select(MismatchRow.subject).where(
                MismatchRow.kind == "OVER_QUOTA", MismatchRow.status == "OPEN"))).order_by(UnitRow.code)).scalars().all()

        def line(name: str, approved: int, used: int, reserved: int = 0) -> EstablishmentLine:
            return EstablishmentLine(name=name, approved=approved, used=used, reserved=reserved,
                                     available=approved - used - reserved)
        return EstablishmentSummary(
            units=len(codes),
            categories=[line(c.value, sum(e.approved.get(c, 0) for e in est), sum(e.used.get(c, 0) for e in est),
                             sum(e.reserved.get(c, 0) for e in est)) for c in v.QuotaCategory],
            leader_ranks=[line(r.value, sum(e.leaders_approved.get(r, 0) for e in est),
                               sum(e.leaders_used.get(r, 0) for e in est)) for r in v.LeaderRank],
            over_quota_units=[Unit.from_row(u) for u in over])

    @strawberry.field(description="三数一致 per fiscally funded unit for a period: approved, actual, paid (finance's latest view).")
    def headcount_consistency(self, info: Ctx, period: str, region_code: str | None = None, inconsistent_only: bool = False,
                              first: int | None = None, after: str | None = None) -> Connection[HeadcountLine]:
        check(info, "Query.headcountConsistency")
        from hub.domain.registry import FISCAL_FUNDING
        from hub.service_layer.comparison.absences import headcount_facts
        from hub.service_layer.comparison.sources import PERIOD

        if not PERIOD.match(period):
            raise ValueError(f"period {period!r} must be YYYY-MM")
        offset, limit = page_window(first, after)
        with info.context.db.read_session() as s:
            q = select(UnitRow).where(UnitRow.funding.in_(FISCAL_FUNDING))  # every unit headcount_judged judges
            if region_code:
                q = q.where(UnitRow.region_code == region_code)
            units = [u for u in s.execute(_in_caller_region(info, q).order_by(UnitRow.code)).scalars()
                     if headcount_judged(u.funding)]
            facts = headcount_facts(s, units, period, office_today())
        lines = []
        for u in units:
            a, n, p, o = facts[u.code]
            ok = headcount_consistent(a, n, p)
            if inconsistent_only and ok:
                continue
            lines.append((u, a, n, p, ok, o))
        page = lines[offset:offset + limit]
        return connection(page, len(lines), offset, lambda t: HeadcountLine(
            unit=Unit.from_row(t[0]), approved=t[1], actual=t[2], paid=t[3], consistent=t[4], paid_non_establishment=t[5]))

    @strawberry.field(description="The reports this caller may run (statistics, ledgers; docs/reports.md).")
    def reports(self, info: Ctx) -> list[ReportInfo]:
        from hub import reports as catalogue

        role = info.context.principal.role
        return [ReportInfo(name=r.name, title=r.title, purpose=r.purpose, params=[p.describe() for p in r.params],
                           columns=[c.key for c in r.columns])
                for r in catalogue.catalogue().values() if role in r.roles]

    @strawberry.field(description="Run a report: `params` is an object of its parameters (strings or numbers). A district "
                                  "ADMIN sees its district; MONITOR sees ID numbers masked; persons listed are logged as read.")
    def report(self, info: Ctx, name: str, params: JSON | None = None) -> ReportTable:
        from hub import reports as catalogue

        ctx = info.context
        p = ctx.principal
        if params is not None and not isinstance(params, dict):
            raise ValueError("params must be an object of parameter names and values")
        report = catalogue.get(name)
        if p.role not in report.roles:
            raise Forbidden(f"role {p.role.value} may not read report {report.name}")
        if report.person_level and p.role not in access.MASKED:
            refusal = ctx.person_read_refusal(None)
            if refusal:
                raise Forbidden(refusal)
        raw = {k: (str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v)
               for k, v in (params or {}).items()}
        if any(v is not None and not isinstance(v, str) for v in raw.values()):
            raise ValueError("report parameters are strings or numbers")
        caller = catalogue.Caller(name=p.name, role=p.role, unit_code=p.unit_code, region_code=p.region_code)
        with ctx.db.read_session() as s:
            table, reads = catalogue.run(report, s, raw, caller=caller, calendar=ctx.calendar)
        operation = ctx.operation_name(info)
        for idn in reads:
            ctx.record_read(idn, operation=operation, field=f"Report.{report.name}", purpose=ctx.purpose)
        return ReportTable(name=table.name, title=table.title, columns=table.columns, labels=table.labels,
                           rows=[[c.isoformat() if isinstance(c, (date, datetime)) else c for c in r] for r in table.rows],
                           generated_on=table.generated_on)

    @strawberry.field(description="The access log: every read of person data (AUDITOR and ADMIN).")
    def access_log(self, info: Ctx, filter: AccessLogFilter | None = None, first: int | None = None, after: str | None = None) -> Connection[AccessEntry]:
        check(info, "Query.accessLog")
        f = filter or AccessLogFilter()
        return access_entries(info, id_number=f.id_number.strip().upper() if f.id_number else None, actor=f.actor,
                              role=f.role and f.role.value, since=f.since, until=f.until, first=first, after=after)

    @strawberry.field(description="A comparison run started with startComparison (or `hub compare`).")
    def comparison(self, info: Ctx, id: strawberry.ID) -> Comparison | None:
        check(info, "Query.comparison")
        with info.context.db.read_session() as s:
            r = s.get(ComparisonRow, str(id))
        return Comparison.from_row(r) if r else None


OUTBOX_PAGE = 1000
BATCH_MAX = 100_000  # events read before they are handed on, at most (a masked reader's batch is reordered whole)


async def _outbox_batches(info: Ctx, topic: str, poll_s: float = 0.2, *, whole_changes: bool = False):
    """Events committed after the subscription started, read from the outbox (the publish source of truth), as
    batches of what was committed since the last look. Ends with an UNAUTHENTICATED error once the subscription's
    token is revoked (seen within HUB_TOKEN_CACHE_S).

    ``whole_changes``: a batch never ends inside one committed change (its events share their ``time``), however
    large the change: a masked reader reorders each change whole, and a cut in outbox order would tell it where the
    change's ID-number order crosses the cut. The events of the change that follow a cut wait for the next batch."""
    ctx = info.context
    db = ctx.db
    with db.read_session() as s:
        last = s.scalar(select(func.max(OutboxRow.id))) or 0
    carried: list = []
    while True:
        if not ctx.still_authorized():
            raise TokenRevoked()
        batch, carried, complete = carried, [], False
        while len(batch) < BATCH_MAX or whole_changes and batch and batch[0]["time"] == batch[-1]["time"]:
            with db.read_session() as s:
                rows = s.execute(select(OutboxRow.id, OutboxRow.topic, OutboxRow.value).where(OutboxRow.id > last)
                                 .order_by(OutboxRow.id).limit(OUTBOX_PAGE)).all()
            for rid, t, value in rows:
                last = rid
                if t == topic:
                    batch.append(json.loads(value))
            if len(rows) < OUTBOX_PAGE:
                complete = True  # everything committed so far: no change is cut
                break
        if whole_changes and batch and not complete:
            cut = next(i for i, e in enumerate(batch) if e["time"] == batch[-1]["time"])
            batch, carried = batch[:cut], batch[cut:]
        if batch:
            yield batch
        elif not carried:
            await asyncio.sleep(poll_s)


_PURPOSE = Annotated[str | None, strawberry.argument(description="Case or document reference for the person data "
                                                                 "delivered (or X-Purpose in connection_init).")]


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Mismatches as they open and resolve: what `mismatches` would show this caller "
                                         "(MONITOR: masked; person data in details: purpose-bound and logged).")
    async def mismatch_events(self, info: Ctx, filter: MismatchFilter | None = None,
                              purpose: _PURPOSE = None) -> AsyncGenerator[Mismatch, None]:
        check(info, "Subscription.mismatchEvents")
        ctx = info.context
        if purpose:
            ctx.purpose = clean_text(purpose, "purpose")
        operation = ctx.operation_name(info)
        masked = ctx.principal.role in access.MASKED
        region = _RegionUnits(info)
        async for batch in _outbox_batches(info, MISMATCHES_TOPIC, whole_changes=masked):
            if masked:
                # One change announces its mismatches in an order that may follow the ID numbers (a sorted loop):
                # a masked reader gets each change's mismatches in mismatch-id (random) order instead.
                batch.sort(key=lambda e: (e["time"], e["data"]["mismatch_id"]))
            for event in batch:
                d = event["data"]
                if not disclosure.in_scope(ctx.principal, filter, d) or not region.admits(d.get("unit_code")):
                    continue
                view = disclosure.mismatch_for(ctx, d, operation=operation)
                if view is None:
                    continue
                ctx.flush_reads()  # the access log is written before the data goes out
                yield Mismatch.from_data(view)

    @strawberry.subscription(description="Committed registry changes (registry.updates.v1), ADMIN/AUDITOR/ORGANIZATION; "
                                         "person fields as the role may read them (purpose-bound, logged).")
    async def registry_updates(self, info: Ctx, types: list[str] | None = None,
                               purpose: _PURPOSE = None) -> AsyncGenerator[RegistryUpdate, None]:
        check(info, "Subscription.registryUpdates")
        ctx = info.context
        purpose = clean_text(purpose, "purpose") if purpose else None
        operation = ctx.operation_name(info)
        async for batch in _outbox_batches(info, UPDATES_TOPIC):
            for event in batch:
                if types and event["type"] not in types:
                    continue
                view = disclosure.registry_update_for(ctx, event, operation=operation, purpose=purpose)
                ctx.flush_reads()  # the access log is written before the data goes out
                yield RegistryUpdate(id=strawberry.ID(view["id"]), type=view["type"], subject=view.get("subject"),
                                     time=datetime.fromisoformat(view["time"].replace("Z", "+00:00")), data=view["data"])


# The registry's own edits and the workflows (contract section 9), one Query and one Mutation type.
from strawberry.tools import merge_types  # noqa: E402

from hub.api.supervision import SupervisionMutation, SupervisionQuery  # noqa: E402
from hub.api.workflows import WorkflowMutation, WorkflowQuery  # noqa: E402
from hub.api.evaluation import EvaluationMutation, EvaluationQuery  # noqa: E402  (issue 17: scorecards, evaluation)

Query = merge_types("Query", (Query, WorkflowQuery, SupervisionQuery, EvaluationQuery))
Mutation = merge_types("Mutation", (RegistryMutation, WorkflowMutation, SupervisionMutation, EvaluationMutation))
