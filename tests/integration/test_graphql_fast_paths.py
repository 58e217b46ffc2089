"""The GraphQL read path's shortcuts keep every behaviour: holders joined to unit postings (purpose, refusals, audit),
counts only when selected, lazy cursors, the leaner executor, the token cache, the daily checks' own process."""

import enum
import time
from typing import Annotated
from datetime import date
from urllib.parse import quote

import pytest
import strawberry
from graphql.pyutils import Undefined
from strawberry.scalars import JSON
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from hub.adapters.orm import AccessLogRow, MismatchRow
from hub.api.app import TokenCache, create_app
from hub.api.execution import HubExecutionContext, direct
from hub.service_layer.tokens import create_token, revoke_token
from tests.integration.registry_helpers import hire, make_person, make_unit

PAGE = """query Page { units(first: 10) { edges { node { code postings(first: 10) { edges { node { category
            person { idNumber name } } } } } } } }"""


@pytest.fixture
def town(db):
    unit = make_unit(db, approved={"ADMINISTRATIVE": 5})
    other = make_unit(db, approved={"ADMINISTRATIVE": 5})
    people = [make_person(db, name=f"人{i}") for i in range(3)]
    for idn in people[:2]:
        hire(db, idn, unit)
    hire(db, people[2], other)
    tokens = {role: create_token(db, role=role, name=role.lower(), unit_code=unit if role == "UNIT" else None)[1]
              for role in ("ADMIN", "AUDITOR", "ORGANIZATION", "UNIT", "MONITOR")}
    return {"db": db, "unit": unit, "other": other, "people": people, "tokens": tokens, "client": TestClient(create_app(db))}


def post(town, role, query, purpose=None, variables=None):
    headers = {"Authorization": f"Bearer {town['tokens'][role]}"}
    if purpose:
        headers["X-Purpose"] = quote(purpose)
    return town["client"].post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers).json()


def log_rows(db):
    with db.read_session() as s:
        return [(r.id_number, r.role, r.field, r.operation, r.purpose) for r in s.execute(select(AccessLogRow).order_by(AccessLogRow.id)).scalars()]


def holders(result):
    return sorted(e["node"]["person"]["idNumber"] for u in result["data"]["units"]["edges"]
                  for e in u["node"]["postings"]["edges"] if e["node"]["person"])


def test_unit_postings_with_persons_are_logged_with_purpose_and_operation(town):
    r = post(town, "ORGANIZATION", PAGE, purpose="核查 2026-9")
    assert "errors" not in r, r
    assert holders(r) == sorted(town["people"])
    rows = log_rows(town["db"])
    assert sorted(rows) == sorted((i, "ORGANIZATION", "Posting.person", "Page", "核查 2026-9") for i in town["people"])


def test_unit_postings_persons_need_a_purpose_for_the_office_roles_that_state_one(town):
    r = post(town, "ORGANIZATION", PAGE)  # no X-Purpose
    errors = r["errors"]
    assert len(errors) == 3 and all(e["extensions"]["code"] == "FORBIDDEN" and "purpose" in e["message"] for e in errors)
    assert all(e["node"]["person"] is None for u in r["data"]["units"]["edges"] for e in u["node"]["postings"]["edges"])
    assert log_rows(town["db"]) == []
    assert holders(post(town, "AUDITOR", PAGE)) == sorted(town["people"])  # the auditor needs none


