"""性别结构 Gender structure by district and rank. The rank is today's leader position (none: not a leader);
issue 19 brings a rank (职级) for everyone."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func

from hub.adapters.orm import PersonRow, PostingRow, UnitRow
from hub.domain.vocabulary import LeaderRank
from hub.reports.base import Column, Param, Report, share

RANKS = tuple(r.value for r in LeaderRank) + ("NONE",)


def query(ctx):
    groups: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    q = ctx.people_select(UnitRow.region_code, PostingRow.leader_rank, PersonRow.gender, func.count(),
                          region=ctx.params["region"], as_of=ctx.params["as_of"])
    for region, rank, gender, n in ctx.session.execute(
            q.group_by(UnitRow.region_code, PostingRow.leader_rank, PersonRow.gender)):
        groups[(region, rank or "NONE")][gender == "F"] += n
    return [[region, rank, m + f, m, f, share(f, m + f)]
            for (region, rank), (m, f) in sorted(groups.items(), key=lambda kv: (kv[0][0], RANKS.index(kv[0][1])))]


REPORT = Report(
    name="gender-structure",
    title="性别结构统计 Gender structure",
    purpose="Persons in post by district and leader rank (NONE: not a leader): men, women, share of women.",
    params=(Param("region", "region", "Only this six-digit division code."),
            Param("as_of", "date", "Count as of this day (default: today).")),
    columns=(Column("region", "区划"), Column("rank", "职务层次"), Column("total", "人数"), Column("male", "男"),
             Column("female", "女"), Column("female_pct", "女性占比%")),
    query=query,
)
