"""分区域汇总 Region summary: units, approved quota and headcount by district and level (市本级, 区县(市), 乡镇(街道))."""

from __future__ import annotations

from collections import defaultdict

from hub.reports.base import Column, Param, Report
from hub.service_layer.establishment import establishments

LEVEL_ZH = {"CITY": "市本级", "DISTRICT": "区县(市)", "TOWNSHIP": "乡镇(街道)"}
LEVELS = tuple(LEVEL_ZH)


def query(ctx):
    units = ctx.unit_rows(region=ctx.params["region"])
    est = establishments(ctx.session, [u.code for u in units], today=ctx.today, leaders=False)
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for u in units:
        e = est[u.code]
        s = sums[(u.region_code, u.level)]
        s[0] += 1
        s[1] += sum(e.approved.values())
        s[2] += sum(e.used.values())
        s[3] += sum(e.reserved.values())
    rows = [[region, level, LEVEL_ZH.get(level, level), n, a, used, r, a - used - r]
            for (region, level), (n, a, used, r) in sorted(sums.items(), key=lambda kv: (kv[0][0], LEVELS.index(kv[0][1])))]
    if rows:
        total = [sum(r[i] for r in rows) for i in range(3, 8)]
        rows.append(["合计", "", "", *total])
    return rows


REPORT = Report(
    name="region-summary",
    title="分区域机构编制汇总 Region summary",
    purpose="Units, approved quota, used, reserved and available by district and level, with a total line.",
    params=(Param("region", "region", "Only this six-digit division code."),),
    columns=(Column("region", "区划"), Column("level", "层级"), Column("level_zh", "层级名称"), Column("units", "机构数"),
             Column("approved", "核定编制"), Column("used", "实有人数"), Column("reserved", "计划占用"),
             Column("available", "空编数")),
    query=query,
)
