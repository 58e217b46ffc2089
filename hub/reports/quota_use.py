"""用编余量 Quota use: per unit and category, approved / used / reserved / available (hub.service_layer.establishment
counts them; ``UnitEstablishment.available`` subtracts)."""

from __future__ import annotations

from hub.reports.base import Column, Param, Report
from hub.service_layer.establishment import establishments


def query(ctx):
    units = ctx.unit_rows(region=ctx.params["region"])
    if ctx.params["unit"]:
        units = [u for u in units if u.code == ctx.params["unit"]]
    est = establishments(ctx.session, [u.code for u in units], today=ctx.today, leaders=False)
    rows = []
    for u in units:
        e = est[u.code]
        for cat in e.categories():
            available = e.available(cat)
            if ctx.params["only"] == "full" and available > 0:
                continue
            rows.append([u.code, cat.value, e.approved.get(cat, 0), e.used.get(cat, 0), e.reserved.get(cat, 0),
                         available, u.name, u.region_code])
    return rows


REPORT = Report(
    name="quota-use",
    title="用编余量表 Quota use",
    purpose="Approved, used, reserved (approved hiring plans) and available slots per unit and category.",
    params=(Param("region", "region", "Only units of this six-digit division code."),
            Param("unit", "unit", "Only this unit."),
            Param("only", "choice", "all, or full: only lines with no slot available.", default="all",
                  choices=("all", "full"))),
    columns=(Column("unit", "单位代码"), Column("category", "编制类型"), Column("approved", "核定数"),
             Column("used", "实有数"), Column("reserved", "计划占用"), Column("available", "空编数"),
             Column("unit_name", "单位名称"), Column("region", "区划")),
    query=query,
)
