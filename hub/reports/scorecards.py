"""时效记分卡 Timeliness scorecards: every unit's indicators, points and rank in its district for a year
(hub.service_layer.scorecards computes them, hub.domain.scorecard judges; docs/supervision.md states the formulas)."""

from __future__ import annotations

from hub.reports.base import OFFICE, Column, Param, Report
from hub.service_layer import scorecards

YEAR = Param("year", "int", "The year (default: this year).", min=2000, max=2199)
REGION = Param("region", "region", "Only units of this six-digit division code.")


def compute(ctx):
    """The scorecards in the caller's scope, or None when the district and the region parameter exclude each other."""
    regions = {r for r in (ctx.region, ctx.params.get("region")) if r}
    if len(regions) > 1:
        return None
    return scorecards.compute(ctx.session, year=ctx.params["year"] or ctx.today.year, today=ctx.today,
                              calendar=ctx.calendar, region=next(iter(regions), None))


def share(rate):
    return rate.share if rate.total else None


def query(ctx):
    cards = compute(ctx)
    if cards is None:
        return []
    return [[c.region_code, c.rank_in_region, c.code, c.name, c.score.score,
             c.score.office.total, share(c.score.office), c.score.undated_changes,
             c.score.departures.total, share(c.score.departures), c.score.evidence.total, share(c.score.evidence),
             c.score.open_mismatches, c.score.oldest_mismatch_days, c.score.stale_mismatches,
             c.score.over_quota, c.score.leader_over_quota, c.score.consistent, cards.compared_period]
            for c in cards.units]


REPORT = Report(
    name="scorecards",
    title="时效记分卡 Timeliness scorecards",
    purpose="Per unit for a year: changes recorded within one working day of their document, departures recorded "
            "promptly, open mismatches, over quota, 三数一致 — points, score and rank in the district.",
    params=(YEAR, REGION),
    columns=(Column("region", "区划代码"), Column("rank", "区内排名"), Column("unit", "单位代码"), Column("unit_name", "单位名称"),
             Column("score", "得分"), Column("changes", "调整事项数"), Column("changes_prompt_pct", "一日内录入率%"),
             Column("changes_undated", "文号未登记数"), Column("departures", "减员数"),
             Column("departures_prompt_pct", "减员及时率%"), Column("evidence", "部门先报减员数"),
             Column("evidence_prompt_pct", "部门信息后及时率%"), Column("open_mismatches", "未处理比对问题"),
             Column("oldest_mismatch_days", "最久未处理天数"), Column("stale_mismatches", "超30天未处理数"),
             Column("over_quota", "超编"), Column("leader_over_quota", "超职数"), Column("consistent", "三数一致"),
             Column("compared_period", "比对期")),
    query=query,
    roles=OFFICE,
    workbook=("scorecard-offices", "scorecard-trend"),
)
