"""三数一致 Headcount consistency for a period: approved quota, actual headcount and fiscally paid headcount per
fiscally funded unit, judged by the domain's rule (``hub.domain.registry.headcount_consistent``)."""

from __future__ import annotations

from hub.domain.registry import headcount_consistent, headcount_judged
from hub.domain.vocabulary import Role
from hub.reports.base import OFFICE, Column, Param, Report
from hub.service_layer.comparison.absences import headcount_facts


def query(ctx):
    # every unit the comparison judges (abolished ones too), with the resolver's facts (编外 pay counted apart)
    units = [u for u in ctx.unit_rows(active_only=False, region=ctx.params["region"])
             if headcount_judged(u.funding)]
    facts = headcount_facts(ctx.session, units, ctx.params["period"], ctx.today)
    rows = []
    for u in units:
        a, n, p, _ = facts[u.code]
        ok = headcount_consistent(a, n, p)
        if ctx.params["only"] == "inconsistent" and ok:
            continue
        rows.append([u.code, u.name, u.funding, a, n, p, ok])
    return rows


REPORT = Report(
    name="headcount-consistency",
    title="三数一致核对表 Headcount consistency",
    purpose="Per fiscally funded unit for a period: approved quota, actual headcount (postings), paid headcount "
            "(finance's view) and whether the three agree.",
    params=(Param("period", "period", "The payroll month, YYYY-MM.", required=True),
            Param("region", "region", "Only units of this six-digit division code."),
            Param("only", "choice", "all, or inconsistent.", default="all", choices=("all", "inconsistent"))),
    columns=(Column("unit", "单位代码"), Column("unit_name", "单位名称"), Column("funding", "经费形式"),
             Column("approved", "编制数"), Column("actual", "实有人数"), Column("paid", "财政供养人数"),
             Column("consistent", "是否一致")),
    query=query,
    roles=OFFICE | {Role.FINANCE},  # as headcountConsistency
)
