"""年龄金字塔 Age pyramid by district: persons in post per age band, men and women apart (the dashboard draws men
on one side, women on the other). The bands are age-structure's."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict

from sqlalchemy import func

from hub.adapters.orm import PersonRow, UnitRow
from hub.reports.age_structure import BAND_STARTS, BANDS
from hub.reports.base import OFFICE, Column, Param, Report, age_on

BAND_KEYS = ("under_30", "30_39", "40_49", "50_54", "55_plus")
BAND_LABELS = ("30岁以下", "30-39岁", "40-49岁", "50-54岁", "55岁及以上")
assert len(BAND_KEYS) == len(BANDS)


def query(ctx):
    on = ctx.params["as_of"] or ctx.today
    groups: dict[str, list] = defaultdict(lambda: [[0, 0] for _ in BANDS])
    q = ctx.people_select(UnitRow.region_code, PersonRow.birth_date, PersonRow.gender, func.count(),
                          region=ctx.params["region"], as_of=ctx.params["as_of"])
    for region, birth, gender, n in ctx.session.execute(
            q.group_by(UnitRow.region_code, PersonRow.birth_date, PersonRow.gender)):
        groups[region][bisect_right(BAND_STARTS, age_on(birth, on)) - 1][gender == "F"] += n
    return [[region, key, label, men, women, men + women]
            for region in sorted(groups)
            for key, label, (men, women) in zip(BAND_KEYS, BAND_LABELS, groups[region])]


REPORT = Report(
    name="age-pyramid",
    title="年龄金字塔 Age pyramid",
    purpose="Persons in post by district and age band, men and women apart (the age-structure bands).",
    params=(Param("region", "region", "Only this six-digit division code."),
            Param("as_of", "date", "Count as of this day (postings running then; default: today, active postings)."),),
    columns=(Column("region", "区划"), Column("band", "年龄段代码"), Column("band_label", "年龄段"),
             Column("men", "男"), Column("women", "女"), Column("total", "合计")),
    query=query,
    roles=OFFICE,  # ages are computed from birth dates: not for MONITOR
)
