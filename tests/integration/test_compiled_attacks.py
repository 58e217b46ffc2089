"""Hand-written hostile and unusual requests against the compiled reads (hub/api/compiled/): for every role, the full
HTTP response and the access-log rows are the same with the compiled path on and off (the property test in
test_compiled_reads.py draws well-formed selections; these are the requests an attacker or a confused newcomer
sends: filter values and variables carrying SQL and format syntax, colliding aliases, conflicting purposes,
several operations in one document, directives on the roots, deep and wide selections). PostgreSQL only."""

from __future__ import annotations

import json

import pytest

from tests.integration.test_compiled_reads import ROLES, city  # noqa: F401 - the module's city fixture

WHO = (*ROLES, "ADMIN@330106")

MISMATCH_NODE = "id kind class status subject source detectedAt resolvedAt causedBy details unit { code name }"

@pytest.fixture(autouse=True)
def no_compiled_failure(caplog):
    """No request here may make a compiled statement fail (a failure falls back silently: an injection would hide)."""
    yield
    failed = [r for r in caplog.records if r.name == "hub.api.compiled"]
    assert not failed, [r.getMessage() for r in failed]


@pytest.fixture
def answered(monkeypatch):
    """How many requests the compiled path answered."""
    from hub.api import compiled as compiled_pkg

    seen = {"answered": 0}
    original = compiled_pkg.answer

    def counting(*a, **k):
        out = original(*a, **k)
        seen["answered"] += out is not None
        return out

    monkeypatch.setattr(compiled_pkg, "answer", counting)
    return seen


HOSTILE_VALUES = ["'; DROP TABLE mismatches; --", "%(p0)s", "%s", "%%", "\\", "{0}", "\x00", "' OR '1'='1",
                  "330102*********234", "finance%", "_", "E'\\n'", "\u2028", "$$", "*/ SELECT 1 /*"]


def _same(city, query, variables=None, purpose="案件 2026-11", who=WHO, operation=None):  # noqa: F811
    body = {"query": query, "variables": variables or {}}
    if operation:
        body["operationName"] = operation
    for w in who:
        general = _ask_op(city, w, body, purpose, compiled=False)
        fast = _ask_op(city, w, body, purpose, compiled=True)
        assert fast == general, (w, query, variables, purpose)
    return fast


def _ask_op(city, who, body, purpose, compiled):  # noqa: F811
    from urllib.parse import quote

    from hub.api.execution import HubExecutionContext
    from tests.integration.test_compiled_reads import _log, _rows_after

    headers = {"Authorization": f"Bearer {city['tokens'][who]}"}
    if purpose:
        headers["X-Purpose"] = quote(purpose)
    before = _log(city["db"])
    HubExecutionContext.compiled_reads = compiled
    try:
        r = city["client"].post("/graphql", json=body, headers=headers)
    finally:
        HubExecutionContext.compiled_reads = True
    return (r.status_code, r.headers.get("content-type"), r.content), _rows_after(city["db"], before)


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hostile_filter_values_in_literals_and_variables(city, value, answered):  # noqa: F811
    q = ("query Q($f: MismatchFilter, $u: UnitFilter) { m: mismatches(first: 30, filter: $f) { totalCount edges { "
         f"cursor node {{ {MISMATCH_NODE} }} }} }} s: mismatchStats(filter: $f) {{ total byUnit {{ key count }} }} "
         "u: units(filter: $u) { totalCount edges { node { code } } } }")
    for f in ({"subject": value}, {"source": value}, {"unitCode": value}, {"subject": value, "source": value}):
        _same(city, q, {"f": f, "u": {"nameContains": value, "regionCode": value}})
    literal = json.dumps(value)
    _same(city, f"{{ mismatches(filter: {{subject: {literal}, source: {literal}}}) {{ totalCount edges {{ node {{ id }} }} }} }}")
    # most of these took the compiled path (a NUL is refused before execution: BAD_USER_INPUT on both)
    assert answered["answered"] >= (0 if "\x00" in value else 20), answered


def test_filters_by_variable_with_enums_lists_and_nulls(city):  # noqa: F811
    q = (f"query V($f: MismatchFilter!) {{ mismatches(first: 50, filter: $f) {{ totalCount edges {{ node {{ {MISMATCH_NODE} }} }} }} "
         "mismatchStats(filter: $f) { total byKind { key count } byClass { key count } bySource { key count } } }")
    people, units = city["people"], city["units"]
    for f in ({"kinds": ["NAME_MISMATCH", "RETIREMENT_DUE"]}, {"kinds": []}, {"class": "WARNING", "status": "OPEN"},
              {"kinds": None, "source": None, "subject": None}, {"subject": people[1].lower()},
              {"subject": " " + people[2] + " "}, {"subject": people[2][:6] + "********" + people[2][14:]},
              {"unitCode": units[0].lower()}, {"subject": units[0]}, {"source": "police,hr"}):
        _same(city, q, {"f": f})


