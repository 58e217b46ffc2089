"""个人信息查询统计 Read-access summary: person reads in the access log by partner (token), role, purpose and field."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from hub.adapters.orm import AccessLogRow
from hub.domain.calendar import office_date, office_day_start
from hub.domain.vocabulary import Role
from hub.reports.base import Column, Param, Report, ReportError


def query(ctx):
    start, end = ctx.params["from"] or date(ctx.today.year, ctx.today.month, 1), ctx.params["to"] or ctx.today
    if end < start:
        raise ReportError(f"parameter to ({end}) is before from ({start})")
    q = (select(AccessLogRow.role, AccessLogRow.actor, AccessLogRow.purpose, AccessLogRow.field, func.count(),
                func.count(func.distinct(AccessLogRow.id_number)), func.min(AccessLogRow.at), func.max(AccessLogRow.at))
         .where(AccessLogRow.at >= office_day_start(start),
                AccessLogRow.at < office_day_start(end + timedelta(days=1)),
                AccessLogRow.outcome.is_(None))
         .group_by(AccessLogRow.role, AccessLogRow.actor, AccessLogRow.purpose, AccessLogRow.field))
    if ctx.params["role"]:
        q = q.where(AccessLogRow.role == ctx.params["role"])
    rows = [[role, actor, purpose or "", field, n, persons, office_date(first) if first else None,
             office_date(last) if last else None]
            for role, actor, purpose, field, n, persons, first, last in ctx.session.execute(q)]
    rows.sort(key=lambda r: (r[0], r[1], -r[4], r[2], r[3]))
    return rows


REPORT = Report(
    name="read-access",
    title="个人信息查询统计 Read-access summary",
    purpose="Person reads (access log, outcome = read) in a date range by role, token, stated purpose and field: "
            "reads, distinct persons, first and last day.",
    params=(Param("from", "date", "First day (default: the 1st of this month)."),
            Param("to", "date", "Last day (default: today)."),
            Param("role", "choice", "Only this role.", choices=tuple(r.value for r in Role))),
    columns=(Column("role", "角色"), Column("actor", "令牌"), Column("purpose", "查询事由"), Column("field", "字段"),
             Column("reads", "查询次数"), Column("persons", "涉及人数"), Column("first", "首次"), Column("last", "末次")),
    query=query,
    roles=frozenset({Role.ADMIN, Role.AUDITOR}),  # as accessLog
    district_scoped=False,
)
