"""年度评估排名 Evaluation league table: every unit's decided result for a year — score, share of the maximum, grade —
ranked city-wide (among all the city's results, whoever asks) and within its district
(hub.service_layer.evaluation)."""

from __future__ import annotations

from sqlalchemy import select

from hub.adapters.orm import EvaluationResultRow
from hub.domain import scorecard as rules
from hub.domain.calendar import office_date
from hub.domain.vocabulary import Role
from hub.reports.base import OFFICE, Column, Param, Report, share


def query(ctx):
    year = ctx.params["year"] or ctx.today.year
    units = ctx.units(active_only=False, region=ctx.params["region"]).subquery()
    rows = ctx.session.execute(
        select(EvaluationResultRow, units.c.name, units.c.region_code)
        .join(units, units.c.code == EvaluationResultRow.unit_code)
        .where(EvaluationResultRow.year == year)).all()
    pct = {r.unit_code: share(r.score, r.max_score) for r, _, _ in rows}
    # 排名 is the place in the whole city's table, also for a district office or a region filter (its units' places
    # among every decided result of the year; no other district's unit is shown)
    city = rules.rank({code: share(score, maximum) for code, score, maximum in ctx.session.execute(
        select(EvaluationResultRow.unit_code, EvaluationResultRow.score, EvaluationResultRow.max_score)
        .where(EvaluationResultRow.year == year))})
    district = {}
    for region in {reg for _, _, reg in rows}:
        district |= rules.rank({r.unit_code: pct[r.unit_code] for r, _, reg in rows if reg == region})
    out = [[city[r.unit_code], region, district[r.unit_code], r.unit_code, name, r.score / 10, r.max_score / 10,
            pct[r.unit_code], r.grade, rules.GRADE_ZH[r.grade], office_date(r.decided_at), r.id]
           for r, name, region in rows]
    return sorted(out, key=lambda x: (x[0], x[3]))


REPORT = Report(
    name="evaluation-league",
    title="年度评估排名 Evaluation league table",
    purpose="Every unit's decided evaluation result of a year: score, maximum, share, grade, rank city-wide and in "
            "its district.",
    params=(Param("year", "int", "The evaluation year (default: this year).", min=2000, max=2199),
            Param("region", "region", "Only units of this six-digit division code.")),
    columns=(Column("rank", "排名"), Column("region", "区划代码"), Column("rank_in_region", "区内排名"),
             Column("unit", "单位代码"), Column("unit_name", "单位名称"), Column("score", "得分"),
             Column("max_score", "满分"), Column("score_pct", "得分率%"), Column("grade", "等次代码"),
             Column("grade_zh", "评估等次"), Column("decided_on", "评定日期"), Column("evaluation_id", "评估编号")),
    query=query,
    roles=OFFICE | {Role.FINANCE},
)
