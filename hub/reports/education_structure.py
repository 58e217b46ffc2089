"""学历结构 Education structure by district and unit kind. Today one field (`persons.education`) holds the highest
education and the degree mixed (DOCTORATE, MASTER are degrees); issue 19 separates 学历 and 学位."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func

from hub.adapters.orm import PersonRow, UnitRow
from hub.domain.vocabulary import Education
from hub.reports.base import Column, Param, Report

LEVELS = tuple(e.value for e in Education)


def query(ctx):
    groups: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * (len(LEVELS) + 1))
    q = ctx.people_select(UnitRow.region_code, UnitRow.kind, PersonRow.education, func.count(),
                          region=ctx.params["region"], as_of=ctx.params["as_of"])
    for region, kind, edu, n in ctx.session.execute(q.group_by(UnitRow.region_code, UnitRow.kind, PersonRow.education)):
        groups[(region, kind)][LEVELS.index(edu) if edu in LEVELS else len(LEVELS)] += n
    return [[region, kind, sum(g), *g] for (region, kind), g in sorted(groups.items())]


REPORT = Report(
    name="education-structure",
    title="学历结构统计 Education structure",
    purpose="Persons in post by district and unit kind, per education level as recorded today (学历 and 学位 still "
            "share one field).",
    params=(Param("region", "region", "Only this six-digit division code."),
            Param("as_of", "date", "Count as of this day (default: today).")),
    columns=(Column("region", "区划"), Column("kind", "机构类型"), Column("total", "人数"),
             Column("doctorate", "博士"), Column("master", "硕士"), Column("bachelor", "大学本科"),
             Column("college", "大学专科"), Column("secondary", "中专及以下"), Column("other", "其他"),
             Column("unknown", "未填")),
    query=query,
)
