"""Building a small registry through the service layer, for integration tests."""

from __future__ import annotations

from datetime import date

from hub.domain.registry import Person, Unit
from hub.service_layer import registry_changes
from hub.service_layer.unit_of_work import UnitOfWork
from tests.factories import id_number, unit_code


def make_unit(db, *, approved: dict | None = None, leaders: dict | None = None, funding="FULL", code=None,
              effective=date(2020, 1, 1), name="杭州市测试局") -> str:
    code = code or unit_code()
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.create_unit(uow, unit=Unit.new(code=code, name=name, kind="GOVERNMENT_ORGAN", level="CITY",
                                                region_code="330100", funding=funding), effective=effective)
        for cat, n in (approved or {"ADMINISTRATIVE": 5}).items():
            registry_changes.set_quota(uow, unit_code=code, category=cat, approved=n, document_number="杭编〔2020〕1号", effective=effective)
        for rank, n in (leaders or {}).items():
            registry_changes.set_leader_quota(uow, unit_code=code, rank=rank, approved=n, document_number="杭编〔2020〕2号", effective=effective)
        uow.commit()
    return code


def make_person(db, *, birth=date(1985, 6, 15), male=True, name="张伟", effective=date(2020, 1, 1)) -> str:
    idn = id_number(birth, male)
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.register_person(uow, person=Person.new(id_number=idn, name=name, education="BACHELOR"), effective=effective)
        uow.commit()
    return idn


def hire(db, idn, unit, category="ADMINISTRATIVE", rank=None, start=date(2021, 3, 1)):
    with UnitOfWork(db, actor="test") as uow:
        row = registry_changes.start_posting(uow, id_number=idn, unit_code=unit, category=category, leader_rank=rank, start_date=start)
        uow.commit()
        return row


def apply(db, *events: dict):
    """Apply partner CloudEvents (tests/events.py) in-process, as a connector's batch would."""
    from connectors.spec import partner_row
    from hub.service_layer.partner_events import apply_events
    from tests.events import translated as as_the_connector_reads_it

    translated = [as_the_connector_reads_it(e) for e in events]  # each by its topic's department (a Rejected fails)
    with UnitOfWork(db, actor="test:connector") as uow:
        res = apply_events(uow, partner_row=partner_row, events=translated)
        uow.commit()
    return res
