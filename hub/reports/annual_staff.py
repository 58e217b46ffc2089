"""年报人员表 The annual report's staff table: persons in post on 31 December of a year by district and level —
gender, age bands, education — from history (person versions and postings as of that day)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from hub.adapters import history
from sqlalchemy import func, select

from hub.adapters.orm import PersonVersionRow, PostingRow
from hub.reports.annual_report import YEAR, posting_on, units_on
from hub.reports.base import OFFICE, Column, Param, Report

LEVELS = ("CITY", "DISTRICT", "TOWNSHIP")


def query(ctx):
    on = date(ctx.params["year"], 12, 31)
    units = units_on(ctx, on)
    # On 31 December a person's age is the year minus the birth year: the persons in post that day (postings
    # running, joined to the person version in force) are counted in SQL by unit, gender, birth year and education.
    born = func.extract("year", PersonVersionRow.birth_date)
    q = (select(PostingRow.unit_code, PersonVersionRow.gender, born, PersonVersionRow.education, func.count())
         .join(PersonVersionRow, PersonVersionRow.id_number == PostingRow.id_number)
         .where(*posting_on(on), history.as_of_filter(PersonVersionRow, on))
         .group_by(PostingRow.unit_code, PersonVersionRow.gender, born, PersonVersionRow.education))
    groups: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * 9)
    for code, gender, birth_year, education, n in ctx.session.execute(q):
        u = units.get(code)
        if u is None:
            continue
        g = groups[(u.region_code, u.level)]
        age = on.year - int(birth_year)
        g[0] += n
        g[1 + (gender == "F")] += n
        g[3 + (age >= 35) + (age >= 55)] += n
        g[6 + (0 if education in ("DOCTORATE", "MASTER") else 1 if education == "BACHELOR" else 2)] += n
    return [[region, level, *g] for (region, level), g in sorted(groups.items(), key=lambda kv: (kv[0][0], LEVELS.index(kv[0][1])))]


REPORT = Report(
    name="annual-staff",
    title="机构编制年报·人员情况 Annual report: staff",
    purpose="Persons in post on 31 December of the year by district and level: men, women, age bands, education "
            "(as recorded then).",
    params=(YEAR, Param("region", "region", "Only units of this six-digit division code.")),
    columns=(Column("region", "区划"), Column("level", "层级"), Column("headcount", "人数"), Column("male", "男"),
             Column("female", "女"), Column("under_35", "35岁以下"), Column("age_35_54", "35-54岁"),
             Column("age_55_plus", "55岁及以上"), Column("postgraduate", "研究生"), Column("bachelor", "大学本科"),
             Column("below_bachelor", "本科以下")),
    query=query,
    roles=OFFICE,  # ages from birth dates: not for MONITOR
)
