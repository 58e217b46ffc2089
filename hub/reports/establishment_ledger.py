"""机构编制台账 Establishment ledger of one unit: its particulars, each quota and leader quota with the document that
set it, the actual headcount and the vacancies (空编, 空缺职数) — the page an office prints."""

from __future__ import annotations

from sqlalchemy import select

from hub.adapters.orm import LeaderQuotaRow, QuotaRow, UnitRow
from hub.reports.base import Column, Param, Report, ReportError
from hub.service_layer.establishment import establishments


def query(ctx):
    code = ctx.params["unit"]
    u = ctx.session.get(UnitRow, code)
    if u is None or (ctx.region and u.region_code != ctx.region):
        raise ReportError(f"no unit {code}" + (" in your region" if u is not None else ""))
    parent = ctx.session.get(UnitRow, u.parent_code) if u.parent_code else None
    e = establishments(ctx.session, [code], today=ctx.today)[code]
    rows = [["基本情况", "单位名称 name", u.name, None, None, None, None, "", None],
            ["基本情况", "单位代码 code", u.code, None, None, None, None, "", None],
            ["基本情况", "机构类型 kind", u.kind, None, None, None, None, "", None],
            ["基本情况", "机构规格 level", u.level, None, None, None, None, "", None],
            ["基本情况", "经费形式 funding", u.funding, None, None, None, None, "", None],
            ["基本情况", "区划 region", u.region_code, None, None, None, None, "", None],
            ["基本情况", "上级单位 parent", f"{parent.code} {parent.name}" if parent else "", None, None, None, None, "", None],
            ["基本情况", "状态 status", u.status, None, None, None, None, "", u.established_on]]
    docs = {r.category: r for r in ctx.session.execute(select(QuotaRow).where(QuotaRow.unit_code == code)).scalars()}
    for cat in e.categories():
        d = docs.get(cat.value)
        rows.append(["编制", "核定编制 quota", cat.value, e.approved.get(cat, 0), e.used.get(cat, 0),
                     e.reserved.get(cat, 0), e.approved.get(cat, 0) - e.used.get(cat, 0),
                     (d.document_number or "") if d else "", d.effective_date if d else None])
    ldocs = {r.rank: r for r in ctx.session.execute(select(LeaderQuotaRow).where(LeaderQuotaRow.unit_code == code)).scalars()}
    for rank in e.ranks():
        d = ldocs.get(rank.value)
        rows.append(["领导职数", "领导职数 leader positions", rank.value, e.leaders_approved.get(rank, 0),
                     e.leaders_used.get(rank, 0), None, e.leaders_available(rank),
                     (d.document_number or "") if d else "", d.effective_date if d else None])
    approved, used = sum(e.approved.values()), sum(e.used.values())
    rows.append(["合计", "编制合计 total", "", approved, used, sum(e.reserved.values()), approved - used, "", None])
    return rows


REPORT = Report(
    name="establishment-ledger",
    title="机构编制台账 Establishment ledger",
    purpose="One unit's page: kind, level, funding, parent; each quota and leader quota with its document; actual "
            "headcount; vacancies (空编 = approved − used; 空缺职数).",
    params=(Param("unit", "unit", "The unit (unified social credit code).", required=True),),
    columns=(Column("section", "栏目"), Column("item", "项目"), Column("value", "内容"), Column("approved", "核定数"),
             Column("used", "实有数"), Column("reserved", "计划占用"), Column("vacant", "空编(空缺)数"),
             Column("document", "批准文号"), Column("effective_date", "生效日期")),
    query=query,
)
