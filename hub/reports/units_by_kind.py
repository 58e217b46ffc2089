"""机构分类统计 Units by kind, level and funding form, with their approved quota and headcount."""

from __future__ import annotations

from collections import defaultdict

from hub.reports.base import Column, Param, Report
from hub.service_layer.establishment import establishments


def query(ctx):
    units = ctx.unit_rows(region=ctx.params["region"])
    est = establishments(ctx.session, [u.code for u in units], today=ctx.today, leaders=False)
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for u in units:
        g = groups[(u.kind, u.level, u.funding)]
        g[0] += 1
        g[1] += sum(est[u.code].approved.values())
        g[2] += sum(est[u.code].used.values())
    return [[kind, level, funding, n, a, used] for (kind, level, funding), (n, a, used) in sorted(groups.items())]


REPORT = Report(
    name="units-by-kind",
    title="机构分类统计 Units by kind, level and funding",
    purpose="Active units counted by kind, level and funding form, with their approved quota and headcount.",
    params=(Param("region", "region", "Only this six-digit division code."),),
    columns=(Column("kind", "机构类型"), Column("level", "层级"), Column("funding", "经费形式"), Column("units", "机构数"),
             Column("approved", "核定编制"), Column("used", "实有人数")),
    query=query,
)
