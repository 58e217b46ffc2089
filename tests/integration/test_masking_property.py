"""Masking is unrecoverable (issue 12, item 1): for every mismatch kind, everything a MONITOR receives — queries,
filters, counts and the `mismatchEvents` subscription, in development and production mode — is the same for two
registries that differ only in the hidden digits (7–14, the birth date) of one person's ID number.

The two ID numbers A and B share the first 6 and the last 4 characters (check character included), so the mask
shows both the same; the scenario that raises each kind is run on each registry with a ticking, deterministic clock,
partner event ids that contain the ID number, and the daily retirement check. Mismatch ids (random UUIDs) are
replaced by placeholders, and mismatches detected in the same instant are compared as a set.
"""

from __future__ import annotations

import asyncio
import csv
import json
import re
import shutil
import sqlite3
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from unittest import mock

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.adapters.database import connect
from hub.api.app import create_app
from hub.api.build import build_schema
from hub.api.context import HubContext
from hub.domain.identifiers import id_check_char, make_id_number, parse_id_number
from hub.domain.vocabulary import MismatchKind
from hub.service_layer import registry_changes
from hub.service_layer.comparison.pipeline import run_compare
from hub.service_layer.daily import run_daily_checks
from hub.service_layer.tokens import authenticate, create_token
from hub.service_layer.unit_of_work import UnitOfWork
from tests import events as ev
from tests.factories import unit_code
from tests.integration.registry_helpers import apply, hire, make_unit

P = "2026-10"
TODAY = date(2026, 11, 1)
U1, U2 = unit_code(8101), unit_code(8102)
Z = make_id_number("330106", date(1980, 1, 1), 7, True)  # another person, the same in both registries
REGION, NAME = "330106", "张伟"


# ---- two ID numbers that differ only in the hidden digits --------------------------------------------------------

@st.composite
def twin_id_numbers(draw) -> tuple[str, str]:
    """(A, B): valid ID numbers with the same first 6 and last 4 characters and different birth dates."""
    birth_a = draw(st.dates(date(1950, 1, 1), date(2002, 12, 31)))
    serial = draw(st.integers(0, 99))
    gender = draw(st.integers(0, 9))
    body_a = f"{REGION}{birth_a:%Y%m%d}{serial:02d}{gender}"
    a = body_a + id_check_char(body_a)
    start = draw(st.dates(date(1950, 1, 1), date(2002, 12, 31)))
    day = start
    while True:  # the next birth date (from `start`, wrapping) whose number has the same check character
        body_b = f"{REGION}{day:%Y%m%d}{serial:02d}{gender}"
        if day != birth_a and id_check_char(body_b) == a[-1]:
            return a, body_b + a[-1]
        day = day + timedelta(days=1) if day < date(2002, 12, 31) else date(1950, 1, 1)


def test_twins_share_the_mask_and_differ_in_the_birth_digits():
    @given(twin_id_numbers())
    def check(pair):
        a, b = pair
        assert parse_id_number(a) and parse_id_number(b)
        assert a[:6] == b[:6] and a[14:] == b[14:] and a[6:14] != b[6:14]
    check()


# ---- the scenarios: one per kind, for the person X ---------------------------------------------------------------

