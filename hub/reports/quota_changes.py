"""编制变动记录 Quota changes log: every change of approved quota and leader positions in a date range, with its
document, date and delta."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from hub.adapters.orm import LeaderQuotaVersionRow, QuotaVersionRow
from hub.reports.base import Column, Param, Report, ReportError


def query(ctx):
    start, end = ctx.params["from"] or date(ctx.today.year, 1, 1), ctx.params["to"] or ctx.today
    if end < start:
        raise ReportError(f"parameter to ({end}) is before from ({start})")
    names = {u.code: u.name for u in ctx.unit_rows(active_only=False, region=ctx.params["region"])}
    rows = []
    for model, key, what in ((QuotaVersionRow, "category", "quota"), (LeaderQuotaVersionRow, "rank", "leader_quota")):
        last: dict[tuple[str, str], int] = {}
        q = (select(model.unit_code, getattr(model, key), model.approved, model.valid_from, model.document_number)
             .where(model.valid_from <= end).order_by(model.unit_code, getattr(model, key), model.valid_from, model.id))
        for code, k, approved, on, number in ctx.session.execute(q):
            if code not in names:
                continue
            was = last.get((code, k))
            last[(code, k)] = approved
            if on < start:
                continue
            rows.append([on, code, names[code], what, k, was, approved, approved - (was or 0), number or ""])
    rows.sort(key=lambda r: (r[0], r[1], r[3], r[4]))
    return rows


REPORT = Report(
    name="quota-changes",
    title="编制变动记录 Quota changes log",
    purpose="Changes of approved quota and leader positions dated in a range: unit, what, before, after, delta and "
            "the document.",
    params=(Param("from", "date", "First day (default: 1 January of this year)."),
            Param("to", "date", "Last day (default: today)."),
            Param("region", "region", "Only units of this six-digit division code.")),
    columns=(Column("date", "日期"), Column("unit", "单位代码"), Column("unit_name", "单位名称"), Column("what", "事项"),
             Column("item", "类型"), Column("before", "调整前"), Column("after", "调整后"), Column("delta", "增减"),
             Column("document", "文号")),
    query=query,
)
