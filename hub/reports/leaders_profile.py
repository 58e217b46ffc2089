"""领导班子结构 Leaders' profile: age and education of the persons holding leader positions, by rank."""

from __future__ import annotations

from collections import defaultdict

from hub.adapters.orm import PersonRow, PostingRow
from hub.domain.vocabulary import LeaderRank
from hub.reports.base import OFFICE, Column, Param, Report, age_on, share

RANKS = tuple(r.value for r in LeaderRank)


def query(ctx):
    on = ctx.params["as_of"] or ctx.today
    groups: dict[str, list] = defaultdict(lambda: [0, 0, 0, 0, 0, 0, 0, 0, 0])
    q = ctx.people_select(PostingRow.leader_rank, PersonRow.gender, PersonRow.birth_date, PersonRow.education,
                          region=ctx.params["region"], as_of=ctx.params["as_of"])
    for rank, gender, birth, edu in ctx.session.execute(q.where(PostingRow.leader_rank.is_not(None))):
        age = age_on(birth, on)
        g = groups[rank]
        g[0] += 1
        g[1] += age
        g[2 + (age >= 40) + (age >= 50)] += 1
        g[5 + (0 if edu in ("DOCTORATE", "MASTER") else 1 if edu == "BACHELOR" else 2)] += 1
        g[8] += gender == "F"
    return [[rank, g[0], round(g[1] / g[0], 1), g[2], g[3], g[4], g[5], g[6], g[7], g[8], share(g[8], g[0])]
            for rank, g in sorted(groups.items(), key=lambda kv: RANKS.index(kv[0]))]


REPORT = Report(
    name="leaders-profile",
    title="领导干部年龄学历结构 Leaders' profile",
    purpose="Leaders by rank: how many, average age, under 40 / 40-49 / 50 and over, postgraduate / bachelor / below, "
            "women.",
    params=(Param("region", "region", "Only units of this six-digit division code."),
            Param("as_of", "date", "As of this day (default: today).")),
    columns=(Column("rank", "职数级别"), Column("leaders", "人数"), Column("average_age", "平均年龄"),
             Column("under_40", "40岁以下"), Column("age_40_49", "40-49岁"), Column("age_50_plus", "50岁及以上"),
             Column("postgraduate", "研究生"), Column("bachelor", "大学本科"), Column("below_bachelor", "本科以下"),
             Column("female", "女"), Column("female_pct", "女性占比%")),
    query=query,
    roles=OFFICE,  # ages of a handful of named posts: not for MONITOR
)
