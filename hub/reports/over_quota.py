"""超编预警 Over quota: units using more slots than approved, how far, since when, and the policy over-quota
allowances (政策性超编) with their deadlines."""

from __future__ import annotations

from sqlalchemy import func, select

from hub.adapters.orm import MismatchRow, PolicyOverQuotaRow
from hub.domain.calendar import office_date
from hub.reports.base import Column, Param, Report
from hub.service_layer.establishment import establishments


def query(ctx):
    units = {u.code: u for u in ctx.unit_rows(region=ctx.params["region"])}
    est = establishments(ctx.session, list(units), today=ctx.today, leaders=False)
    since = {code: at for code, at in ctx.session.execute(
        select(MismatchRow.subject, func.min(MismatchRow.detected_at))
        .where(MismatchRow.kind == "OVER_QUOTA", MismatchRow.status == "OPEN").group_by(MismatchRow.subject))}
    deadline = {(c, cat): d for c, cat, d in ctx.session.execute(
        select(PolicyOverQuotaRow.unit_code, PolicyOverQuotaRow.category, func.max(PolicyOverQuotaRow.deadline))
        .where(PolicyOverQuotaRow.deadline >= ctx.today)
        .group_by(PolicyOverQuotaRow.unit_code, PolicyOverQuotaRow.category))}
    rows = []
    for code, e in est.items():
        for cat in e.categories():
            over = e.excess(cat)
            if over <= 0:
                continue
            allowed = e.policy_allowance.get(cat, 0)
            at = since.get(code)
            rows.append([code, units[code].name, cat.value, e.approved.get(cat, 0), e.used.get(cat, 0), over,
                         office_date(at) if at else None, allowed, deadline.get((code, cat.value)), max(over - allowed, 0)])
    rows.sort(key=lambda r: (-r[9], -r[5], r[0], r[2]))
    return rows


REPORT = Report(
    name="over-quota",
    title="超编预警 Over-quota units",
    purpose="Units and categories with more slots used than approved: how far over, since when, and the policy "
            "over-quota allowance in force with its deadline.",
    params=(Param("region", "region", "Only units of this six-digit division code."),),
    columns=(Column("unit", "单位代码"), Column("unit_name", "单位名称"), Column("category", "编制类型"),
             Column("approved", "核定数"), Column("used", "实有数"), Column("over", "超编数"),
             Column("since", "超编起始"), Column("policy_allowed", "政策性超编"), Column("policy_deadline", "消化期限"),
             Column("over_beyond_policy", "超出政策数")),
    query=query,
)