def _snapshot(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def _police_snapshot(path, people):
    return _snapshot(path, ["id_number", "name", "gender", "birth_date", "status"],
                     [[i, n, parse_id_number(i).gender, parse_id_number(i).birth_date.isoformat(), "ALIVE"] for i, n in people])


def _eid(x: str, n: int) -> dict:
    return {"event_id": f"evt-{x}-{n}"}  # a partner's event id that carries the ID number (as `causedBy` would)


def _quota(db, unit, approved, rank=None):
    with UnitOfWork(db, actor="test") as uow:
        if rank:
            registry_changes.set_leader_quota(uow, unit_code=unit, rank=rank, approved=approved, document_number="杭编〔2026〕9号",
                                      effective=date(2026, 6, 1))
        else:
            registry_changes.set_quota(uow, unit_code=unit, category="ADMINISTRATIVE", approved=approved,
                               document_number="杭编〔2026〕9号", effective=date(2026, 6, 1))
        uow.commit()


def _mixed(db, x):
    """A public-institution slot in an organ (混编混岗)."""
    with UnitOfWork(db, actor="test") as uow:
        registry_changes.set_quota(uow, unit_code=U1, category="PUBLIC_INSTITUTION", approved=1, document_number="杭编〔2026〕9号",
                           effective=date(2020, 1, 1))
        uow.commit()
    hire(db, x, U1, category="PUBLIC_INSTITUTION")


def _department(db):
    """A department the unit's approval does not name (擅自设立内设机构)."""
    from hub.service_layer.departments import set_up

    with UnitOfWork(db, actor="test") as uow:
        set_up(uow, unit_code=U1, name="综合科", chief_positions=0, deputy_positions=0, approved=False)
        uow.commit()


SCENARIOS = {
    MismatchKind.IDENTITY_UNKNOWN: lambda db, x, tmp: run_compare(
        db, source="police", period=P, path=_police_snapshot(tmp / "police.csv", [(Z, "李四")])),
    MismatchKind.NAME_MISMATCH: lambda db, x, tmp: apply(db, ev.police(x, "张卫", **_eid(x, 1)), ev.hr(x, "张 伟伟", U1, **_eid(x, 2))),
    MismatchKind.DECEASED_ACTIVE: lambda db, x, tmp: (hire(db, x, U1), apply(db, ev.police(x, NAME, status="DECEASED", **_eid(x, 1)))),
    MismatchKind.GHOST_PAYROLL: lambda db, x, tmp: apply(db, ev.paid(x, NAME, U1, amount="9123.45", **_eid(x, 1))),
    MismatchKind.PAYROLL_UNIT_MISMATCH: lambda db, x, tmp: (hire(db, x, U1), apply(db, ev.paid(x, NAME, U2, **_eid(x, 1)))),
    MismatchKind.DOUBLE_PAYROLL: lambda db, x, tmp: (hire(db, x, U1), apply(db, ev.paid(x, NAME, U1, **_eid(x, 1)),
                                                                            ev.paid(x, NAME, U2, **_eid(x, 2)))),
    MismatchKind.UNPAID_POSTING: lambda db, x, tmp: (hire(db, x, U1), run_compare(db, source="finance", period=P, path=_snapshot(
        tmp / "finance.csv", ["id_number", "name", "unit_code", "period", "gross_amount"], [[Z, "李四", U1, P, "8000.00"]]))),
    MismatchKind.INSURANCE_EMPLOYER_MISMATCH: lambda db, x, tmp: (hire(db, x, U1), apply(db, ev.contribution(x, NAME, U2, **_eid(x, 1)))),
    MismatchKind.INSURANCE_MISSING: lambda db, x, tmp: (hire(db, x, U1), run_compare(db, source="insurance", period=P, path=_snapshot(
        tmp / "insurance.csv", ["id_number", "name", "employer_code", "period", "base_amount", "status"],
        [[Z, "李四", U1, P, "7000.00", "ACTIVE"]]))),
    MismatchKind.HR_STATUS_CONFLICT: lambda db, x, tmp: (hire(db, x, U1), apply(db, ev.hr(x, NAME, U1, status="RETIRED", **_eid(x, 1)))),
    MismatchKind.HR_UNIT_MISMATCH: lambda db, x, tmp: (hire(db, x, U1), apply(db, ev.hr(x, NAME, U2, **_eid(x, 1)))),
    MismatchKind.RETIREMENT_DUE: lambda db, x, tmp: hire(db, x, U1, start=date(1990, 1, 1)),
    MismatchKind.OVER_QUOTA: lambda db, x, tmp: (hire(db, x, U1), _quota(db, U1, 1)),
    MismatchKind.LEADERSHIP_OVER_QUOTA: lambda db, x, tmp: (hire(db, x, U1, rank="SECTION_CHIEF"), _quota(db, U1, 0, "SECTION_CHIEF")),
    MismatchKind.HEADCOUNT_INCONSISTENT: lambda db, x, tmp: (hire(db, x, U1), run_compare(db, source="finance", period=P, path=_snapshot(
        tmp / "finance.csv", ["id_number", "name", "unit_code", "period", "gross_amount"], [[Z, "李四", U1, P, "8000.00"]]))),
    MismatchKind.LEADER_RANK_CONFLICT: lambda db, x, tmp: (hire(db, x, U1, rank="SECTION_CHIEF"),
                                                           apply(db, ev.hr(x, NAME, U1, rank="四级主任科员", **_eid(x, 1)))),
    MismatchKind.MIXED_CATEGORY: lambda db, x, tmp: _mixed(db, x),
    MismatchKind.UNAPPROVED_DEPARTMENT: lambda db, x, tmp: _department(db),
}


def test_every_kind_has_a_scenario():
    assert set(SCENARIOS) == set(MismatchKind)


@pytest.fixture(scope="module")
def base(tmp_path_factory, sqlite_template) -> Path:
    """Two units (U1 with two ADMINISTRATIVE slots and a section chief) and Z posted at U1; copied per registry."""
    path = tmp_path_factory.mktemp("masking") / "base.sqlite3"
    shutil.copy(sqlite_template, path)
    db = connect(f"sqlite:///{path}")
    try:
        make_unit(db, code=U1, approved={"ADMINISTRATIVE": 2}, leaders={"SECTION_CHIEF": 1})
        make_unit(db, code=U2, approved={"ADMINISTRATIVE": 2}, name="杭州市另一局")
        with UnitOfWork(db, actor="test") as uow:
            registry_changes.register_person(uow, person=registry_changes.Person.new(id_number=Z, name="李四"), effective=date(2020, 1, 1))
            uow.commit()
        hire(db, Z, U1)
    finally:
        db.dispose()
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return path


class TickingClock(datetime):
    """``datetime.now`` for the unit of work: the same sequence of instants in every registry."""

    t = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)

    @classmethod
    def now(cls, tz=None):
        TickingClock.t += timedelta(seconds=1)
        return TickingClock.t


