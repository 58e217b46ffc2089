"""疑似吃空饷 Suspected ghost pay: open mismatches that say someone is paid who should not be — paid without a
posting in the registry, paid by two units, paid while recorded deceased — each with its evidence."""

from __future__ import annotations

import json

from sqlalchemy import select

from hub.adapters.orm import MismatchRow, PersonRow
from hub.domain.calendar import office_date
from hub.reports.base import OFFICE, Column, Param, Report

KINDS = ("GHOST_PAYROLL", "DOUBLE_PAYROLL", "DECEASED_ACTIVE", "PAYROLL_UNIT_MISMATCH")


def query(ctx):
    q = (select(MismatchRow.kind, MismatchRow.subject, PersonRow.name, MismatchRow.unit_code, MismatchRow.source,
                MismatchRow.detected_at, MismatchRow.details)
         .outerjoin(PersonRow, PersonRow.id_number == MismatchRow.subject)
         .where(MismatchRow.status == "OPEN", MismatchRow.kind.in_(KINDS)))
    if ctx.region or ctx.params["region"]:
        q = q.where(MismatchRow.unit_code.in_(ctx.unit_codes(active_only=False, region=ctx.params["region"])))
    found = ctx.session.execute(q).all()
    names = ctx.unit_names({r[3] for r in found if r[3]})
    rows = []
    for kind, subject, name, unit, source, at, details in found:
        evidence = json.loads(details or "{}")
        rows.append([kind, subject, name or evidence.get("name") or "", unit or "", names.get(unit, ""), source or "",
                     office_date(at), json.dumps(evidence, ensure_ascii=False, sort_keys=True)])
    rows.sort(key=lambda r: (KINDS.index(r[0]), r[6], r[1]))
    return rows


REPORT = Report(
    name="ghost-pay",
    title="疑似吃空饷线索 Suspected ghost pay",
    purpose="Open GHOST_PAYROLL, DOUBLE_PAYROLL, DECEASED_ACTIVE and PAYROLL_UNIT_MISMATCH findings per person with the "
            "evidence (the finding's details); person-level.",
    params=(Param("region", "region", "Only units of this six-digit division code."),),
    columns=(Column("kind", "线索类型"), Column("id_number", "身份证号", person=True), Column("name", "姓名"),
             Column("unit", "单位代码"), Column("unit_name", "单位名称"), Column("source", "来源"),
             Column("detected", "发现日期"), Column("evidence", "证据")),
    query=query,
    roles=OFFICE,
)
