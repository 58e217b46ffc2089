"""进编办理时限 Onboarding turnaround: working days from submission to decision (the working-day calendar,
hub.domain.calendar; the office's local dates), by month of decision and unit, against the one-day target (当日办结)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import select

from hub.adapters.orm import OnboardingRow
from hub.domain.calendar import office_date, office_day_start
from hub.reports.base import Column, Param, Report, ReportError, share


def query(ctx):
    start, end = ctx.params["from"] or date(ctx.today.year, 1, 1), ctx.params["to"] or ctx.today
    if end < start:
        raise ReportError(f"parameter to ({end}) is before from ({start})")
    lo = office_day_start(start)
    hi = office_day_start(end + timedelta(days=1))
    units = ctx.units(active_only=False, region=ctx.params["region"]).subquery()
    q = (select(OnboardingRow.unit_code, units.c.name, OnboardingRow.status, OnboardingRow.submitted_at,
                OnboardingRow.decided_at)
         .join(units, units.c.code == OnboardingRow.unit_code)
         .where(OnboardingRow.decided_at.is_not(None), OnboardingRow.decided_at >= lo, OnboardingRow.decided_at < hi,
                OnboardingRow.status.in_(("APPROVED", "REJECTED"))))
    groups: dict[tuple[str, str, str], list] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for unit, name, status, submitted, decided in ctx.session.execute(q):
        day = office_date(decided)
        days = ctx.calendar.turnaround(office_date(submitted), day)
        g = groups[(day.strftime("%Y-%m"), unit, name)]
        g[0] += 1
        g[1] += status == "APPROVED"
        g[2] += days
        g[3] = max(g[3], days)
        g[4] += days <= 1
    return [[month, unit, name, n, approved, round(total / n, 1), worst, within, share(within, n)]
            for (month, unit, name), (n, approved, total, worst, within) in sorted(groups.items())]


REPORT = Report(
    name="onboarding-turnaround",
    title="进编审批办理时限 Onboarding turnaround",
    purpose="Onboarding applications decided per month and unit: how many, approved, average and longest working "
            "days from submission to decision, how many within one working day (the target).",
    params=(Param("from", "date", "First day of decisions (default: 1 January of this year)."),
            Param("to", "date", "Last day of decisions (default: today)."),
            Param("region", "region", "Only units of this six-digit division code.")),
    columns=(Column("month", "月份"), Column("unit", "单位代码"), Column("unit_name", "单位名称"), Column("decided", "办结数"),
             Column("approved", "批准数"), Column("average_days", "平均工作日"), Column("longest_days", "最长工作日"),
             Column("within_1_day", "当日办结数"), Column("within_1_day_pct", "当日办结率%")),
    query=query,
)
