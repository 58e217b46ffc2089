"""A small city for the scorecard, evaluation and absorption tests (issue 17): two districts, three units, changes
recorded on known office dates around the 2026 Spring Festival and May Day holidays (the shipped calendar), with
backdated and future-dated effective dates, departures and a police report of a death.

Known answers (docs/supervision.md formulas), as of TODAY:

* Unit A1 (330106): five dated changes in 2026 — D1 issued Mon 3-2, effective 2026-01-01 (backdated), recorded Tue
  3-3: 1 working day, on time; D2 issued 3-2, effective 2026-09-01 (future), recorded Thu 3-5: 3, late; D3 issued Fri
  2-13, recorded Sat 2-14, a make-up working day (班): 1, on time; D4 issued 2-13, recorded Tue 2-24 after the
  festival: 2 (2-14 counts, 2-15…2-23 are holidays), late; D5 issued Thu 4-30, recorded Wed 5-6 after May Day: 1, on
  time. 3/5 = 60 %; one change names an unregistered document (undated). D1 cut its quota below use: over quota, one
  OVER_QUOTA open since 3-3 (120 days, stale); 三数一致 fails for finance's 2026-05 (paid 0, actual 2).
  Points: 12 + 20 + 15 + 12 + 0 + 10 + 0 = 69.0.
* Unit A2 (330106, self-funded: 三数一致 not judged): departures — retirement effective Tue 3-31 recorded Thu 4-2 (2,
  on time); death effective Sun 3-1 recorded Fri 3-20 (late), police reported it Wed 3-18 (2 after the evidence, on
  time); transfer-out effective 8-1 (future) recorded 6-15 (0, on time); a resignation (not a departure the
  scorecard measures). 2/3 and 1/1. Points: 20 + 13.3 + 15 + 15 + 10 + 10 + 10 = 93.3.
* Unit B1 (330108): one change D6 issued and recorded Mon 6-1; 三数一致 holds (0 = 0 ≤ 1). 100.0.
* Offices: 330108 100 % rank 1, 330106 60 % rank 2. Sources: police 2026-06 (1 month), finance 2026-05 (2), insurance
  2025-12 (7; its 2026-01 run failed), hr never.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from hub.adapters.orm import ComparisonRow
from hub.domain.registry import Person, Unit
from hub.domain.vocabulary import MismatchKind, Role
from hub.domain.workflows import Caller
from hub.service_layer import registry_changes as registry
from hub.service_layer.mismatches import MismatchBook
from hub.service_layer.unit_of_work import UnitOfWork
from hub.service_layer.workflows import documents
from tests.factories import id_number, unit_code

TODAY = date(2026, 7, 1)
A, B = "330106", "330108"
OFFICE = Caller(name="office", role=Role.ADMIN)


def at(d: date, hour: int = 10) -> datetime:
    """``hour`` o'clock on the office's date ``d`` (UTC+8), as the UTC time the hub stores."""
    return datetime(d.year, d.month, d.day, hour, tzinfo=timezone(timedelta(hours=8))).astimezone(timezone.utc)


def uow(db, d: date, hour: int = 10) -> UnitOfWork:
    return UnitOfWork(db, actor="ADMIN:office", now=at(d, hour))


def document(db, number: str, issued: date) -> None:
    with uow(db, issued, 9) as w:
        documents.record_document(w, OFFICE, number=number, title=f"关于{number}的批复", issuer="杭州市编委",
                                  issued_on=issued, kind="REPLY")
        w.commit()


def unit(db, name: str, region: str, funding: str, approved: dict, leaders: dict | None = None) -> str:
    code = unit_code()
    with uow(db, date(2025, 6, 2)) as w:
        registry.create_unit(w, unit=Unit.new(code=code, name=name, kind="GOVERNMENT_ORGAN", level="DISTRICT",
                                              region_code=region, funding=funding),
                             document_number="杭编〔2020〕1号", effective=date(2020, 1, 1))
        for cat, n in approved.items():
            registry.set_quota(w, unit_code=code, category=cat, approved=n, document_number="杭编〔2020〕2号",
                               effective=date(2020, 1, 1))
        for rank, n in (leaders or {}).items():
            registry.set_leader_quota(w, unit_code=code, rank=rank, approved=n, document_number="杭编〔2020〕3号",
                                      effective=date(2020, 1, 1))
        w.commit()
    return code


def person(db, unit_code_: str, name: str, category: str = "ADMINISTRATIVE", start: date = date(2021, 3, 1),
           on: date = date(2025, 6, 3)) -> str:
    idn = id_number(date(1980, 5, 1), True)
    with uow(db, on) as w:
        registry.register_person(w, person=Person.new(id_number=idn, name=name, education="BACHELOR"), effective=start)
        registry.start_posting(w, id_number=idn, unit_code=unit_code_, category=category, start_date=start)
        w.commit()
    return idn


def quota(db, code: str, category: str, approved: int, number: str, effective: date, recorded: date) -> None:
    with uow(db, recorded) as w:
        registry.set_quota(w, unit_code=code, category=category, approved=approved, document_number=number,
                           effective=effective)
        w.commit()


def leader_quota(db, code: str, rank: str, approved: int, number: str, effective: date, recorded: date) -> None:
    with uow(db, recorded) as w:
        registry.set_leader_quota(w, unit_code=code, rank=rank, approved=approved, document_number=number,
                                  effective=effective)
        w.commit()


def depart(db, idn: str, end: date, reason: str, recorded: date) -> None:
    with uow(db, recorded) as w:
        registry.end_posting(w, id_number=idn, end_date=end, reason=reason)
        w.commit()


def comparison(db, source: str, period: str, status: str = "SUCCEEDED") -> None:
    with UnitOfWork(db, actor="test") as w:
        w.session.add(ComparisonRow(id=f"{source}-{period}", source=source, period=period, file_name="x.csv",
                                    status=status, actor="test", started_at=at(TODAY), finished_at=at(TODAY)))
        w.commit()


def build(db) -> dict:
    u = {"A1": unit(db, "西湖区财政局", A, "FULL", {"ADMINISTRATIVE": 2, "WORKER": 1}, {"DIVISION_CHIEF": 1}),
         "A2": unit(db, "西湖区城管局", A, "SELF", {"ADMINISTRATIVE": 6}),
         "B1": unit(db, "滨江区财政局", B, "FULL", {"ADMINISTRATIVE": 1})}
    p = {"a1": person(db, u["A1"], "甲一"), "a2": person(db, u["A1"], "甲二")}
    for key in ("retiree", "deceased", "mover", "leaver"):
        p[key] = person(db, u["A2"], key)
    for number, issued in (("D1", date(2026, 3, 2)), ("D2", date(2026, 3, 2)), ("D3", date(2026, 2, 13)),
                           ("D4", date(2026, 2, 13)), ("D5", date(2026, 4, 30)), ("D6", date(2026, 6, 1))):
        document(db, number, issued)
    quota(db, u["A1"], "WORKER", 2, "D3", date(2026, 2, 13), date(2026, 2, 14))  # Saturday 班: on time
    quota(db, u["A1"], "WORKER", 3, "D4", date(2026, 2, 13), date(2026, 2, 24))  # after the festival: late
    quota(db, u["A1"], "ADMINISTRATIVE", 1, "D1", date(2026, 1, 1), date(2026, 3, 3))  # backdated, a cut: on time
    leader_quota(db, u["A1"], "DIVISION_CHIEF", 2, "D2", date(2026, 9, 1), date(2026, 3, 5))  # future: late
    quota(db, u["A1"], "WORKER", 4, "D5", date(2026, 5, 6), date(2026, 5, 6))  # after May Day: on time
    quota(db, u["A1"], "WORKER", 5, "未登记〔2026〕9号", date(2026, 6, 10), date(2026, 6, 10))  # undated
    quota(db, u["B1"], "ADMINISTRATIVE", 1, "D6", date(2026, 6, 1), date(2026, 6, 1))
    with uow(db, date(2026, 3, 18), 15) as w:  # police report the death (DECEASED_ACTIVE opens)
        MismatchBook(w).open_or_update(MismatchKind.DECEASED_ACTIVE, subject=p["deceased"], unit_code=u["A2"], source="police",
                               details={"status": "DECEASED"})
        w.commit()
    depart(db, p["retiree"], date(2026, 3, 31), "RETIREMENT", date(2026, 4, 2))
    depart(db, p["deceased"], date(2026, 3, 1), "DEATH", date(2026, 3, 20))
    depart(db, p["mover"], date(2026, 8, 1), "TRANSFER_OUT", date(2026, 6, 15))
    depart(db, p["leaver"], date(2026, 5, 20), "RESIGNATION", date(2026, 6, 20))
    for source, period, status in (("police", "2026-06", "SUCCEEDED"), ("finance", "2026-05", "SUCCEEDED"),
                                   ("insurance", "2025-12", "SUCCEEDED"), ("insurance", "2026-01", "FAILED")):
        comparison(db, source, period, status)
    return {"db": db, "units": u, "persons": p}
