"""整改事项分类统计 Findings by category, status and age: for each violation category (超编进人, 混编混岗, …), how many
findings are in each state, how many are overdue, and how long the unclosed ones have been open."""

from __future__ import annotations

from sqlalchemy import select

from hub.adapters.orm import FindingRow
from hub.domain import supervision as sv
from hub.domain.calendar import office_date
from hub.reports.base import OFFICE, Column, Param, Report

AGE_BANDS = ((0, 30), (31, 90), (91, 180), (181, None))  # days since recorded, of findings not yet closed


def query(ctx):
    p = ctx.params
    q = select(FindingRow.category, FindingRow.status, FindingRow.deadline, FindingRow.recorded_at)
    if ctx.region or p["region"]:
        q = q.where(FindingRow.unit_code.in_(ctx.unit_codes(active_only=False, region=p["region"])))
    if p["source"]:
        q = q.where(FindingRow.source == p["source"])
    if p["unit"]:
        q = q.where(FindingRow.unit_code == p["unit"])
    counts = {c: [0] * (6 + len(AGE_BANDS)) for c in sv.FindingCategory}  # total, 4 states, overdue, age bands
    oldest: dict[sv.FindingCategory, int] = {}
    statuses = list(sv.FindingStatus)
    for cat, status, deadline, recorded_at in ctx.session.execute(q):
        c, st = sv.FindingCategory(cat), sv.FindingStatus(status)
        row = counts[c]
        row[0] += 1
        row[1 + statuses.index(st)] += 1
        row[5] += sv.is_overdue(st, deadline, ctx.today)
        if st is not sv.FindingStatus.CLOSED:
            age = max(sv.age_days(office_date(recorded_at), None, ctx.today), 0)
            row[6 + next(i for i, (lo, hi) in enumerate(AGE_BANDS) if age >= lo and (hi is None or age <= hi))] += 1
            oldest[c] = max(oldest.get(c, 0), age)
    rows = [[c.value, c.label, *v, oldest.get(c)] for c, v in counts.items() if v[0]]
    if rows:
        rows.append(["合计", "", *[sum(r[i] for r in rows) for i in range(2, 8 + len(AGE_BANDS))],
                     max((r[-1] for r in rows if r[-1] is not None), default=None)])
    return rows


REPORT = Report(
    name="findings-by-category",
    title="整改事项分类统计 Findings by category",
    purpose="Findings (审计, 巡察, 系统发现) per violation category: total, by status, overdue, and the age of those not "
            "yet closed (days since recorded, in bands) with the oldest.",
    params=(Param("region", "region", "Only units of this six-digit division code."),
            Param("unit", "unit", "Only this unit."),
            Param("source", "choice", "Only findings of this source.", choices=tuple(s.value for s in sv.FindingSource))),
    columns=(Column("category", "类别代码"), Column("category_label", "违规类别"), Column("total", "总数"),
             Column("open", "待整改"), Column("rectifying", "整改中"), Column("verified", "已验收"),
             Column("closed", "已销号"), Column("overdue", "逾期"), Column("age_0_30", "未销号≤30天"),
             Column("age_31_90", "31–90天"), Column("age_91_180", "91–180天"), Column("age_over_180", "180天以上"),
             Column("oldest_days", "最长天数")),
    roles=OFFICE,
    query=query,
)
