"""未处理比对问题 Open mismatches by kind and unit, with their age (days since detected)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import case, func, select

from hub.adapters.orm import MismatchRow
from hub.domain.calendar import office_date, office_day_start
from hub.domain.vocabulary import BIRTH_DATE_KINDS, MismatchKind
from hub.reports.base import Column, Param, Report


def query(ctx):
    p = ctx.params
    cutoff = office_day_start(ctx.today - timedelta(days=p["older_than"]))
    q = (select(MismatchRow.kind, MismatchRow.unit_code, func.count(), func.min(MismatchRow.detected_at),
                func.sum(case((MismatchRow.detected_at < cutoff, 1), else_=0)))
         .where(MismatchRow.status == "OPEN").group_by(MismatchRow.kind, MismatchRow.unit_code))
    if p["kind"]:
        q = q.where(MismatchRow.kind == p["kind"])
    if ctx.masked:  # birth-date kinds would tell a masked reader what masking hides (docs/access.md)
        q = q.where(MismatchRow.kind.not_in([k.value for k in BIRTH_DATE_KINDS]))
    if ctx.region or p["region"]:
        q = q.where(MismatchRow.unit_code.in_(ctx.unit_codes(active_only=False, region=p["region"])))
    found = ctx.session.execute(q).all()
    names = ctx.unit_names({r[1] for r in found if r[1]})
    rows = []
    for kind, unit, n, oldest, older in found:
        oldest_day = office_date(oldest)
        rows.append([kind, unit or "", names.get(unit, ""), n, (ctx.today - oldest_day).days, int(older or 0)])
    rows.sort(key=lambda r: (-r[3], r[0], r[1]))
    return rows


REPORT = Report(
    name="open-mismatches",
    title="未处理比对问题 Open mismatches",
    purpose="Open mismatches per kind and unit: how many, the oldest's age in days, how many are older than the threshold.",
    params=(Param("kind", "choice", "Only this mismatch kind.", choices=tuple(k.value for k in MismatchKind)),
            Param("region", "region", "Only units of this six-digit division code."),
            Param("older_than", "int", "Age threshold in days for the last column.", default=30, min=0, max=3650)),
    columns=(Column("kind", "问题类型"), Column("unit", "单位代码"), Column("unit_name", "单位名称"),
             Column("open", "未处理数"), Column("oldest_days", "最长天数"), Column("older_than", "超期数")),
    query=query,
)
