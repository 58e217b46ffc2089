"""沿革表 Unit history: every version of a unit, its quotas and leader positions, with the document that made each
change and the register's entry for it (title, issuer)."""

from __future__ import annotations

from sqlalchemy import select

from hub.adapters.orm import LeaderQuotaVersionRow, QuotaVersionRow, UnitRow, UnitVersionRow
from hub.reports.base import Column, Param, Report, ReportError
from hub.service_layer.workflows.documents import unit_documents

UNIT_FIELDS = ("name", "kind", "level", "region_code", "parent_code", "funding", "status")


def query(ctx):
    code = ctx.params["unit"]
    unit = ctx.session.get(UnitRow, code)
    if unit is None or (ctx.region and unit.region_code != ctx.region):
        raise ReportError(f"no unit {code}" + (" in your region" if unit is not None else ""))
    docs = {d.number: d.document for d in unit_documents(ctx.session, code)}
    events = []
    prev = None
    for v in ctx.session.execute(select(UnitVersionRow).where(UnitVersionRow.unit_code == code)
                                 .order_by(UnitVersionRow.valid_from, UnitVersionRow.id)).scalars():
        if prev is None:
            change = "设立 established: " + ", ".join(f"{f}={getattr(v, f)}" for f in UNIT_FIELDS if getattr(v, f))
        else:
            change = ", ".join(f"{f}: {getattr(prev, f)} → {getattr(v, f)}" for f in UNIT_FIELDS
                               if getattr(prev, f) != getattr(v, f)) or "—"
        events.append((v.valid_from, v.id, "unit", change, v.document_number))
        prev = v
    for model, key, what in ((QuotaVersionRow, "category", "quota"), (LeaderQuotaVersionRow, "rank", "leader_quota")):
        before: dict[str, int] = {}
        for v in ctx.session.execute(select(model).where(model.unit_code == code)
                                     .order_by(model.valid_from, model.id)).scalars():
            k = getattr(v, key)
            was = before.get(k)
            change = f"{k}: {v.approved}" if was is None else f"{k}: {was} → {v.approved}"
            before[k] = v.approved
            events.append((v.valid_from, v.id, what, change, v.document_number))
    rows = []
    for on, _id, what, change, number in sorted(events, key=lambda e: (e[0], e[2] != "unit", e[1])):
        d = docs.get(number) if number else None
        rows.append([on, what, change, number or "", d.title if d else "", d.issuer if d else "",
                     d.issued_on if d else None])
    return rows


REPORT = Report(
    name="unit-history",
    title="机构沿革表 Unit history",
    purpose="A unit's establishment, renamings, re-gradings, quota and leader-position changes in date order, each "
            "with its document (number, title, issuer, date).",
    params=(Param("unit", "unit", "The unit (unified social credit code).", required=True),),
    columns=(Column("date", "日期"), Column("what", "事项"), Column("change", "变化"), Column("document", "文号"),
             Column("document_title", "文件标题"), Column("issuer", "发文机关"), Column("issued_on", "发文日期")),
    query=query,
)