MONITOR_QUERIES = [
    """{ mismatches(first: 100) { totalCount pageInfo { hasNextPage endCursor }
         edges { cursor node { id kind status subject source detectedAt resolvedAt details causedBy unit { code name } } } }
       mismatchStats { total byKind { key count } byStatus { key count } bySource { key count } byUnit { key count } }
       establishmentSummary { units categories { name approved used available } leaderRanks { name approved used available }
                              overQuotaUnits { code } }
       units(first: 10) { totalCount edges { node { code name headcount quotas { category approved used available }
                          leaderQuotas { rank approved used available } history { name validFrom } } } } }""",
    # filters and arguments that would confirm a guess: the subject as A, as B, masked; counts and lists
    """query($s: String!) { mismatches(filter: {subject: $s}) { totalCount edges { node { kind subject } } }
                           mismatchStats(filter: {subject: $s}) { total byKind { key count } } }""",
    'query($s: String!) { person(idNumber: $s) { name } }',
    '{ mismatches(filter: {kinds: [RETIREMENT_DUE]}) { totalCount } }',
    'query($s: String!) { mismatches(filter: {subject: $s, kinds: [RETIREMENT_DUE]}) { totalCount } }',
]
SUBSCRIPTION = "subscription { mismatchEvents { id kind status subject source detectedAt resolvedAt details causedBy unit { code } } }"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _canonical(obj):
    """UUIDs replaced; lists of mismatches detected in the same instant compared as sets (their order is the
    random mismatch id's)."""
    text = UUID.sub("<uuid>", json.dumps(obj, ensure_ascii=False, sort_keys=True))
    obj = json.loads(text)

    def walk(o):
        if isinstance(o, dict):
            return {k: walk(x) for k, x in o.items()}
        if isinstance(o, list):
            groups: dict = {}
            for item in map(walk, o):
                node = item.get("node", item) if isinstance(item, dict) else None
                at = json.dumps(node.get("detectedAt") if isinstance(node, dict) else None)
                groups.setdefault(at, []).append(item)
            # per instant: the sorted items, with an edge's positional cursor apart from its node
            return [(sorted(json.dumps({k: x for k, x in i.items() if k != "cursor"} if isinstance(i, dict) else i,
                                       sort_keys=True) for i in g),
                     sorted(i["cursor"] for i in g if isinstance(i, dict) and "cursor" in i)) for g in groups.values()]
        return o
    return walk(obj)


