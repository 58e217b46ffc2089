"""整改率 Rectification rate per unit or per district: of the findings recorded (in a year, or all), how many are
rectified (VERIFIED or CLOSED), how many closed (销号), how many still open and overdue.

整改率 = (VERIFIED + CLOSED) / total × 100; 销号率 = CLOSED / total × 100 (one decimal; no findings: no row)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import select

from hub.adapters.orm import FindingRow, UnitRow
from hub.domain import supervision as sv
from hub.domain.calendar import office_day_start
from hub.reports.base import OFFICE, Column, Param, Report, share


def query(ctx):
    p = ctx.params
    q = (select(FindingRow.unit_code, UnitRow.name, UnitRow.region_code, FindingRow.status, FindingRow.deadline)
         .join(UnitRow, UnitRow.code == FindingRow.unit_code))
    for r in (ctx.region, p["region"]):
        if r:
            q = q.where(UnitRow.region_code == r)
    if p["year"]:  # recorded in that year, on the office's calendar
        start = office_day_start(date(p["year"], 1, 1))
        end = office_day_start(date(p["year"] + 1, 1, 1))
        q = q.where(FindingRow.recorded_at >= start, FindingRow.recorded_at < end)
    by_region = p["by"] == "region"
    tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for unit, name, region, status, deadline in ctx.session.execute(q):
        st = sv.FindingStatus(status)
        t = tally[(region, "") if by_region else (unit, name)]
        t[0] += 1
        t[1] += st in (sv.FindingStatus.VERIFIED, sv.FindingStatus.CLOSED)
        t[2] += st is sv.FindingStatus.CLOSED
        t[3] += st in sv.LIVE
        t[4] += sv.is_overdue(st, deadline, ctx.today)
    rows = [[key, name, n, rect, closed, live, overdue, share(rect, n), share(closed, n)]
            for (key, name), (n, rect, closed, live, overdue) in sorted(tally.items())]
    if len(rows) > 1:
        tot = [sum(r[i] for r in rows) for i in range(2, 7)]
        rows.append(["合计", "", *tot, share(tot[1], tot[0]), share(tot[2], tot[0])])
    return rows


REPORT = Report(
    name="rectification-rate",
    title="整改率 Rectification rate",
    purpose="Per unit (or per district with by=region): findings, rectified (已验收 or 已销号), closed (销号), still open, "
            "overdue; 整改率 = rectified / findings, 销号率 = closed / findings, in percent.",
    params=(Param("by", "choice", "unit (per unit) or region (per district).", default="unit", choices=("unit", "region")),
            Param("region", "region", "Only units of this six-digit division code."),
            Param("year", "int", "Only findings recorded in this year.", min=1900, max=2199)),
    columns=(Column("key", "单位代码/区划"), Column("name", "单位名称"), Column("findings", "整改事项数"),
             Column("rectified", "已整改"), Column("closed", "已销号"), Column("open", "未整改"),
             Column("overdue", "逾期"), Column("rectification_rate", "整改率(%)"), Column("closing_rate", "销号率(%)")),
    roles=OFFICE,
    query=query,
)
