"""用编计划执行情况 Hiring plans and their use per unit and year: submitted, approved, rejected, slots asked and
approved, filled, still reserved."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from hub.adapters.orm import HiringPlanRow
from hub.reports.base import Column, Param, Report


def query(ctx):
    year = ctx.params["year"] or ctx.today.year
    units = ctx.units(active_only=False, region=ctx.params["region"]).subquery()
    q = (select(HiringPlanRow.unit_code, units.c.name, HiringPlanRow.category, HiringPlanRow.status,
                HiringPlanRow.slots, HiringPlanRow.approved_slots, HiringPlanRow.filled)
         .join(units, units.c.code == HiringPlanRow.unit_code).where(HiringPlanRow.year == year))
    groups: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0, 0])
    for unit, name, cat, status, slots, approved, filled in ctx.session.execute(q):
        g = groups[(unit, name, cat)]
        g[0] += 1
        g[3] += slots
        if status == "APPROVED":
            g[1] += 1
            g[4] += approved or 0
            g[5] += filled or 0
            if year >= ctx.today.year:  # a plan expires at the end of its year (establishment.reserved_slots)
                g[6] += (approved or 0) - (filled or 0)
        elif status == "REJECTED":
            g[2] += 1
    return [[unit, name, year, cat, *g] for (unit, name, cat), g in sorted(groups.items())]


REPORT = Report(
    name="hiring-plans",
    title="用编计划执行情况 Hiring plans",
    purpose="Per unit and category for a year: plans submitted, approved, rejected; slots asked, approved, filled, "
            "still reserved (unfilled approved slots of a plan not yet expired).",
    params=(Param("year", "int", "The plan year (default: this year).", min=2000, max=2100),
            Param("region", "region", "Only units of this six-digit division code.")),
    columns=(Column("unit", "单位代码"), Column("unit_name", "单位名称"), Column("year", "年度"), Column("category", "编制类型"),
             Column("plans", "申报数"), Column("approved_plans", "核准数"), Column("rejected_plans", "不予核准"),
             Column("slots_asked", "申请名额"), Column("slots_approved", "核准名额"), Column("filled", "已使用"),
             Column("reserved", "尚余名额")),
    query=query,
)