async def _observe_subscription(db, principal, scenario) -> list:
    schema = build_schema()
    ctx = HubContext(db, principal)
    stream = await schema.subscribe(SUBSCRIPTION, context_value=ctx)
    seen: list = []

    async def collect():
        async for r in stream:
            seen.append({"data": r.data, "errors": [e.message for e in r.errors or []]})

    task = asyncio.create_task(collect())
    await asyncio.sleep(0.3)  # the subscription has read where the outbox ends
    await asyncio.to_thread(scenario)
    await asyncio.sleep(0.4)  # two polls of the outbox
    n = -1
    while n != len(seen):
        n = len(seen)
        await asyncio.sleep(0.3)
    task.cancel()
    return seen


def observe(template: Path, tmp: Path, x: str, guesses: list[str], kind: MismatchKind) -> dict:
    """Everything a MONITOR receives, development and production mode, with X as the scenario's person."""
    path = tmp / f"{uuid.uuid4().hex}.sqlite3"
    shutil.copy(template, path)
    db = connect(f"sqlite:///{path}")
    work = tmp / uuid.uuid4().hex
    work.mkdir()
    try:
        TickingClock.t = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
        with mock.patch("hub.service_layer.unit_of_work.datetime", TickingClock):
            _, token = create_token(db, role="MONITOR", name="monitor")
            principal = authenticate(db, token)

            def scenario():
                with UnitOfWork(db, actor="test") as uow:
                    registry_changes.register_person(uow, person=registry_changes.Person.new(id_number=x, name=NAME),
                                             effective=date(2020, 1, 1))
                    uow.commit()
                SCENARIOS[kind](db, x, work)
                run_daily_checks(db, today=TODAY)

            streamed = asyncio.run(_observe_subscription(db, principal, scenario))
        seen = {"subscription": _canonical(streamed)}
        for mode, production in (("development", False), ("production", True)):
            client = TestClient(create_app(db, production=production))
            headers = {"Authorization": f"Bearer {token}", "X-Purpose": "oversight"}
            for i, query in enumerate(MONITOR_QUERIES):
                for g, guess in enumerate(guesses if "$s" in query else [None]):
                    r = client.post("/graphql", json={"query": query, "variables": {"s": guess} if guess else {}},
                                    headers=headers)
                    seen[f"{mode}:{i}:{g}"] = (r.status_code, _canonical(r.json()))
        return seen
    finally:
        db.dispose()


@pytest.mark.parametrize("kind", list(MismatchKind), ids=lambda k: k.value)
def test_nothing_a_monitor_receives_narrows_the_hidden_digits(kind, base, tmp_path):
    @settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck))
    @given(twin_id_numbers())
    def check(pair):
        a, b = pair
        masked = a[:6] + "*" * 8 + a[14:]
        guesses = [a, b, masked]
        seen_a = observe(base, tmp_path, a, guesses, kind)
        seen_b = observe(base, tmp_path, b, guesses, kind)
        assert seen_a == seen_b
        text = json.dumps(seen_a, ensure_ascii=False)
        for x in (a, b):  # nor any derived value: the numbers, their birth dates, the name
            assert x not in text and x[6:14] not in text and parse_id_number(x).birth_date.isoformat() not in text
        assert NAME not in text and "张卫" not in text and "9123.45" not in text
    check()
