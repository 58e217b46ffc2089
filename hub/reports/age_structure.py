"""年龄结构 Age structure by district: age bands, average age and how many are within 5 years of statutory
retirement (hub.domain.retirement, the 2025 schedule)."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from functools import cache
from datetime import date

from sqlalchemy import func

from hub.adapters.orm import PersonRow, PostingRow, UnitRow
from hub.domain.retirement import statutory_retirement_date
from hub.domain.vocabulary import QuotaCategory
from hub.reports.base import OFFICE, Column, Param, Report, age_on, share

BANDS = ((0, 30), (30, 40), (40, 50), (50, 55), (55, 200))
BAND_STARTS = tuple(lo for lo, _ in BANDS)


def _plus_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def query(ctx):
    on = ctx.params["as_of"] or ctx.today
    horizon = _plus_years(on, 5)
    groups: dict[str, list] = defaultdict(lambda: [0, [0] * len(BANDS), 0, 0])
    worker = PostingRow.category == QuotaCategory.WORKER.value
    q = ctx.people_select(UnitRow.region_code, PersonRow.birth_date, PersonRow.gender, worker, func.count(),
                          region=ctx.params["region"], as_of=ctx.params["as_of"])
    retiring = cache(lambda birth, gender, is_worker: statutory_retirement_date(birth, gender, is_worker) <= horizon)
    for region, birth, gender, is_worker, n in ctx.session.execute(
            q.group_by(UnitRow.region_code, PersonRow.birth_date, PersonRow.gender, worker)):
        age = age_on(birth, on)
        g = groups[region]
        g[0] += n
        g[1][bisect_right(BAND_STARTS, age) - 1] += n
        g[2] += age * n
        if retiring(birth, gender, bool(is_worker)):
            g[3] += n
    rows = []
    for region in sorted(groups):
        n, bands, ages, near = groups[region]
        rows.append([region, n, *bands, round(ages / n, 1), near, share(near, n)])
    return rows


REPORT = Report(
    name="age-structure",
    title="年龄结构统计 Age structure",
    purpose="Persons in post by district: age bands, average age, and how many reach statutory retirement within 5 "
            "years (count and percent).",
    params=(Param("region", "region", "Only this six-digit division code."),
            Param("as_of", "date", "Count as of this day (postings running then; default: today, active postings)."),),
    columns=(Column("region", "区划"), Column("total", "人数"), Column("under_30", "30岁以下"),
             Column("age_30_39", "30-39岁"), Column("age_40_49", "40-49岁"), Column("age_50_54", "50-54岁"),
             Column("age_55_plus", "55岁及以上"), Column("average_age", "平均年龄"),
             Column("retiring_5y", "5年内退休"), Column("retiring_5y_pct", "5年内退休占比%")),
    query=query,
    roles=OFFICE,  # retirement within 5 years is computed from birth dates: not for MONITOR
)
