"""超编消化台账 Over-quota absorption ledger: every unit and category over quota today, the plan to absorb the excess
(target dates) and the progress as departures happen (hub.service_layer.absorption). Units that fit again are gone."""

from __future__ import annotations

from hub.reports.base import OFFICE, Column, Param, Report
from hub.service_layer import absorption


def query(ctx):
    regions = {r for r in (ctx.region, ctx.params["region"]) if r}
    if len(regions) > 1:
        return []
    rows = []
    for x in absorption.ledger(ctx.session, today=ctx.today, region=next(iter(regions), None)):
        t = x.next_target(ctx.today)
        status = x.status(ctx.today)
        rows.append([x.unit_code, x.unit_name, x.region_code, x.category, x.approved, x.used, x.excess, x.policy_allowed,
                     x.baseline, x.absorbed, x.departures, x.planned_on, t.target_date if t else None,
                     t.remaining if t else None, x.targets[-1].target_date if x.targets else None, status,
                     absorption.STATUS_ZH[status]])
    return rows


REPORT = Report(
    name="absorption-ledger",
    title="超编消化台账 Over-quota absorption ledger",
    purpose="Units and categories over quota today: the excess, the absorption plan's targets, how much is absorbed "
            "and how many departures since the plan, on track or behind.",
    params=(Param("region", "region", "Only units of this six-digit division code."),),
    columns=(Column("unit", "单位代码"), Column("unit_name", "单位名称"), Column("region", "区划代码"),
             Column("category", "编制类型"), Column("approved", "核定数"), Column("used", "实有数"), Column("excess", "超编数"),
             Column("policy_allowed", "其中政策性超编"), Column("baseline", "计划时超编数"), Column("absorbed", "已消化"),
             Column("departures", "计划以来减员"), Column("planned_on", "计划制定日期"), Column("next_target", "下一目标日期"),
             Column("next_remaining", "目标剩余超编数"), Column("final_target", "消化完成期限"), Column("status", "状态代码"),
             Column("status_zh", "消化状态")),
    query=query,
    roles=OFFICE,  # as absorptionLedger
)
