"""比对问题趋势 Mismatch trend: mismatches opened and resolved per week (ISO week, Monday) and source."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from hub.adapters.orm import MismatchRow
from hub.domain.calendar import office_date, office_day_start
from hub.domain.vocabulary import BIRTH_DATE_KINDS
from hub.reports.base import Column, Param, Report


_day = office_date


def query(ctx):
    monday = ctx.today - timedelta(days=ctx.today.weekday())
    first = monday - timedelta(weeks=ctx.params["weeks"] - 1)
    since = office_day_start(first)

    def scoped(q):
        if ctx.masked:
            q = q.where(MismatchRow.kind.not_in([k.value for k in BIRTH_DATE_KINDS]))
        if ctx.region or ctx.params["region"]:
            q = q.where(MismatchRow.unit_code.in_(ctx.unit_codes(active_only=False, region=ctx.params["region"])))
        return q

    opened, resolved = Counter(), Counter()
    for source, at in ctx.session.execute(scoped(select(MismatchRow.source, MismatchRow.detected_at)
                                                 .where(MismatchRow.detected_at >= since))):
        d = _day(at)
        opened[(d - timedelta(days=d.weekday()), source or "")] += 1
    for source, at in ctx.session.execute(scoped(select(MismatchRow.source, MismatchRow.resolved_at)
                                                 .where(MismatchRow.resolved_at >= since))):
        d = _day(at)
        resolved[(d - timedelta(days=d.weekday()), source or "")] += 1
    keys = sorted(set(opened) | set(resolved))
    return [[week, week.strftime("%G-W%V"), source, opened[(week, source)], resolved[(week, source)],
             opened[(week, source)] - resolved[(week, source)]] for week, source in keys if week <= ctx.today]


REPORT = Report(
    name="mismatch-trend",
    title="比对问题周趋势 Mismatch trend",
    purpose="Mismatches opened and resolved per week and source over the last N weeks, and the week's net change.",
    params=(Param("weeks", "int", "How many weeks, this one included.", default=12, min=1, max=260),
            Param("region", "region", "Only units of this six-digit division code.")),
    columns=(Column("week_start", "周起始日"), Column("week", "周次"), Column("source", "来源"),
             Column("opened", "新发现"), Column("resolved", "已处理"), Column("net", "净增")),
    query=query,
)