def test_colliding_aliases_and_typename_everywhere(city):  # noqa: F811
    idn = city["people"][0]
    # the same response key for two different fields: a validation error, the same on both paths
    _same(city, '{ a: mismatches { totalCount } a: mismatchStats { total } }')
    _same(city, f'{{ a: person(idNumber: "{idn}") {{ name }} a: person(idNumber: "{idn}") {{ name }} }}')
    _same(city, f'{{ a: person(idNumber: "{idn}") {{ name }} a: person(idNumber: "{city["people"][1]}") {{ name }} }}')
    # the same alias for one field merged across fragments
    _same(city, "query Q { ...A ...B } fragment A on Query { m: mismatches(first: 3) { edges { node { id subject } } } } "
                "fragment B on Query { m: mismatches(first: 3) { edges { node { id kind details } } } }")
    _same(city, "{ __typename t: __typename mismatches(first: 2) { __typename x: __typename pageInfo { __typename } "
                "edges { __typename node { __typename u: __typename unit { __typename } } } } "
                "mismatchStats { __typename byKind { __typename } } }")
    # a field named like a SQL keyword or a quote cannot be an alias (GraphQL names), but a long one can
    long = "a" * 300
    _same(city, f"{{ {long}: mismatches(first: 1) {{ {long}: totalCount }} }}")


def test_two_roots_with_different_purposes_and_the_header(city):  # noqa: F811
    a, b = city["people"][0], city["people"][1]
    q = (f'query P {{ x: person(idNumber: "{a}", purpose: "甲") {{ name }} y: person(idNumber: "{b}", purpose: "乙") '
         f'{{ name }} m: mismatches(first: 40) {{ edges {{ node {{ kind subject details }} }} }} }}')
    for purpose in ("案件 2026-11", None, " "):
        _same(city, q, purpose=purpose)
    q = (f'{{ x: person(idNumber: "{a}", purpose: "甲") {{ name }} m: mismatches(first: 40) {{ edges {{ node {{ kind }} }} }} '
         f'n: mismatches(first: 40, filter: {{status: OPEN}}) {{ edges {{ node {{ subject }} }} }} }}')
    for purpose in ("案件 2026-11", None):
        _same(city, q, purpose=purpose)


def test_directives_on_roots_and_masked_details_behind_include(city):  # noqa: F811
    q = ("query D($yes: Boolean!, $no: Boolean!) { m: mismatches(first: 40) @include(if: $yes) { edges { node { "
         "subject details @include(if: $no) causedBy @skip(if: $no) } } } s: mismatchStats @skip(if: $yes) { total } }")
    for yes in (True, False):
        for no in (True, False):
            _same(city, q, {"yes": yes, "no": no})
    # every root skipped: an empty data object
    _same(city, "{ mismatches @skip(if: true) { totalCount } }")


def test_several_operations_in_one_document(city):  # noqa: F811
    idn = city["people"][0]
    doc = (f'query A {{ mismatches(first: 5) {{ edges {{ node {{ subject details }} }} }} }} '
           f'query B {{ person(idNumber: "{idn}") {{ name }} mismatches {{ totalCount }} }} '
           f'mutation C {{ __typename }}')
    for op in ("A", "B"):
        _same(city, doc, operation=op)


def test_deep_wide_and_big_pages(city):  # noqa: F811
    deep = ("{ mismatches(first: 100) { edges { node { unit { parent { children { code } } postings(includeEnded: true) "
            "{ edges { node { person { postings { unit { postings { totalCount edges { node { person { name } } } } } } } } } } } } } } }")
    _same(city, deep)
    wide = "{ mismatches(first: 2) { edges { node { " + " ".join(f"k{i}: kind" for i in range(60)) + " } } } }"
    _same(city, wide)
    for first in (0, 1000, 1001, -1, 2 ** 31):
        _same(city, f"{{ mismatches(first: {first}) {{ totalCount edges {{ cursor }} }} }}")
    for after in ("", "bogus", "bzotMQ==", "bzoxMDAwMDAw", "bzox"):
        _same(city, f'{{ mismatches(after: "{after}") {{ totalCount pageInfo {{ startCursor endCursor hasNextPage }} }} }}')


@pytest.mark.parametrize("value", [
    "\u2028\u2029", "\x7f", "😀𝄞", '\\"', "\\", '"', "\x01\x1f", "é\\\"é", "\\u0041", 2 ** 63 - 1, 2 ** 64, -(2 ** 63),
    2 ** 70, 1.0, -0.0, 1.5e-7, 1e300, 0.1 + 0.2, [1, "a", None, True], {"k😀": {"\u2028": "\x7f"}}])
def test_compiled_answers_encode_byte_for_byte_as_the_general_path(city, value, answered):  # noqa: F811
    """orjson (hub.api.compiled.ascii_json) against strawberry's json.dumps: the same bytes for strings with escapes,
    non-ASCII, DEL and line separators, for integers at and beyond 64 bits and for floats (the fallback)."""
    from datetime import datetime, timezone

    from hub.adapters.jsonutil import dumps
    from hub.adapters.orm import MismatchRow

    mid = f"enc-{abs(hash(repr(value))) % 10 ** 12}"
    subject = city["units"][3]
    with city["db"].session() as s, s.begin():
        s.merge(MismatchRow(id=mid, kind="OVER_QUOTA", subject=subject, unit_code=subject, source="finance",
                            status="OPEN", details=dumps({"over": value, "note": value}), caused_by=dumps([str(value)]),
                            detected_at=datetime(2030, 1, 1, tzinfo=timezone.utc),
                            updated_at=datetime(2030, 1, 1, tzinfo=timezone.utc)))
    try:
        q = "{ mismatches(first: 1) { edges { node { id subject details causedBy unit { name } } } } }"
        fast = _same(city, q, who=("ADMIN", "MONITOR", "FINANCE"))
        assert mid.encode() in fast[0][2]
        assert answered["answered"] == 2, answered  # ADMIN and FINANCE (MONITOR with details: the general path)
    finally:
        with city["db"].session() as s, s.begin():
            s.query(MismatchRow).filter(MismatchRow.id == mid).delete()
