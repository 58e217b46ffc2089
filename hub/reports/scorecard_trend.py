"""记分卡月度趋势 Scorecard trend: per district and month of recording, the three timeliness rates and their score."""

from __future__ import annotations

from hub.reports.base import OFFICE, Column, Report
from hub.reports.scorecards import REGION, YEAR, compute, share


def query(ctx):
    cards = compute(ctx)
    if cards is None:
        return []
    return [[m.month, m.region_code, m.office.total, share(m.office), m.departures.total, share(m.departures),
             m.evidence.total, share(m.evidence), m.timeliness] for m in cards.trend]


REPORT = Report(
    name="scorecard-trend",
    title="记分卡月度趋势 Scorecard trend by month",
    purpose="Per district and month of the year: changes and departures recorded, the share on time, and the "
            "timeliness score of the month.",
    params=(YEAR, REGION),
    columns=(Column("month", "月份"), Column("region", "区划代码"), Column("changes", "调整事项数"),
             Column("changes_prompt_pct", "一日内录入率%"), Column("departures", "减员数"),
             Column("departures_prompt_pct", "减员及时率%"), Column("evidence", "部门先报减员数"),
             Column("evidence_prompt_pct", "部门信息后及时率%"), Column("timeliness", "时效得分")),
    query=query,
    roles=OFFICE,
)
