"""A small city for the report tests (issue 16): four units in two districts, seven persons, a cut below use, a
hiring plan, a departure. Every report test states its known answers against this city."""

from __future__ import annotations

from datetime import date

from hub.domain.registry import Person, Unit
from hub.domain.vocabulary import Role
from hub.domain.workflows import Caller
from hub.service_layer import registry_changes
from hub.service_layer.unit_of_work import UnitOfWork
from tests.factories import id_number, unit_code

TODAY = date(2026, 7, 1)  # the day the tests run the reports as of
CITY, DISTRICT = "330100", "330106"


def _unit(db, *, name, kind="GOVERNMENT_ORGAN", level="CITY", region=CITY, funding="FULL", parent=None,
          approved=None, leaders=None):
    code = unit_code()
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.create_unit(uow, unit=Unit.new(code=code, name=name, kind=kind, level=level, region_code=region,
                                                funding=funding, parent_code=parent),
                             document_number="杭编〔2020〕1号", effective=date(2020, 1, 1))
        for cat, n in (approved or {}).items():
            registry_changes.set_quota(uow, unit_code=code, category=cat, approved=n, document_number="杭编〔2020〕2号",
                               effective=date(2020, 1, 1))
        for rank, n in (leaders or {}).items():
            registry_changes.set_leader_quota(uow, unit_code=code, rank=rank, approved=n, document_number="杭编〔2020〕3号",
                                      effective=date(2020, 1, 1))
        uow.commit()
    return code


def _person(db, name, birth, male, education):
    idn = id_number(birth, male)
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.register_person(uow, person=Person.new(id_number=idn, name=name, education=education),
                                 effective=date(2020, 1, 1))
        uow.commit()
    return idn


def _hire(db, idn, unit, category="ADMINISTRATIVE", rank=None, start=date(2021, 3, 1)):
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.start_posting(uow, id_number=idn, unit_code=unit, category=category, leader_rank=rank,
                               start_date=start)
        uow.commit()


def build(db) -> dict:
    """The city; returns unit codes and person ID numbers by name."""
    u = {}
    u["bureau"] = _unit(db, name="杭州市财政局", approved={"ADMINISTRATIVE": 3, "WORKER": 1},
                        leaders={"DIVISION_CHIEF": 1, "DEPUTY_DIVISION_CHIEF": 2})
    u["branch"] = _unit(db, name="西湖区财政局", level="DISTRICT", region=DISTRICT, parent=u["bureau"],
                        approved={"ADMINISTRATIVE": 1})
    u["school"] = _unit(db, name="杭州市第一中学", kind="PUBLIC_INSTITUTION", funding="PARTIAL",
                        approved={"PUBLIC_INSTITUTION": 3})
    u["street"] = _unit(db, name="西湖区转塘街道办事处", level="TOWNSHIP", region=DISTRICT,
                        approved={"ADMINISTRATIVE": 2}, leaders={"SECTION_CHIEF": 1})
    p = {}
    for name, birth, male, edu in (("张一", date(1966, 8, 15), True, "MASTER"),
                                   ("李二", date(1985, 6, 15), False, "BACHELOR"),
                                   ("王三", date(1990, 1, 20), True, "BACHELOR"),
                                   ("赵四", date(1972, 2, 10), False, "COLLEGE"),
                                   ("钱五", date(1998, 11, 5), True, "DOCTORATE"),
                                   ("孙六", date(1980, 3, 1), False, "SECONDARY"),
                                   ("周七", date(1988, 4, 4), True, "BACHELOR")):
        p[name] = _person(db, name, birth, male, edu)
    _hire(db, p["张一"], u["bureau"], rank="DIVISION_CHIEF")
    _hire(db, p["李二"], u["bureau"], rank="DEPUTY_DIVISION_CHIEF", start=date(2022, 5, 9))
    _hire(db, p["王三"], u["branch"])
    _hire(db, p["赵四"], u["school"], category="PUBLIC_INSTITUTION")
    _hire(db, p["钱五"], u["street"], rank="SECTION_CHIEF", start=date(2026, 6, 2))
    _hire(db, p["孙六"], u["bureau"], category="WORKER", start=date(2026, 6, 15))
    _hire(db, p["周七"], u["school"], category="PUBLIC_INSTITUTION")
    with UnitOfWork(db, actor="test") as uow:
        # a cut below use: the branch is over quota (OVER_QUOTA opens)
        registry_changes.set_quota(uow, unit_code=u["branch"], category="ADMINISTRATIVE", approved=0,
                           document_number="杭编〔2025〕7号", effective=date(2025, 1, 1))
        # 周七 resigns
        registry_changes.end_posting(uow, id_number=p["周七"], end_date=date(2026, 6, 20), reason="RESIGNATION")
        uow.commit()
    return {"db": db, "units": u, "people": p}


def plan(db, unit: str, slots: int, year: int, category="PUBLIC_INSTITUTION"):
    """An approved hiring plan of ``slots`` slots (用编计划): they are reserved."""
    from hub.service_layer.workflows.plans import decide_hiring_plan, submit_hiring_plan

    office = Caller(name="office", role=Role.ADMIN)
    with UnitOfWork(db, actor="test") as uow:
        row = submit_hiring_plan(uow, office, unit_code=unit, year=year, category=category, slots=slots, reason="补充教师")
        uow.commit()
        pid = row.id
    with UnitOfWork(db, actor="test") as uow:
        decide_hiring_plan(uow, office, b"k" * 32, pid, True, None, None)
        uow.commit()
