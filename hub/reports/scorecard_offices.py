"""区县编办记分卡 District offices' scorecard: each office's own timeliness (changes of its region's units recorded
within one working day of their document), its units' average score, its rank, and every partner source's calibration
(months since the last clean comparison)."""

from __future__ import annotations

from hub.reports.base import OFFICE, Column, Report
from hub.reports.scorecards import REGION, YEAR, compute, share


def query(ctx):
    cards = compute(ctx)
    if cards is None:
        return []
    calibration = "; ".join(f"{s.source} {s.last_clean_period or '—'} ({'—' if s.months_since is None else s.months_since})"
                            for s in cards.sources)
    return [[o.rank, o.region_code, o.units, o.office.total, o.office.prompt, share(o.office), o.undated_changes,
             o.average_unit_score, calibration] for o in cards.offices]


REPORT = Report(
    name="scorecard-offices",
    title="编办时效记分卡 District offices' scorecard",
    purpose="Per district office for a year: changes recorded within one working day of their document, its units' "
            "average score, its rank, and months since each source's last clean comparison.",
    params=(YEAR, REGION),
    columns=(Column("rank", "排名"), Column("region", "区划代码"), Column("units", "单位数"), Column("changes", "调整事项数"),
             Column("changes_prompt", "一日内录入数"), Column("changes_prompt_pct", "一日内录入率%"),
             Column("changes_undated", "文号未登记数"), Column("average_unit_score", "单位平均得分"),
             Column("calibration", "比对校准(最近比对期, 间隔月数)")),
    query=query,
    roles=OFFICE,
)
