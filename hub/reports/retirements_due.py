"""到龄退休预测 Retirements due: who reaches statutory retirement age (2025 gradual schedule, hub.domain.retirement)
in the next N months, by unit — for planning vacancies."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from hub.adapters.orm import PersonRow, PostingRow
from hub.domain.retirement import _add_months, statutory_retirement_date
from hub.domain.vocabulary import QuotaCategory
from hub.reports.base import OFFICE, Column, Param, Report


def query(ctx):
    until = _add_months(ctx.today, ctx.params["months"])
    units = ctx.units(region=ctx.params["region"]).subquery()
    q = (select(PostingRow.id_number, PersonRow.name, PersonRow.gender, PersonRow.birth_date, PostingRow.unit_code,
                units.c.name, PostingRow.category, PostingRow.leader_rank)
         .join(PersonRow, PersonRow.id_number == PostingRow.id_number)
         .join(units, units.c.code == PostingRow.unit_code).where(PostingRow.active)
         # nobody retires before 50 (women workers born before 1975): only the older ones need the schedule
         .where(PersonRow.birth_date < date(until.year - 49, 1, 1)))
    rows = []
    for idn, name, gender, birth, unit, unit_name, cat, rank in ctx.session.execute(q):
        on = statutory_retirement_date(birth, gender, cat == QuotaCategory.WORKER.value)
        if on < until:
            rows.append([on, idn, name, gender, birth, unit, unit_name, cat, rank or "", on <= ctx.today])
    rows.sort(key=lambda r: (r[0], r[5], r[1]))
    return rows


REPORT = Report(
    name="retirements-due",
    title="到龄退休人员预测 Retirements due",
    purpose="Persons in post reaching statutory retirement age before today + N months (already due: overdue), by "
            "date and unit: the vacancies to plan for.",
    params=(Param("months", "int", "How many months ahead.", default=12, min=1, max=120),
            Param("region", "region", "Only units of this six-digit division code.")),
    columns=(Column("retirement_date", "退休日期"), Column("id_number", "身份证号", person=True), Column("name", "姓名"),
             Column("gender", "性别"), Column("birth_date", "出生日期"), Column("unit", "单位代码"),
             Column("unit_name", "单位名称"), Column("category", "编制类型"), Column("leader_rank", "领导职务"),
             Column("overdue", "已到龄")),
    query=query,
    roles=OFFICE,  # a birth date and a retirement date: not for MONITOR (docs/access.md, masking)
)
