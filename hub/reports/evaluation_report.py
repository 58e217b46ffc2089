"""年度评估报告 Evaluation report of one unit and year: every indicator — fixed ones the hub computes, dynamic ones
the joint evaluation group scored — with its points, the maximum and the comment, and the total and grade. Before the
office decides the result it is a preview (the fixed indicators as computed today)."""

from __future__ import annotations

import json

from sqlalchemy import select

from hub.adapters.orm import EvaluationResultRow, UnitRow
from hub.domain import scorecard as rules
from hub.domain.vocabulary import Role
from hub.reports.base import OFFICE, Column, Param, Report, ReportError
from hub.service_layer import evaluation

KIND_ZH = {"FIXED": "固定指标", "DYNAMIC": "动态指标"}


def query(ctx):
    code, year = ctx.params["unit"], ctx.params["year"]
    unit = ctx.session.execute(ctx.units(active_only=False).where(UnitRow.code == code)).scalar_one_or_none()
    if unit is None:
        raise ReportError(f"parameter unit: no unit {code} in your scope")
    result = ctx.session.execute(select(EvaluationResultRow).where(EvaluationResultRow.unit_code == code,
                                                                   EvaluationResultRow.year == year)).scalar_one_or_none()
    if result is not None:
        indicators = [evaluation.Indicator(**i) for i in json.loads(result.details)]
        state = "已评定"
    else:
        indicators = (evaluation.fixed_indicators(ctx.session, code, year=year, today=ctx.today, calendar=ctx.calendar)
                      + evaluation.dynamic_indicators(ctx.session, code, year))
        state = "未评定(预览)"
    rows = [[unit.code, unit.name, year, KIND_ZH[i.kind], i.code, i.name, i.max_score, i.score, i.comment,
             i.scored_by or "系统计算", state] for i in indicators]
    total = sum(i.score or 0 for i in indicators)
    maximum = sum(i.max_score for i in indicators)
    grade = rules.grade(total, maximum)
    rows.append([unit.code, unit.name, year, "合计", "TOTAL", f"评估等次: {rules.GRADE_ZH[grade]}", maximum,
                 round(total, 1), result.comment if result else None, None, state])
    return rows


REPORT = Report(
    name="evaluation-report",
    title="机构编制年度评估报告 Evaluation report",
    purpose="One unit's evaluation of a year: each fixed and dynamic indicator with points, maximum and comment, the "
            "total and the grade (a preview until the office decides it).",
    params=(Param("unit", "unit", "The unit (unified social credit code).", required=True),
            Param("year", "int", "The evaluation year.", required=True, min=2000, max=2199)),
    columns=(Column("unit", "单位代码"), Column("unit_name", "单位名称"), Column("year", "评估年度"),
             Column("kind", "指标类别"), Column("indicator", "指标代码"), Column("indicator_name", "指标名称"),
             Column("max_score", "分值"), Column("score", "得分"), Column("comment", "说明"),
             Column("scored_by", "评分部门"), Column("state", "状态")),
    query=query,
    roles=OFFICE | {Role.FINANCE},
)
