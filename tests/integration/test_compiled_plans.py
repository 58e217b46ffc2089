"""Compiled reads (hub/api/compiled/) keep every list in the general path's order whatever plan PostgreSQL picks,
and answer byte for byte as the general path for names with every odd character class.

Since session 9 the aggregates (``json_agg``/``string_agg``) read a sorted subquery instead of sorting themselves
(``_Planner.ordered_rows``): correct only as long as nothing between the sort and the aggregate reorders rows. The
project once had a hashed join lose a postings page's order (tests/integration/test_postings_order.py); here the
planner is pushed, for the whole database, to hashed joins with a tiny ``work_mem`` (multi-batch hashes), to
parallel plans for every scan (no setup cost, ``force_parallel_mode``), and away from sorts and hash aggregates —
on a unit with hundreds of postings hired in an order that is neither the start-date, the id nor the ID-number
order — and the full HTTP response and access-log rows are compared with the general path for several roles
(MONITOR and UNIT included: UNIT is refused the compiled postings, MONITOR reads them). PostgreSQL only."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hub.adapters.database import connect
from hub.api import compiled as compiled_pkg
from hub.api.app import create_app
from hub.service_layer.tokens import create_token
from tests.conftest import new_pg_database
from tests.integration.registry_helpers import hire, make_person, make_unit
from tests.integration.test_compiled_reads import ask

POSTINGS = 260  # more than one page of 100 (the units page's postings(first:) maximum) on one unit

# Names with every character class the encoders treat apart: ASCII escapes, DEL, Latin-1 (two UTF-8 bytes with lead
# 0xC2/0xC3), U+0100–U+07FF, the BMP's three-byte characters (CJK, line separators, BOM, U+FFFF), characters beyond
# U+FFFF (four bytes, a surrogate pair in JSON), combining marks, and the JSON/SQL/format syntax.
ODD_NAMES = ["张\x7f伟", "é中", "\x80\xff", "Ā中ǿ", "\u2028\u2029中", "\ufeff\uffff", "😀𝄞中", '"\\中\\"', "\x01\x1f\t\n中",
             "a\u0301中", "%(p0)s{0}'--", "中\\u0041", "\u07ff\u0800", "\U0010ffff", "名" * 40]

PROFILES = {
    "default": {},
    "hashed": {"enable_nestloop": "off", "enable_mergejoin": "off", "work_mem": "64kB"},
    "parallel": {"parallel_setup_cost": "0", "parallel_tuple_cost": "0", "min_parallel_table_scan_size": "0",
                 "min_parallel_index_scan_size": "0", "max_parallel_workers_per_gather": "4",
                 "force_parallel_mode": "on"},
    "no_sort": {"enable_sort": "off", "enable_incremental_sort": "off", "enable_hashagg": "off",
                "enable_indexscan": "off", "enable_nestloop": "off"},
}

ROLES = ("ADMIN", "AUDITOR", "MONITOR", "UNIT", "ORGANIZATION")


@pytest.fixture(scope="module")
def big(pg_template):
    if pg_template is None:
        pytest.skip("PostgreSQL not reachable")
    url, drop = new_pg_database(pg_template)
    db = connect(url)
    rnd = random.Random(9)
    crowded = make_unit(db, approved={"ADMINISTRATIVE": POSTINGS, "WORKER": POSTINGS},
                        leaders={"DIVISION_CHIEF": 3, "DEPUTY_DIVISION_CHIEF": 1}, name="人多的单位")
    odd = [make_unit(db, approved={"WORKER": 2}, name=f"单位{n}") for n in range(4)]
    births = [date(1950, 1, 1) + timedelta(days=53 * i + 11) for i in range(POSTINGS)]
    rnd.shuffle(births)  # ID numbers (birth dates) in another order than the ids
    people = [make_person(db, birth=b, male=i % 2 == 0, name=f"人{i}") for i, b in enumerate(births)]
    starts = [date(2000, 1, 1) + timedelta(days=rnd.randrange(9000)) for _ in people]
    for i, (idn, start) in enumerate(zip(people, starts, strict=True)):  # hired in id order, started in another
        if i < 8:
            hire(db, idn, odd[i % 4], category="WORKER", start=start)
        else:
            hire(db, idn, crowded, category="WORKER" if i % 3 else "ADMINISTRATIVE", start=start,
                 rank="DIVISION_CHIEF" if i in (20, 40) else None)
    with db.session() as s, s.begin():  # odd names the domain's constructors might refuse: straight into the rows
        for i, name in enumerate(ODD_NAMES):
            s.execute(text("UPDATE persons SET name = :n WHERE id_number = :i"), {"n": name, "i": people[i * 7]})
        s.execute(text("UPDATE units SET parent_code = :p WHERE code = ANY(:c)"), {"p": crowded, "c": odd})
        for i, code in enumerate(odd):
            s.execute(text("UPDATE units SET name = :n WHERE code = :c"), {"n": ODD_NAMES[-1 - i], "c": code})
    _mismatches(db, crowded, people)
    tokens = {r: create_token(db, role=r, name=r.lower(), unit_code=crowded if r == "UNIT" else None)[1] for r in ROLES}
    db.dispose()
    yield {"url": url, "crowded": crowded, "people": people, "tokens": tokens}
    drop()


@pytest.fixture(params=list(PROFILES))
def city(request, big):
    """The database with one profile of planner settings for every new connection (ALTER DATABASE … SET)."""
    url = big["url"]
    name = make_url(url).database
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'ALTER DATABASE "{name}" RESET ALL'))
        for setting, value in PROFILES[request.param].items():
            c.execute(text(f'ALTER DATABASE "{name}" SET {setting} = \'{value}\''))
    admin.dispose()
    db = connect(url)
    yield {**big, "db": db, "client": TestClient(create_app(db))}
    db.dispose()


@pytest.fixture
def answered(monkeypatch):
    seen = {"answered": 0}
    original = compiled_pkg.answer

    def counting(*a, **k):
        out = original(*a, **k)
        seen["answered"] += out is not None
        return out

    monkeypatch.setattr(compiled_pkg, "answer", counting)
    return seen


@pytest.fixture(autouse=True)
def no_compiled_failure(caplog):
    """A compiled statement that fails falls back silently: a plan-dependent failure would hide."""
    yield
    failed = [r for r in caplog.records if r.name == "hub.api.compiled"]
    assert not failed, [r.getMessage() for r in failed]


def _same(city, query, who=ROLES, purpose="核查 2026"):
    out = {}
    for w in who:
        general = ask(city, w, query, {}, purpose, compiled=False)
        fast = ask(city, w, query, {}, purpose, compiled=True)
        assert fast == general, (w, query)
        out[w] = fast
    return out


UNITS = """{ units(first: 100) { totalCount edges { cursor node { code name parent { name }
  children { code name headcount } quotas { category approved used reserved available }
  leaderQuotas { rank approved used available }
  postings(first: 100, includeEnded: true) { totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id startDate category leaderRank person { idNumber name } } } } } } } }"""


def test_units_page_with_a_crowded_unit_is_the_general_paths_under_every_plan(city, answered):
    out = _same(city, UNITS)
    assert answered["answered"] >= 3  # ADMIN, AUDITOR, MONITOR at least (UNIT reading holders: the general path)
    import json

    body = json.loads(out["ADMIN"][0][2])
    [crowded] = [u["node"] for u in body["data"]["units"]["edges"] if u["node"]["code"] == city["crowded"]]
    page = [e["node"]["startDate"] for e in crowded["postings"]["edges"]]
    assert len(page) == 100 and page == sorted(page)
    assert crowded["postings"]["totalCount"] == POSTINGS - 8
    assert [e["cursor"] for e in crowded["postings"]["edges"]] == sorted(
        (e["cursor"] for e in crowded["postings"]["edges"]), key=lambda c: int(__import__("base64").urlsafe_b64decode(c)[2:]))


@pytest.mark.parametrize("after", [99, 199])
def test_later_postings_pages_and_every_person_lookup_under_every_plan(city, after, answered):
    from hub.api.pagination import encode_cursor

    q = (f'{{ unit(code: "{city["crowded"]}") {{ name postings(first: 100, after: "{encode_cursor(after)}") '
         f'{{ edges {{ cursor node {{ id startDate person {{ idNumber name postings {{ id unit {{ name }} }} }} }} }} }} }} }}')
    _same(city, q)
    for i in range(0, len(ODD_NAMES) * 7, 7):  # the odd names, each a one-site lookup
        _same(city, f'{{ person(idNumber: "{city["people"][i]}") {{ idNumber name postings {{ id startDate '
                    f'unit {{ name children {{ name }} }} }} }} }}', who=("ADMIN", "MONITOR"))
    assert answered["answered"] > 0


def _mismatches(db, unit, people):
    """MISMATCHES rows: person kinds with details holding person data (reads of the subject), odd characters, floats,
    integers beyond 64 bits and duplicate keys in the stored JSON (the standard library's parser: ``stored_json``),
    many equal detection times (the order's tie on id), ids not in insertion order."""
    import json as stdjson
    from datetime import datetime, timezone

    from hub.adapters.orm import MismatchRow
    from hub.api.disclosure import PERSON_DETAILS

    kinds = [k for k, keys in sorted(PERSON_DETAILS.items()) if keys]
    base = datetime(2030, 11, 3, 8, 0, tzinfo=timezone.utc)  # newer than the hires' own (retirement due)
    rows = []
    for i in range(MISMATCHES):
        kind = kinds[i % len(kinds)]
        keys = sorted(PERSON_DETAILS[kind])
        details = {k: ODD_NAMES[(i + n) % len(ODD_NAMES)] for n, k in enumerate(keys)}
        details |= {"amount": 1e-05 * i, "big": 2 ** 70 + i, "neg": -(2 ** 64) - i, "z": -0.0}
        raw = stdjson.dumps(details, ensure_ascii=i % 2 == 0)
        if i % 5 == 0:
            raw = raw[:-1] + ', "amount": 7}'  # a duplicate key: the last one counts
        when = base - timedelta(minutes=i // 10)  # ten rows share each detection time
        rows.append(MismatchRow(id=f"m-{(i * 7919) % 1000:03d}-{i}", kind=kind, subject=people[i % len(people)],
                                unit_code=unit, source="finance", status="RESOLVED", details=raw,
                                caused_by=stdjson.dumps([f"ev-{i}", ODD_NAMES[i % len(ODD_NAMES)]]),
                                detected_at=when, updated_at=when, resolved_at=when))  # beside the hires' own
    with db.session() as s, s.begin():
        s.add_all(rows)


MISMATCHES = 230


@pytest.mark.parametrize("after", [None, 99])
def test_mismatches_pages_with_stored_json_under_every_plan(city, after, answered):
    """The mismatches page (detected_at DESC, id) with details and causedBy passed through as stored, for roles that
    read details (ADMIN, FINANCE-like), are refused person data (MONITOR: the general path) or see their unit (UNIT)."""
    from hub.api.pagination import encode_cursor

    cursor = f', after: "{encode_cursor(after)}"' if after is not None else ""
    q = (f"{{ mismatches(first: 100{cursor}) {{ totalCount pageInfo {{ hasNextPage endCursor }} edges {{ cursor "
         f"node {{ id kind subject detectedAt details causedBy unit {{ name }} }} }} }} }}")
    _same(city, q)
    _same(city, f"{{ mismatches(first: 100{cursor}) {{ totalCount edges {{ node {{ id subject }} }} }} }}")
    _same(city, f"{{ mismatches(first: 100{cursor}) {{ totalCount }} }}")  # reads of details only: string_agg alone
    assert answered["answered"] > 0
