"""The JSON Schemas under schema/events/ are the partners' contract of every event: each is checked against what
the hub really publishes (every outbox row of a day's work, on SQLite and PostgreSQL — streaming, import,
registry changes, comparisons, dead letters) and what it accepts (the inbound models of connectors.events)."""

from __future__ import annotations

import base64
import importlib.util
import json
import re
from datetime import date
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import select

from connectors.events import DATA_MODELS
from hub.adapters.orm import OutboxRow
from hub.demo_city import generate_city
from hub.domain.identifiers import parse_id_number
from hub.service_layer import registry
from hub.service_layer.compare import run_compare
from hub.service_layer.importer import import_registry
from hub.service_layer.unit_of_work import UnitOfWork
from tests import events as ev
from tests.factories import id_number
from tests.integration.registry_helpers import hire, make_person, make_unit
from tests.integration.streaming_harness import Streaming

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = {p.name.removesuffix(".schema.json"): json.loads(p.read_text(encoding="utf-8"))
           for p in (ROOT / "schema" / "events").glob("*.schema.json")}


def validator(type_: str) -> Draft202012Validator:
    return Draft202012Validator(SCHEMAS[type_], format_checker=Draft202012Validator.FORMAT_CHECKER)


def problems(event: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(event["type"]).iter_errors(event)]


def test_the_schema_files_are_what_the_export_script_writes():
    spec = importlib.util.spec_from_file_location("export_event_schemas", ROOT / "scripts" / "export_event_schemas.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--check"]) == 0
    for schema in SCHEMAS.values():
        Draft202012Validator.check_schema(schema)


def test_every_event_type_in_the_code_has_a_schema_and_every_schema_an_event_type():
    code = "\n".join(p.read_text(encoding="utf-8") for d in ("hub", "connectors") for p in (ROOT / d).rglob("*.py"))
    outbound = set(re.findall(r'"(gov\.registry\.[a-z_]+(?:\.[a-z_]+)?)"', code))
    assert outbound and set(DATA_MODELS) | outbound == set(SCHEMAS)


@pytest.mark.parametrize("type_", sorted(DATA_MODELS))
def test_inbound_schemas_name_the_fields_the_hub_reads(type_):
    model = DATA_MODELS[type_]
    data = SCHEMAS[type_]["properties"]["data"]
    assert set(data["properties"]) == set(model.model_fields)
    assert set(data["required"]) == {n for n, f in model.model_fields.items() if f.is_required()}




def _inbound_samples():
    from tests.factories import unit_code

    idn, unit = id_number(), unit_code(3)
    return {"gov.police.identity.updated": ev.police(idn, "张伟"),
            "gov.hr.employment.updated": ev.hr(idn, "张伟", unit),
            "gov.finance.payroll.paid": ev.paid(idn, "张伟", unit),
            "gov.finance.payroll.stopped": ev.stopped(idn, unit),
            "gov.insurance.contribution.recorded": ev.contribution(idn, "张伟", unit)}


BREAKS = {  # (data field, value): refused by the hub's model and by the schema alike
    "gov.police.identity.updated": [("gender", "X"), ("birth_date", "1985/06/15"), ("status", "alive"), ("name", "")],
    "gov.hr.employment.updated": [("status", "FIRED"), ("effective_date", 20261001), ("unit_code", "123")],
    "gov.finance.payroll.paid": [("gross_amount", "8,000.00"), ("gross_amount", 8000), ("period", "2026-13")],
    "gov.finance.payroll.stopped": [("period", "202610"), ("id_number", "33010619850615001")],
    "gov.insurance.contribution.recorded": [("status", "PAUSED"), ("base_amount", "1e4"), ("employer_code", None)],
}


@pytest.mark.parametrize("type_", sorted(DATA_MODELS))
def test_what_the_hub_accepts_the_schema_accepts_and_what_it_refuses_the_schema_refuses(type_):
    from connectors.events import Rejected, translate

    good = _inbound_samples()[type_]
    assert not isinstance(translate(json.dumps(good).encode(), frozenset(DATA_MODELS)), Rejected)
    assert problems(good) == []
    for field, value in BREAKS[type_]:
        bad = json.loads(json.dumps(good))
        bad["data"][field] = value
        assert isinstance(translate(json.dumps(bad).encode(), frozenset(DATA_MODELS)), Rejected), (field, value)
        assert problems(bad), (field, value)
    missing = json.loads(json.dumps(good))
    del missing["data"]["id_number"]
    assert problems(missing) and isinstance(translate(json.dumps(missing).encode(), frozenset(DATA_MODELS)), Rejected)


