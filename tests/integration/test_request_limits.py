"""Issue 12, item 9: the cost limit counts variable values, oversized request bodies are refused 413 before they are
parsed (chunked ones too), and LIKE wildcards in name filters match themselves."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.config import load_settings
from hub.service_layer.deadletters import DeadLetterFilter, list_dead_letters
from hub.service_layer.tokens import create_token
from tests.factories import unit_code
from tests.integration.registry_helpers import make_person, make_unit

COSTLY = "query($n: Int, $m: Int) { units(first: $n) { edges { node { postings(first: $m) { totalCount } } } } }"


@pytest.fixture
def api(db):
    token = create_token(db, role="ADMIN", name="admin")[1]
    client = TestClient(create_app(db))

    def gql(query, variables=None, *, c=None):
        r = (c or client).post("/graphql", json={"query": query, "variables": variables or {}},
                               headers={"Authorization": f"Bearer {token}", "X-Purpose": quote("核查")})
        return r

    return {"db": db, "client": client, "gql": gql, "token": token}


def _messages(body: dict) -> str:
    return " ".join(e["message"] for e in body.get("errors") or ())


def test_a_query_refused_with_literal_page_sizes_is_refused_with_the_same_sizes_as_variables(api):
    literal = api["gql"]("{ units(first: 500) { edges { node { postings(first: 500) { totalCount } } } } }").json()
    assert "cost limit" in _messages(literal)
    r = api["gql"](COSTLY, {"n": 500, "m": 500})
    body = r.json()
    assert "cost limit" in _messages(body) and body.get("data") is None, body
    assert body["errors"][0]["extensions"]["code"] == "COST_LIMIT"
    # small pages through the same variables still run
    ok = api["gql"](COSTLY, {"n": 2, "m": 3}).json()
    assert "errors" not in ok and ok["data"]["units"]["edges"] == []


def test_variable_costs_follow_fragments_and_the_named_operation(api):
    doc = ("fragment P on Unit { postings(first: $m) { totalCount } } "
           "query Big($n: Int, $m: Int) { units(first: $n) { edges { node { ...P } } } } "
           "query Small { units(first: 1) { totalCount } }")
    r = api["client"].post("/graphql", json={"query": doc, "variables": {"n": 400, "m": 400}, "operationName": "Big"},
                           headers={"Authorization": f"Bearer {api['token']}"}).json()
    assert "cost limit" in _messages(r), r


def test_the_variable_cost_uses_the_configured_limit(api, monkeypatch):
    monkeypatch.setenv("HUB_GRAPHQL_MAX_COST", "10")
    tight = TestClient(create_app(api["db"], settings=load_settings()))
    q = "query($n: Int) { units(first: $n) { totalCount } }"
    assert "cost limit" in _messages(api["gql"](q, {"n": 11}, c=tight).json())
    assert "errors" not in api["gql"](q, {"n": 10}, c=tight).json()


def test_a_body_over_the_limit_is_refused_413_before_it_is_parsed(api, monkeypatch):
    monkeypatch.setenv("HUB_HTTP_MAX_BODY_BYTES", "2000")
    small = TestClient(create_app(api["db"], settings=load_settings()))
    headers = {"Authorization": f"Bearer {api['token']}", "Content-Type": "application/json"}
    padding = "#" + "x" * 3000 + "\n"
    big = json.dumps({"query": padding + "{ units { totalCount } }"}).encode()
    r = small.post("/graphql", content=big, headers=headers)
    assert r.status_code == 413 and r.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    # not JSON at all, but too large: still 413 (nothing parsed it)
    assert small.post("/graphql", content=b"{" * 5000, headers=headers).status_code == 413

    def chunks():  # no Content-Length: sent chunked
        for _ in range(10):
            yield b" " * 500
        yield b'{"query": "{ units { totalCount } }"}'

    r = small.post("/graphql", content=chunks(), headers=headers)
    assert r.status_code == 413, r.text
    # under the limit, chunked or not, the request is answered as before
    ok = small.post("/graphql", content=iter([b'{"query": ', b'"{ units { totalCount } }"}']), headers=headers)
    assert ok.status_code == 200 and ok.json()["data"]["units"]["totalCount"] == 0
    assert api["gql"]("{ units(first: 1) { totalCount } }", c=small).status_code == 200


def test_the_default_body_limit_is_one_mebibyte(api):
    assert load_settings().http_max_body_bytes == 1024 * 1024
    headers = {"Authorization": f"Bearer {api['token']}", "Content-Type": "application/json"}
    body = json.dumps({"query": "#" + "x" * (1024 * 1024) + "\n{ units { totalCount } }"}).encode()
    assert api["client"].post("/graphql", content=body, headers=headers).status_code == 413


def test_like_wildcards_in_name_filters_match_only_themselves(api):
    db = api["db"]
    make_unit(db, name="杭州市财政局")
    make_unit(db, name="100%_达标办")
    make_person(db, name="张伟")
    make_person(db, name="李_明")

    def units(text):
        r = api["gql"]("query($t: String) { units(filter: {nameContains: $t}) { edges { node { name } } } }", {"t": text}).json()
        return sorted(e["node"]["name"] for e in r["data"]["units"]["edges"])

    def persons(text):
        r = api["gql"]("query($t: String) { persons(filter: {nameContains: $t}) { edges { node { name } } } }", {"t": text}).json()
        return sorted(e["node"]["name"] for e in r["data"]["persons"]["edges"])

    assert units("%") == ["100%_达标办"]
    assert units("_") == ["100%_达标办"]
    assert units("市%局") == []
    assert units("财政") == ["杭州市财政局"]
    assert persons("_") == ["李_明"]
    assert persons("%") == []
    assert persons("/") == []


def test_dead_letter_reason_filter_escapes_wildcards(db):
    from datetime import datetime, timezone

    from hub.adapters.orm import DeadLetterRow

    with db.session() as s, s.begin():
        for offset, reason in enumerate(("bad id_number", "100% broken", "no such unit")):
            s.add(DeadLetterRow(connector="police", topic="t", partition=0, offset=offset, key=None, raw_base64="", reason=reason,
                                created_at=datetime.now(timezone.utc)))
    assert [r.reason for r in list_dead_letters(db, DeadLetterFilter(reason_contains="%"))] == ["100% broken"]
    assert [r.reason for r in list_dead_letters(db, DeadLetterFilter(reason_contains="_"))] == ["bad id_number"]


def test_a_variables_default_value_counts_as_its_value(api):
    """`query($n: Int = 500)` without a value for $n runs with 500: the cost counts 500, not the page default."""
    doc = "query($n: Int = 500) { units(first: $n) { edges { node { postings(first: $n) { totalCount } } } } }"
    body = api["gql"](doc).json()
    assert body.get("data") is None and body["errors"][0]["extensions"]["code"] == "COST_LIMIT", body
    # the request's own value still wins over the default
    assert "errors" not in api["gql"](doc, {"n": 3}).json()


@pytest.mark.parametrize("field", ["onboardings", "hiringPlans", "documents"])
def test_workflow_connections_count_their_default_page_size(api, monkeypatch, field):
    """A connection without `first` returns DEFAULT_FIRST rows: the cost counts that many, as for `units`."""
    monkeypatch.setenv("HUB_GRAPHQL_MAX_COST", "49")
    tight = TestClient(create_app(api["db"], settings=load_settings()))
    r = api["gql"]("{ %s { edges { node { __typename } } } }" % field, c=tight).json()
    assert "cost limit" in _messages(r), r
    assert "errors" not in api["gql"]("{ %s(first: 49) { edges { node { __typename } } } }" % field, c=tight).json()


def test_every_paged_field_of_the_schema_counts_its_default_page_size():
    """A field with a `first` argument added later is counted as a connection too (or this fails)."""
    from graphql import GraphQLObjectType

    from hub.api.build import schema
    from hub.api.limits import LIST_FIELDS

    paged = {name for t in schema._schema.type_map.values() if isinstance(t, GraphQLObjectType)
             and not t.name.startswith("__") for name, f in t.fields.items() if "first" in f.args}
    assert paged and paged <= LIST_FIELDS, paged - LIST_FIELDS


def test_like_wildcards_in_the_document_register_filter_match_only_themselves(api):
    record = ("mutation($d: DocumentInput!) { recordDocument(document: $d) { __typename } }")
    for number, title in (("杭编〔2026〕1号", "关于100%_达标的通知"), ("杭编〔2026〕2号", "关于机构调整的通知")):
        r = api["gql"](record, {"d": {"number": number, "title": title, "issuer": "杭州市编办",
                                      "issuedOn": "2026-01-05", "kind": "NOTICE"}}).json()
        assert r["data"]["recordDocument"]["__typename"] == "DocumentPayload", r

    def titles(text):
        r = api["gql"]("query($t: String) { documents(contains: $t) { edges { node { title } } } }", {"t": text}).json()
        return sorted(e["node"]["title"] for e in r["data"]["documents"]["edges"])

    assert titles("%") == ["关于100%_达标的通知"]
    assert titles("_") == ["关于100%_达标的通知"]
    assert titles("关于%通知") == []
    assert titles("机构") == ["关于机构调整的通知"]


def test_json_nested_deeper_than_the_parser_goes_is_a_clean_400(api, caplog):
    """A body of 100 KB of `[` is under the size limit: it is refused as JSON that cannot be parsed, not a 500, and
    nothing is logged at ERROR. Variables nested as deep as the parser does go get a clean GraphQL error."""
    caplog.set_level("INFO")
    q = "query($v: String) { units(filter: {nameContains: $v}) { totalCount } }"
    deep = '{"query": %s, "variables": {"v": %s}}' % (json.dumps(q), "[" * 50_000 + "]" * 50_000)
    headers = {"Authorization": f"Bearer {api['token']}", "Content-Type": "application/json"}
    r = api["client"].post("/graphql", content=deep, headers=headers)
    assert r.status_code == 400, (r.status_code, r.text[:200])
    for depth in (900, 990):
        body = '{"query": %s, "variables": {"v": %s}}' % (json.dumps(q), "[" * depth + "]" * depth)
        r = api["client"].post("/graphql", content=body, headers=headers)
        assert r.status_code in (200, 400) and r.json()["errors"], (depth, r.status_code, r.text[:200])
        assert all(e.get("extensions", {}).get("code") != "INTERNAL_SERVER_ERROR" for e in r.json()["errors"]), r.text[:300]
    assert not [rec for rec in caplog.records if rec.levelno >= 40], [rec.getMessage()[:200] for rec in caplog.records]


def test_a_websocket_message_nested_too_deeply_closes_the_socket_cleanly(api, caplog):
    caplog.set_level("INFO")
    with api["client"].websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_text('{"type": "connection_init", "payload": ' + "[" * 50_000 + "]" * 50_000 + "}")
        with pytest.raises(Exception) as closed:
            ws.receive_text()
    assert getattr(closed.value, "code", None) == 4400, closed.value
    assert not [rec for rec in caplog.records if rec.levelno >= 40], [rec.getMessage()[:200] for rec in caplog.records]


def test_text_longer_than_its_column_is_invalid_input_on_every_database(api, caplog):
    """PostgreSQL refused it with a database error (\"Unexpected error.\", a traceback at ERROR); SQLite stored it."""
    caplog.set_level("INFO")
    db = api["db"]
    unit = make_unit(db, approved={"ADMINISTRATIVE": 2})
    long = "长" * 5000
    cases = {
        "recordDocument": ('mutation($t: String!) { r: recordDocument(document: {number: $t, title: "t", issuer: "i", '
                           'issuedOn: "2026-01-01", kind: NOTICE}) { __typename ... on InvalidInput { message } } }'),
        "setQuota": ('mutation($t: String!) { r: setQuota(unitCode: "%s", category: ADMINISTRATIVE, approved: 3, '
                     'effectiveDate: "2026-01-01", documentNumber: $t) { __typename ... on InvalidInput { message } } }' % unit),
        "createUnit": ('mutation($t: String!) { r: createUnit(unit: {code: "%s", name: $t, kind: GOVERNMENT_ORGAN, '
                       'level: CITY, regionCode: "330100", funding: FULL}, effectiveDate: "2026-01-01") '
                       '{ __typename ... on InvalidInput { message } } }' % unit_code()),
        "submitOnboarding": ('mutation($t: String!) { r: submitOnboarding(application: {unitCode: "%s", '
                             'idNumber: "110101199003070011", name: $t, category: ADMINISTRATIVE, '
                             'route: CIVIL_SERVICE_EXAM, startDate: "2026-03-01"}) { __typename ... on InvalidInput { message } } }' % unit),
    }
    for name, query in cases.items():
        body = api["gql"](query, {"t": long}).json()
        assert "errors" not in body, (name, body)
        assert body["data"]["r"]["__typename"] == "InvalidInput" and "at most" in body["data"]["r"]["message"], (name, body)
    assert not [rec for rec in caplog.records if rec.levelno >= 40], [rec.getMessage()[:200] for rec in caplog.records]
    # nothing was written
    assert api["gql"]("{ documents { totalCount } }").json()["data"]["documents"]["totalCount"] == 0


def test_a_subscription_counts_its_variables_too(api):
    """The variable cost check ran before queries and mutations only: a subscription refused with a literal page
    size ran with the same size as a variable, for every event."""
    import asyncio

    from hub.api.build import build_schema
    from hub.api.context import HubContext
    from hub.service_layer.tokens import authenticate

    principal = authenticate(api["db"], api["token"])
    doc = "subscription($n: Int) { mismatchEvents { unit { postings(first: $n) { totalCount } } } }"

    async def first(variables):
        stream = await build_schema(max_cost=10).subscribe(doc, variable_values=variables,
                                                           context_value=HubContext(api["db"], principal))
        try:
            return await asyncio.wait_for(stream.__anext__(), 2)
        except asyncio.TimeoutError:
            return None  # running: waiting for events
        finally:
            await stream.aclose()

    refused = asyncio.run(first({"n": 500}))
    assert refused is not None and refused.errors[0].extensions["code"] == "COST_LIMIT", refused
    assert asyncio.run(first({"n": 5})) is None


def test_aliased_reports_are_counted_so_one_request_cannot_run_thirty(api):
    """Each `report` costs FIXED_COST (it scans the registry): five fit the default limit, six do not."""
    from hub.api.limits import FIXED_COST

    assert FIXED_COST["report"] * 5 <= 50_000 < FIXED_COST["report"] * 6
    def doc(n):
        return "{ %s }" % " ".join(f'r{i}: report(name: "units-by-kind") {{ name }}' for i in range(n))
    ok = api["gql"](doc(5)).json()
    assert "errors" not in ok and len(ok["data"]) == 5, ok
    refused = api["gql"](doc(6)).json()
    assert refused.get("data") is None and refused["errors"][0]["extensions"]["code"] == "COST_LIMIT", refused
    # the same through a fragment
    frag = api["gql"]("fragment R on Query { %s } { ...R }" % " ".join(
        f'r{i}: report(name: "units-by-kind") {{ name }}' for i in range(6))).json()
    assert frag["errors"][0]["extensions"]["code"] == "COST_LIMIT", frag


def test_every_unpaged_list_of_the_query_root_is_costed_or_known_small(api):
    """A root list without `first` reads every row its filter matches; aliased thirty times (the alias limit) it ran
    thirty league tables (`evaluations`: one decided result per unit of the city) at cost 0. Each such field is in
    FIXED_COST — ten league tables fit a request, eleven do not — or is a list known to stay small (the report
    catalogue, a year's handful of dynamic indicators)."""
    from graphql import GraphQLList, GraphQLNonNull

    from hub.api.build import schema
    from hub.api.limits import FIXED_COST, LIST_FIELDS

    small = {"reports", "evaluationIndicators"}
    unpaged = {n for n, f in schema._schema.query_type.fields.items()
               if isinstance(f.type.of_type if isinstance(f.type, GraphQLNonNull) else f.type, GraphQLList)} - LIST_FIELDS
    assert unpaged - small - set(FIXED_COST) == set(), unpaged - small - set(FIXED_COST)
    doc = "{ %s }" % " ".join(f"e{i}: evaluations(year: 2026) {{ score }}" for i in range(11))
    refused = api["gql"](doc).json()
    assert refused.get("data") is None and refused["errors"][0]["extensions"]["code"] == "COST_LIMIT", refused
    ten = "{ %s }" % " ".join(f"e{i}: evaluations(year: 2026) {{ score }}" for i in range(10))
    assert "errors" not in api["gql"](ten).json()