def test_a_unit_token_reads_its_own_units_postings_and_persons_only(town):
    query = """query($u: String!) { unit(code: $u) { postings { edges { node { person { idNumber } } } } } }"""
    r = post(town, "UNIT", query, purpose="x", variables={"u": town["unit"]})
    assert sorted(e["node"]["person"]["idNumber"] for e in r["data"]["unit"]["postings"]["edges"]) == sorted(town["people"][:2])
    r = post(town, "UNIT", query, purpose="x", variables={"u": town["other"]})
    assert r["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_persons_through_fragments_and_aliases_are_joined_and_logged_once(town):
    query = """query Frag { units(first: 10) { edges { node { postings { edges { node { ...P } } } } } } }
               fragment P on Posting { a: person { idNumber } b: person { name } }"""
    r = post(town, "ADMIN", query)
    assert "errors" not in r, r
    nodes = [e["node"] for u in r["data"]["units"]["edges"] for e in u["node"]["postings"]["edges"]]
    assert len(nodes) == 3 and all(n["a"]["idNumber"] and n["b"]["name"] for n in nodes)
    assert sorted(i for i, *_ in log_rows(town["db"])) == sorted(town["people"])  # one row per person and field


def count_statements(db, fn):
    seen = []

    def before(_conn, _cursor, statement, *_a):
        seen.append(statement)

    for e in {db.engine, db.read_engine}:
        event.listen(e, "before_cursor_execute", before)
    try:
        out = fn()
    finally:
        for e in {db.engine, db.read_engine}:
            event.remove(e, "before_cursor_execute", before)
    return seen, out


def test_counts_run_only_when_total_count_or_page_info_is_selected(town, monkeypatch):
    # the general path's statements (on PostgreSQL these shapes are compiled: tests/integration/test_compiled_reads.py)
    monkeypatch.setattr(HubExecutionContext, "compiled_reads", False)
    db = town["db"]
    without, _ = count_statements(db, lambda: post(town, "ADMIN", "{ units(first: 1) { edges { node { code postings { edges { node { category } } } } } } }"))
    assert not any("count(" in s.lower() for s in without), without
    with_total, r = count_statements(db, lambda: post(town, "ADMIN", """{ units(first: 1) { totalCount pageInfo { hasNextPage endCursor }
        edges { cursor node { code postings { ... on PostingConnection { totalCount } edges { cursor } } } } } }"""))
    assert sum("count(" in s.lower() for s in with_total) == 2, with_total
    units = r["data"]["units"]
    assert units["totalCount"] == 2 and units["pageInfo"]["hasNextPage"] is True
    assert units["edges"][0]["cursor"] == units["pageInfo"]["endCursor"]
    postings = units["edges"][0]["node"]["postings"]
    assert postings["totalCount"] == len(postings["edges"])
    after = post(town, "ADMIN", '{ units(first: 1, after: "%s") { edges { node { code } } } }' % units["pageInfo"]["endCursor"])
    assert after["data"]["units"]["edges"][0]["node"]["code"] != units["edges"][0]["node"]["code"]


LOOKUP = """query Look($id: String!) { person(idNumber: $id) { idNumber name postings { category startDate endDate
            active unit { code name } } } }"""


def test_a_person_lookup_reads_person_postings_and_units_in_one_statement(town, monkeypatch):
    from hub.api.loaders import Loaders

    monkeypatch.setattr(HubExecutionContext, "compiled_reads", False)  # the loaders' priming (general path)
    from hub.service_layer import registry_changes
    from hub.service_layer.unit_of_work import UnitOfWork

    db, unit, other = town["db"], town["unit"], town["other"]
    mover = town["people"][0]
    with UnitOfWork(db, actor="test") as uow:  # an ended posting in `unit`, then an active one in `other`
        registry_changes.end_posting(uow, id_number=mover, end_date=date(2024, 6, 30), reason="TRANSFER")
        uow.commit()
    hire_start = date(2024, 7, 1)
    from tests.integration.registry_helpers import hire as hire_again
    hire_again(db, mover, other, start=hire_start)
    unposted = make_person(db, name="无编人")
    cases = [(role, idn) for role in ("ADMIN", "ORGANIZATION") for idn in (mover, unposted, "110101199003074514")]
    cases += [("UNIT", town["people"][1]), ("UNIT", town["people"][2])]  # in the token's unit / in another unit

    def run_all():
        out = []
        for role, idn in cases:
            seen, r = count_statements(db, lambda: post(town, role, LOOKUP, purpose="核查", variables={"id": idn}))
            reads = [st for st in seen if st.lstrip().upper().startswith("SELECT") and "api_tokens" not in st
                     and "access_chain_head" not in st]  # the access log's seal locks its chain head
            out.append((r, len(reads)))
        return out, log_rows(db)

    fused, fused_log = run_all()
    monkeypatch.setattr(Loaders, "prime_person", lambda self, idn: None)  # the loaders' own three reads
    plain, plain_log = run_all()
    assert [r for r, _ in fused] == [r for r, _ in plain]
    assert fused_log == plain_log[len(fused_log):] and len(fused_log) == len(plain_log) // 2
    moved = fused[0][0]["data"]["person"]
    assert [(p["unit"]["code"], p["active"], p["endDate"]) for p in moved["postings"]] == [(unit, False, "2024-06-30"), (other, True, None)]
    assert fused[2][0]["data"]["person"] is None  # a valid ID number nobody holds
    assert fused[-1][0] == {"data": {"person": None}}  # UNIT token, person of another unit: as a number nobody holds
    assert [n for _, n in fused] == [1, 1, 1, 1, 1, 1, 1, 1]  # one read per lookup
    assert [n for _, n in plain] == [3, 2, 1, 3, 2, 1, 3, 2]  # person, postings, units (as far as each got)


def test_a_lookup_by_a_role_that_may_not_read_postings_reads_none(db):
    """POLICE may read a person but not their postings: the lookup reads the person alone, postings are refused."""
    unit = make_unit(db, approved={"ADMINISTRATIVE": 5})
    idn = make_person(db, name="王警")
    hire(db, idn, unit)
    town = {"db": db, "tokens": {"POLICE": create_token(db, role="POLICE", name="police")[1]},
            "client": TestClient(create_app(db))}
    seen, r = count_statements(db, lambda: post(town, "POLICE", LOOKUP, purpose="案件 1", variables={"id": idn}))
    reads = [st for st in seen if st.lstrip().upper().startswith("SELECT") and "api_tokens" not in st
             and "access_chain_head" not in st]  # the access log's seal locks its chain head
    assert r["data"]["person"] is None or r["data"]["person"]["postings"] is None
    assert any(e["extensions"]["code"] == "FORBIDDEN" and "Person.postings" in e["message"] for e in r["errors"])
    assert len(reads) == 1 and "postings" not in reads[0].lower()


# --- the executor: the same answers and errors as strawberry's own --------------------------------------------------

@strawberry.enum
class Colour(enum.Enum):
    RED = "red"


@strawberry.type
class Thing:
    n: int
    maybe: int | None
    colour: Colour
    text: str


@strawberry.type
class Q:
    @strawberry.field
    def things(self) -> list[Thing]:
        return [Thing(n=1, maybe=None, colour=Colour.RED, text="a"),
                Thing(n=None, maybe=2, colour="nonsense", text="b"),  # type: ignore[arg-type] - bad on purpose
                Thing(n="x", maybe=3, colour=Colour.RED, text="c")]  # type: ignore[arg-type]


@pytest.mark.parametrize("query", [
    "{ things { n maybe colour text } }",
    "{ things { maybe text alias: text } }",
    "{ things { colour } }",
    "{ things { n @skip(if: true) text } }",
])
def test_the_lean_executor_answers_like_strawberry(query):
    stock = strawberry.Schema(query=Q).execute_sync(query)
    lean = strawberry.Schema(query=Q, execution_context_class=HubExecutionContext).execute_sync(query)
    assert lean.data == stock.data
    assert [(e.message, e.path) for e in lean.errors or []] == [(e.message, e.path) for e in stock.errors or []]


@strawberry.type
class Twin:
    n: int
    maybe: int | None


@strawberry.type
class Leaf:
    n: int

    @strawberry.field
    @direct
    def twin(self, info: strawberry.Info) -> Twin | None:
        assert info.field_name == "twin" and info.path.key == "twin"
        return None if self.n == 2 else Twin(n=self.n + 10, maybe=None)

    @strawberry.field
    @direct
    def strict_twin(self, info: strawberry.Info) -> Twin:
        if self.n == 2:
            raise ValueError("refused")
        return Twin(n=self.n, maybe=self.n)

    @strawberry.field
    @direct
    def null_twin(self, info: strawberry.Info) -> Twin:
        return None  # type: ignore[return-value] - bad on purpose

    @strawberry.field
    @direct
    def later_twin(self, info: strawberry.Info) -> Twin | None:
        async def load():
            if self.n == 2:
                raise ValueError("later refused")
            return Twin(n=-self.n, maybe=None)
        return load()  # type: ignore[return-value] - an awaitable, as a DataLoader load is

    @strawberry.field
    async def later(self) -> int:
        return self.n

    @strawberry.field
    def boom(self) -> int | None:
        raise ValueError("boom")

    @strawberry.field
    def must(self) -> int:
        raise ValueError("must")

    @strawberry.field
    async def must_later(self) -> int:
        raise ValueError("must later")


@strawberry.type
class Edge:
    node: Leaf
    maybe_node: Leaf | None


@strawberry.type
class Box:
    edges: list[Edge]
    nullable_items: list[Edge | None]
    strict: list[Edge]
    maybe_edges: list[Edge] | None
    no_edges: list[Edge] | None
    not_a_list: list[Edge]
    one: Edge
    none_one: Edge | None
    broken_one: Edge


def _edge(n: int, maybe: bool = True) -> Edge:
    return Edge(node=Leaf(n=n), maybe_node=Leaf(n=-n) if maybe else None)


@strawberry.type
class Q2:
    @strawberry.field
    def box(self) -> Box | None:
        return Box(edges=[_edge(1), _edge(2, False)], nullable_items=[_edge(3), None],
                   strict=[_edge(4), None],  # type: ignore[list-item] - bad on purpose
                   maybe_edges=[_edge(5)], no_edges=None, not_a_list=7,  # type: ignore[arg-type]
                   one=_edge(6), none_one=None, broken_one=None)  # type: ignore[arg-type]

    @strawberry.field
    def boxes(self) -> list[Box]:
        return [self.box(), self.box()]


@pytest.mark.parametrize("query", [
    "{ box { edges { node { n } maybeNode { n } } } }",
    "{ box { edges { node { n later } } one { node { later } } } }",
    "{ box { edges { node { n must } } } }",
    "{ box { edges { maybeNode { n must } } } }",
    "{ box { maybeEdges { node { mustLater } } edges { maybeNode { mustLater } } } }",
    "{ box { edges { node { later mustLater } } } }",
    "{ box { nullableItems { node { n } } } }",
    "{ box { strict { node { n } } } }",
    "{ box { noEdges { node { n } } notANumber: edges { node { n } } } }",
    "{ box { notAList { node { n } } } }",
    "{ box { one { node { boom n } } noneOne { node { n } } } }",
    "{ box { brokenOne { node { n } } } }",
    "{ boxes { one { node { must } } } }",
    "{ boxes { one { maybeNode { must } } edges { node { later } } } }",
    "{ box { ...F } } fragment F on Box { e: edges { node { n } } e2: edges { maybeNode { n later } } }",
    "{ box { edges @skip(if: false) { node { n } } one @include(if: true) { node { n } } } }",
    "{ box { edges { node { n } } edges { maybeNode { n } } } }",
    "{ box { edges { node { twin { n maybe } strictTwin { n } } } } }",
    "{ box { edges { node { n nullTwin { n } } } } }",
    "{ box { edges { node { laterTwin { n } } maybeNode { laterTwin { n } twin { n } } } } }",
    "{ box { one { node { t: twin { n } t2: twin { maybe } } } } }",
])
def test_the_lean_executor_completes_objects_and_lists_like_strawberry(query):
    import asyncio

    stock = asyncio.run(strawberry.Schema(query=Q2).execute(query))
    lean = asyncio.run(strawberry.Schema(query=Q2, execution_context_class=HubExecutionContext).execute(query))
    assert lean.data == stock.data
    assert [(e.message, e.path) for e in lean.errors or []] == [(e.message, e.path) for e in stock.errors or []]


# Values the shortcut must leave to graphql-core (found in review): awaitables, exceptions and Undefined as values or
# list items, a custom scalar that passes anything through, sub-field collection errors, property-backed sources.
async def _item(n: int) -> "Item":
    return Item(n=n)


async def _boom() -> "Item":
    raise ValueError("async boom")


@strawberry.type
class Item:
    n: int


@strawberry.type
class Odd:
    items: list[Item]
    one: Item | None
    strict_one: Item
    blob: JSON | None
    exc_one: Item | None
    exc_items: list[Item | None]
    undefined_one: Item | None
    undefined_items: list[Item]
    undefined_leaf: int | None


_reads: list[str] = []


class CountingSource:
    """Property-backed values: every read is counted (stock reads each once)."""

    @property
    def n(self):
        _reads.append("n")
        raise ValueError("n fails")

    @property
    def m(self):
        _reads.append("m")
        return None

    @property
    def one(self):
        _reads.append("one")
        return None

    @property
    def items(self):
        _reads.append("items")
        return (Item(n=i) for i in range(2))

    @property
    def strict_items(self):
        _reads.append("strict_items")
        return [Item(n=1), None]


@strawberry.type
class Counted:
    n: int | None
    m: int
    one: Item
    items: list[Item]
    strict_items: list[Item]


@direct
def _no_self(info: strawberry.Info) -> Item | None:
    return Item(n=7)


@strawberry.type
class Odd2:
    x: int
    no_self: Item | None = strawberry.field(resolver=_no_self)

    @strawberry.field
    @direct
    def root_named(root, info: strawberry.Info) -> Item | None:  # noqa: N805 - strawberry's "root" parameter
        return Item(n=root.x)

    @strawberry.field
    @direct
    def info_class(self, info: strawberry.Info) -> str:
        return type(info).__name__


class Missing(Exception):
    pass


@strawberry.type
class MissingError:
    message: str


class MissingHandler(strawberry.ExceptionHandler[Missing, MissingError]):
    def handle(self, exception, *, field, info):
        return MissingError(message=str(exception))


@strawberry.type
class Odd3:
    @strawberry.field
    @direct
    def item(self, info: strawberry.Info) -> Annotated[Item | MissingError, strawberry.union("ItemResult")]:
        raise Missing("nope")


@strawberry.type
class Q3:
    @strawberry.field
    def odd(self) -> Odd:
        return Odd(items=[_item(1), _item(2)], one=_item(3), strict_one=_boom(), blob=ValueError("blob err"),
                   exc_one=ValueError("exc one"), exc_items=[Item(n=1), ValueError("exc item")],
                   undefined_one=Undefined, undefined_items=[Item(n=1), Undefined], undefined_leaf=Undefined)

    @strawberry.field
    def counted(self) -> Counted | None:
        return CountingSource()  # type: ignore[return-value]

    @strawberry.field
    def odd2(self) -> Odd2:
        return Odd2(x=3)

    @strawberry.field
    def odd3(self) -> Odd3:
        return Odd3()

    @strawberry.field
    def box(self) -> Box | None:
        return Q2().box()


class MyInfo(strawberry.Info):
    pass


@pytest.mark.parametrize("query, variables", [
    ("{ odd { items { n } } }", None),
    ("{ odd { one { n } } }", None),
    ("{ odd { strictOne { n } } }", None),
    ("{ odd { blob } }", None),
    ("{ odd { excOne { n } } }", None),
    ("{ odd { excItems { n } } }", None),
    ("{ odd { undefinedOne { n } } }", None),
    ("{ odd { undefinedItems { n } } }", None),
    ("{ odd { undefinedLeaf } }", None),
    ("{ counted { n } }", None),
    ("{ counted { m } }", None),
    ("{ counted { one { n } } }", None),
    ("{ counted { items { n } } }", None),
    ("{ counted { strictItems { n } } }", None),
    ("{ odd2 { noSelf { n } rootNamed { n } } }", None),
    ("{ odd3 { item { __typename ... on MissingError { message } } } }", None),
    ("query($v: Boolean = true) { box { one { node { n @skip(if: $v) } } } }", {"v": None}),
    ("query($v: Boolean = true) { box { edges { node { n @skip(if: $v) } } } }", {"v": None}),
    ("query($v: Boolean = true) { box { edges { node { n @skip(if: $v) } } } }", {"v": False}),
])
def test_the_lean_executor_leaves_odd_values_to_graphql_core(query, variables):
    import asyncio
    import warnings

    results = []
    for cls in (None, HubExecutionContext):
        schema = strawberry.Schema(query=Q3, execution_context_class=cls, exception_handlers=[MissingHandler()])
        _reads.clear()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # coroutines graphql-core leaves unawaited on errors
            r = asyncio.run(schema.execute(query, variable_values=variables))
        results.append((r.data, [(e.message, e.path) for e in r.errors or []], list(_reads)))
    assert results[1] == results[0]


def test_a_direct_resolver_gets_the_configured_info_class():
    from strawberry.schema.config import StrawberryConfig

    r = strawberry.Schema(query=Q3, execution_context_class=HubExecutionContext,
                          config=StrawberryConfig(info_class=MyInfo)).execute_sync("{ odd2 { infoClass } }")
    assert r.errors is None and r.data == {"odd2": {"infoClass": "MyInfo"}}


def test_the_lean_executor_takes_the_object_and_list_shortcuts(monkeypatch):
    """The shortcut really runs for basic object and list fields (graphql-core's execute_field is not called)."""
    import asyncio

    seen: list[str] = []
    orig = HubExecutionContext.execute_field

    def spy(self, parent_type, source, field_details_list, path, position_context):
        seen.append(f"{parent_type.name}.{field_details_list[0].node.name.value}")
        return orig(self, parent_type, source, field_details_list, path, position_context)

    monkeypatch.setattr(HubExecutionContext, "execute_field", spy)
    r = asyncio.run(strawberry.Schema(query=Q2, execution_context_class=HubExecutionContext).execute(
        "{ box { edges { node { n later } } one { maybeNode { n } } } }"))
    assert r.errors is None and r.data["box"]["edges"][1]["node"] == {"n": 2, "later": 2}
    assert sorted(set(seen)) == ["Leaf.later", "Q2.box"]  # edges, node, one, maybeNode and n took the shortcut
    seen.clear()
    r = asyncio.run(strawberry.Schema(query=Q2, execution_context_class=HubExecutionContext).execute(
        "{ box { one { node { twin { n } } } } }"))
    assert r.errors is None and r.data["box"]["one"]["node"]["twin"] == {"n": 16}
    assert seen == ["Q2.box"]  # the @direct resolver did not go through execute_field


# --- the token cache -------------------------------------------------------------------------------------------------

def test_token_cache_reuses_a_token_for_its_ttl_then_honours_revocation(db):
    tid, tok = create_token(db, role="ADMIN", name="office")
    cache = TokenCache(db, ttl_s=0.5)
    assert cache.authenticate(tok).role.value == "ADMIN"
    revoke_token(db, token_id=tid)
    assert cache.authenticate(tok) is not None  # within the TTL: still the cached principal
    time.sleep(0.6)
    assert cache.authenticate(tok) is None  # refused at the latest ttl_s after revocation
    assert cache.authenticate("hub_unknown") is None and "hub_unknown" not in cache._entries
    assert TokenCache(db, ttl_s=0).authenticate(tok) is None  # off: every request looks it up


def test_create_app_with_a_token_cache_serves_and_refuses_as_before(db):
    _, tok = create_token(db, role="ADMIN", name="office")
    client = TestClient(create_app(db, token_cache_s=30))
    ok = client.post("/graphql", json={"query": "{ __typename }"}, headers={"Authorization": f"Bearer {tok}"})
    bad = client.post("/graphql", json={"query": "{ __typename }"}, headers={"Authorization": "Bearer hub_nope"})
    assert ok.status_code == 200 and bad.status_code == 401


# --- the daily checks in their own process ---------------------------------------------------------------------------

def test_daily_checks_run_in_a_child_process(db_url, db):
    from hub.bootstrap import Hub, start_daily_checks
    from hub.config import Settings

    unit = make_unit(db, approved={"ADMINISTRATIVE": 2})
    old = make_person(db, name="老李", birth=date(1958, 1, 1))
    hire(db, old, unit)
    with db.session() as s:  # forget what the hire opened: the check must open it again
        s.query(MismatchRow).delete()
        s.commit()
    hub = Hub(settings=Settings(database_url=db_url), db=db)
    start_daily_checks(hub, in_subprocess=True)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            with db.read_session() as s:
                kinds = s.execute(select(MismatchRow.kind).where(MismatchRow.subject == old)).scalars().all()
            if "RETIREMENT_DUE" in kinds:
                break
            time.sleep(0.3)
        assert "RETIREMENT_DUE" in kinds
    finally:
        hub.stop_event.set()
        for t in hub.threads:
            t.join(10)