@pytest.fixture
def streaming(db_url, kafka_bootstrap):
    s = Streaming(db_url, kafka_bootstrap)
    yield s
    s.close()


def test_everything_the_hub_publishes_matches_its_schema(streaming, tmp_path):
    db = streaming.db
    # A bulk import (events from templates) ...
    city = tmp_path / "city"
    generate_city(city, 250, seed=3)
    import_registry(db, city)
    # ... the registry's own changes ...
    unit = make_unit(db, approved={"ADMINISTRATIVE": 3}, leaders={"SECTION_CHIEF": 1})
    a, b = make_person(db, name="张伟"), make_person(db, name="李娜", male=False, birth=date(1988, 2, 2))
    hire(db, a, unit, rank="SECTION_CHIEF")
    hire(db, b, unit)
    with UnitOfWork(db, actor="test") as uow:
        registry.update_unit(uow, code=unit, changes={"name": "杭州市测试局（新）"}, effective=date(2026, 1, 1))
        registry.set_quota(uow, unit_code=unit, category="ADMINISTRATIVE", approved=1, document_number="杭编〔2026〕3号",
                           effective=date(2026, 1, 1))  # over quota now
        registry.end_posting(uow, id_number=b, end_date=date(2026, 1, 31), reason="RESIGNATION")
        uow.commit()
    other = make_unit(db)
    with UnitOfWork(db, actor="test") as uow:
        registry.abolish_unit(uow, code=other, effective=date(2026, 2, 1))
        uow.commit()
    # ... partner events: a mismatch opened, updated and resolved, a ghost, and a poison message ...
    dead_letters = streaming.reader("registry.deadletter.v1")  # published by the connector itself, not the outbox
    streaming.start()
    ghost = id_number(birth=date(1979, 3, 3))
    for n, event in enumerate((ev.police(a, "张卫"), ev.police(a, "章伟")), 1):  # one at a time: opened, then updated
        streaming.send(event)
        streaming.wait_consumed("police", n)
    streaming.send(ev.paid(ghost, "鬼", unit))
    streaming.partner.send("police.identity.v1", a, b"{not json")
    streaming.partner.flush()
    streaming.send(ev.police(a, "张伟"))
    streaming.wait_consumed("police", 4)
    streaming.wait_consumed("finance", 1)
    dead_letters.poll_until(lambda ms: len(ms) >= 1, 60)
    # ... and monthly comparisons (PostgreSQL: staged, events written by SQL).
    snap = tmp_path / "police.csv"
    snap.write_text("id_number,name,gender,birth_date,status\n" + f"{a},张伟,M,{parse_id_number(a).birth_date},ALIVE\n"
                    + f"{b},李娜,F,{parse_id_number(b).birth_date},DECEASED\n", encoding="utf-8")
    run_compare(db, source="police", period="2026-10", path=snap)
    pay = tmp_path / "finance.csv"
    pay.write_text(f"id_number,name,unit_code,period,gross_amount\n{a},张伟,{unit},2026-10,8000.00\n", encoding="utf-8")
    run_compare(db, source="finance", period="2026-10", path=pay)

    streaming.wait_outbox_drained()
    with db.read_session() as s:
        values = [json.loads(v) for v in s.execute(select(OutboxRow.value)).scalars()] + dead_letters.values()
    dead_letters.close()
    seen: dict[str, int] = {}
    bad = []
    for event in values:
        seen[event["type"]] = seen.get(event["type"], 0) + 1
        for p in problems(event):
            bad.append((event["type"], p))
    assert not bad, bad[:20]
    assert set(seen) == set(SCHEMAS) - set(DATA_MODELS), sorted(set(SCHEMAS) - set(DATA_MODELS) - set(seen))
    dead = next(e for e in values if e["type"] == "gov.registry.deadletter")
    assert base64.b64decode(dead["data"]["raw_base64"]) == b"{not json"
