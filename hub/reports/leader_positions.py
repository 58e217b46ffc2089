"""领导职数 Leader positions: approved / used / vacant per unit and rank."""

from __future__ import annotations

from hub.reports.base import Column, Param, Report
from hub.service_layer.establishment import establishments


def query(ctx):
    units = {u.code: u for u in ctx.unit_rows(region=ctx.params["region"])}
    rows = []
    for code, e in sorted(establishments(ctx.session, list(units), today=ctx.today).items()):
        for rank in e.ranks():
            rows.append([code, units[code].name, rank.value, e.leaders_approved.get(rank, 0),
                         e.leaders_used.get(rank, 0), e.leaders_available(rank)])
    return rows


REPORT = Report(
    name="leader-positions",
    title="领导职数使用情况 Leader positions",
    purpose="Leader positions per unit and rank: approved, used and vacant (negative: more leaders than positions).",
    params=(Param("region", "region", "Only units of this six-digit division code."),),
    columns=(Column("unit", "单位代码"), Column("unit_name", "单位名称"), Column("rank", "职数级别"),
             Column("approved", "核定职数"), Column("used", "实配职数"), Column("vacant", "空缺职数")),
    query=query,
)
