"""Partner events converge regardless of delivery order and duplication (service layer, no broker, SQLite).

Property: for a per-person event history whose events carry strictly increasing ``sequence`` in history order,
applying (a) the history in order, one event per unit of work, (b) any permutation of it with duplicates (the
same CloudEvent: same id, same payload) inserted anywhere, one event per unit of work like a connector with batch
size 1, (c) that same permuted stream as one big batch, and (d) the history backwards as one batch, ends in the
same state: the same OPEN mismatches (kind, subject, unit, source and details — not ``caused_by``, which names
the events that happened to raise them), the same partner views and the same registry-verified identity. Each event goes through
its department's connector's translate step, as a connector would.

Why the finance history is constrained. Under the contract (section 4) ``sequence`` is ordered per
(source, subject), not per payroll line: once an event with a higher sequence has been applied for a person,
every lower-sequenced finance event for that person is stale and changes nothing, *whatever unit or period it
is about*. So a permutation can legitimately lose payroll lines that in-order delivery keeps. To get a
property that must hold, the generated finance history has
  * at most ONE unit per (person, period) — paying or stopping. Two units paying one person in one period (or one
    paying while another's stop comes later) is order-dependent: delivered out of order, the lower-sequenced
    unit's line is stale and never stored, so DOUBLE_PAYROLL / PAYROLL_UNIT_MISMATCH would differ;
  * periods that never go backwards in history order (finance reports month after month), so the person's
    latest finance event is always about the latest period.
And the comparison of ``partner_payroll`` is limited to the latest period: older-period lines delivered after a
newer-period one are stale and skipped, so which older periods are stored legitimately differs. Likewise a stop
keeps the name and amount of the paid line it stops only if that paid line was applied first; delivered before
it, the (then stale) paid line is never seen, so a stopped line's ``name``/``gross_amount`` are not compared,
and for the registered person finance only uses whitespace variants of the registered name (a differing
finance name on a stopped line would raise NAME_MISMATCH only when delivered in order).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import uuid
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from hub.contract.inbound import InboundEvent
from hub.adapters.database import connect
from hub.adapters.jsonutil import dumps, loads
from hub.adapters.orm import (
    MismatchRow,
    PartnerEmploymentRow,
    PartnerIdentityRow,
    PartnerInsuranceRow,
    PartnerPayrollRow,
    PersonRow,
)
from connectors.spec import partner_row
from hub.service_layer.partner_events import apply_events
from hub.service_layer.unit_of_work import UnitOfWork
from tests import events as ev
from tests.factories import id_number, unit_code
from tests.integration.registry_helpers import hire, make_person, make_unit

NAME = "张伟"
UNIT_A = unit_code(7001)  # the posting's unit
UNIT_B = unit_code(7002)  # another registered unit
UNIT_C = unit_code(7003)  # a valid code the registry does not know
UNITS = [UNIT_A, UNIT_B, UNIT_C]
GHOST = id_number(date(1979, 3, 2), male=False, serial=55)  # not in the registry
PERIODS = ["2026-09", "2026-10"]

@pytest.fixture(scope="module")
def registry_template(tmp_path_factory, sqlite_template) -> tuple[Path, str]:
    """A migrated SQLite file holding two units and one person posted at UNIT_A; copied per example."""
    path = tmp_path_factory.mktemp("ordering") / "registry.sqlite3"
    shutil.copy(sqlite_template, path)
    db = connect(f"sqlite:///{path}")
    try:
        make_unit(db, code=UNIT_A, approved={"ADMINISTRATIVE": 3})
        make_unit(db, code=UNIT_B, approved={"ADMINISTRATIVE": 3}, funding="PARTIAL", name="杭州市另一局")
        posted = make_person(db, name=NAME)
        hire(db, posted, UNIT_A)
    finally:
        db.dispose()
    con = sqlite3.connect(path)  # fold the WAL into the main file so that copying the file copies everything
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return path, posted


def fresh_db(template: Path, tmp_path: Path):
    path = tmp_path / f"{uuid.uuid4().hex}.sqlite3"
    shutil.copy(template, path)
    return connect(f"sqlite:///{path}")


# ---- applying ----------------------------------------------------------------------------------------------------

def _translated(event: dict) -> InboundEvent:
    return ev.translated(event)


def apply_one_by_one(db, events: list[dict]):
    results = []
    for e in events:
        with UnitOfWork(db, actor="test:connector") as uow:
            results.append(apply_events(uow, partner_row=partner_row, events=[_translated(e)]))
            uow.commit()
    return results


def apply_as_one_batch(db, events: list[dict]):
    with UnitOfWork(db, actor="test:connector") as uow:
        res = apply_events(uow, partner_row=partner_row, events=[_translated(e) for e in events])
        uow.commit()
    return res


# ---- the compared state ------------------------------------------------------------------------------------------

def _rows(s, model, drop=("event_id", "updated_at")) -> list[dict]:
    return [{k: v for k, v in r._mapping.items() if k not in drop} for r in s.execute(select(model.__table__))]


def _canon(rows: list[dict]) -> list[str]:
    return sorted(dumps(r) for r in rows)


def final_state(db) -> dict:
    with db.read_session() as s:
        mismatches = sorted(
            (m.kind, m.subject, m.unit_code, m.source, dumps(loads(m.details)))
            for m in s.execute(select(MismatchRow).where(MismatchRow.status == "OPEN")).scalars())
        payroll = _rows(s, PartnerPayrollRow)
        latest = {}
        for r in payroll:
            latest[r["id_number"]] = max(latest.get(r["id_number"], ""), r["period"])
        payroll_latest = []
        for r in payroll:
            if r["period"] != latest[r["id_number"]]:
                continue  # older periods: stale older-period lines are legitimately skipped out of order
            if not r["paid"]:
                r = {**r, "name": None, "gross_amount": None}  # known only if the paid line came first
            payroll_latest.append(r)
        persons = [dict(id_number=p.id_number, verified_name=p.verified_name, identity_status=p.identity_status,
                        photo_sha256=p.photo_sha256) for p in s.execute(select(PersonRow)).scalars()]
        return {
            "mismatches": mismatches,
            "identity": _canon(_rows(s, PartnerIdentityRow)),
            "employment": _canon(_rows(s, PartnerEmploymentRow)),
            "insurance": _canon(_rows(s, PartnerInsuranceRow)),
            "payroll_latest_period": _canon(payroll_latest),
            "persons": _canon(persons),
        }


# ---- histories ---------------------------------------------------------------------------------------------------

OTHER_NAMES = ["张 伟", "张玮", "李四"]


@st.composite
def histories(draw, posted: str) -> list[dict]:
    """1–8 events about one person: mostly the posted person, sometimes one the registry does not know."""
    subject = draw(st.sampled_from([posted, posted, GHOST]))
    n = draw(st.integers(1, 8))
    unit_of = draw(st.fixed_dictionaries({p: st.sampled_from(UNITS) for p in PERIODS}))
    depts = draw(st.lists(st.sampled_from(["police", "hr", "finance", "finance", "insurance"]), min_size=n, max_size=n))
    # finance periods never go backwards
    n_fin = depts.count("finance")
    fin_periods = iter(sorted(draw(st.lists(st.sampled_from(PERIODS), min_size=n_fin, max_size=n_fin))))
    specs = [(dept, next(fin_periods) if dept == "finance" else None) for dept in depts]
    events = []
    for seq, (dept, period) in enumerate(specs, start=1):
        eid = f"evt-{seq}-{dept}"
        name = draw(st.sampled_from([NAME, *OTHER_NAMES]))
        kw = dict(sequence=seq * 10, event_id=eid)
        if dept == "police":
            e = ev.police(subject, name, status=draw(st.sampled_from(["ALIVE", "DECEASED", "CANCELLED"])), **kw)
        elif dept == "hr":
            e = ev.hr(subject, name, draw(st.sampled_from(UNITS)),
                      status=draw(st.sampled_from(["EMPLOYED", "RETIRED", "LEFT"])), **kw)
        elif dept == "insurance":
            e = ev.contribution(subject, name, draw(st.sampled_from(UNITS)), period=draw(st.sampled_from(PERIODS)),
                                status=draw(st.sampled_from(["ACTIVE", "SUSPENDED", "TERMINATED"])), **kw)
        else:
            unit = unit_of[period]  # one unit per period
            if draw(st.sampled_from(["paid", "paid", "stopped"])) == "paid":
                if subject == posted:
                    name = draw(st.sampled_from([NAME, "张 伟"]))
                e = ev.paid(subject, name, unit, period=period, amount=draw(st.sampled_from(["8650.00", "9100.50"])), **kw)
            else:
                e = ev.stopped(subject, unit, period=period, **kw)
        events.append(e)
    return events


@st.composite
def scenario(draw, posted: str):
    history = draw(histories(posted))
    dups = draw(st.lists(st.integers(0, len(history) - 1), max_size=len(history)))
    delivered = draw(st.permutations(list(range(len(history))) + dups))
    return history, [history[i] for i in delivered]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_final_state_does_not_depend_on_delivery_order_or_duplicates(registry_template, tmp_path, data):
    template, posted = registry_template
    history, delivered = data.draw(scenario(posted), label="history, delivered")
    backwards = list(reversed(history))  # the most out-of-order delivery: all but the newest of a source is stale

    dbs = [fresh_db(template, tmp_path) for _ in range(4)]
    try:
        in_order = apply_one_by_one(dbs[0], history)
        assert all(r.applied == 1 and not r.conflicts for r in in_order)
        expected = final_state(dbs[0])

        one_by_one = apply_one_by_one(dbs[1], delivered)
        assert not any(r.conflicts for r in one_by_one)
        assert sum(r.applied + r.duplicates + r.stale for r in one_by_one) == len(delivered)
        assert sum(r.duplicates for r in one_by_one) == len(delivered) - len(history)
        assert final_state(dbs[1]) == expected

        for db, stream in ((dbs[2], delivered), (dbs[3], backwards)):
            batch = apply_as_one_batch(db, stream)
            assert not batch.conflicts
            assert batch.applied + batch.duplicates + batch.stale == len(stream)
            assert batch.duplicates == len(stream) - len(history)
            assert final_state(db) == expected
    finally:
        for db in dbs:
            db.dispose()


# ---- explicit examples -------------------------------------------------------------------------------------------

def _open_mismatches(db):
    with db.read_session() as s:
        return sorted((m.kind, m.subject, m.unit_code, m.details)
                      for m in s.execute(select(MismatchRow).where(MismatchRow.status == "OPEN")).scalars())


def _snapshot(db):
    with db.read_session() as s:
        return {"identity": _canon(_rows(s, PartnerIdentityRow, drop=())),
                "persons": _canon([dict(id_number=p.id_number, verified_name=p.verified_name,
                                        identity_status=p.identity_status) for p in s.execute(select(PersonRow)).scalars()]),
                "mismatches": _open_mismatches(db),
                "applied": s.execute(text("SELECT source, event_id, payload_sha256 FROM applied_events "
                                          "ORDER BY source, event_id")).all(),
                "sequences": s.execute(text("SELECT source, subject, sequence FROM subject_sequences "
                                            "ORDER BY source, subject")).all()}


def _twin(event: dict, **data) -> dict:
    twin = json.loads(json.dumps(event))
    twin["data"].update(data)
    return twin


def test_a_reused_id_with_another_payload_is_a_conflict_and_changes_nothing(db):
    idn = make_person(db, name="周六")
    e = ev.police(idn, "周陆", sequence=5)  # opens NAME_MISMATCH
    with UnitOfWork(db, actor="test") as uow:
        assert apply_events(uow, partner_row=partner_row, events=[_translated(e)]).applied == 1
        uow.commit()
    before = _snapshot(db)
    assert [m[0] for m in before["mismatches"]] == ["NAME_MISMATCH"]

    twin = _twin(e, name="周六", status="DECEASED")  # same id, other payload, and a higher sequence
    twin["sequence"] = 9
    t = _translated(twin)
    with UnitOfWork(db, actor="test") as uow:
        res = apply_events(uow, partner_row=partner_row, events=[t])
        uow.commit()
    assert res.applied == 0 and res.duplicates == 0 and res.stale == 0
    assert len(res.conflicts) == 1
    event, reason = res.conflicts[0]
    assert event is t
    assert e["id"] in reason and "different payload" in reason
    assert not res.mismatches.opened and not res.mismatches.resolved
    assert _snapshot(db) == before


def test_a_reused_id_with_another_payload_in_the_same_batch_is_a_conflict(db):
    idn = make_person(db, name="周六")
    e = ev.police(idn, "周陆", sequence=5)
    twin = _twin(e, name="周六")
    with UnitOfWork(db, actor="test") as uow:
        res = apply_events(uow, partner_row=partner_row, events=[_translated(e), _translated(e), _translated(twin)])
        uow.commit()
    assert res.applied == 1 and res.duplicates == 1
    assert [reason for _, reason in res.conflicts] == [
        f"event id {e['id']!r} from /gov/police was already applied with a different payload"]
    with db.read_session() as s:
        assert s.get(PartnerIdentityRow, idn).name == "周陆"
    assert [m[0] for m in _open_mismatches(db)] == ["NAME_MISMATCH"]


def test_redelivery_of_the_same_event_is_a_duplicate_and_changes_nothing(db):
    idn = make_person(db, name="周六")
    e = ev.police(idn, "周陆", sequence=5)
    with UnitOfWork(db, actor="test") as uow:
        apply_events(uow, partner_row=partner_row, events=[_translated(e)])
        uow.commit()
    before = _snapshot(db)
    reordered = {k: e[k] for k in reversed(list(e))}  # same payload, other key order
    with UnitOfWork(db, actor="test") as uow:
        res = apply_events(uow, partner_row=partner_row, events=[_translated(e), _translated(reordered)])
        uow.commit()
    assert (res.applied, res.duplicates, res.stale, res.conflicts) == (0, 2, 0, [])
    assert _snapshot(db) == before


def test_name_mismatch_source_follows_the_sources_whose_names_differ(db):
    idn = make_person(db, name="周六")
    for e in (ev.police(idn, "周陆", sequence=1), ev.hr(idn, "周陆", unit_code(7004), sequence=1)):
        with UnitOfWork(db, actor="test") as uow:
            apply_events(uow, partner_row=partner_row, events=[_translated(e)])
            uow.commit()
    with db.read_session() as s:
        row = s.execute(select(MismatchRow).where(MismatchRow.kind == "NAME_MISMATCH",
                                                  MismatchRow.status == "OPEN")).scalar_one()
    assert loads(row.details)["found"] == {"police": "周陆", "hr": "周陆"}
    assert row.source == "hr,police"
