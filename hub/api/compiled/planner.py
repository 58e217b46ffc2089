"""Decide whether a request is in a compiled shape, and if so write its one SQL statement (PostgreSQL).

``plan`` walks the operation's collected fields (graphql-core's own field collection: fragments, aliases, merged
fields, ``@skip``/``@include``) and the coerced argument values, and returns a ``Compiled`` (SQL text, parameters,
where person reads happen) or None. It returns None for anything it does not compile and for every request the
general path would answer with an error (see the package docstring): the compiled path never answers an error.

Compiled shapes (root fields; all of an operation's root fields must be compiled):

* ``units(filter, first, after)`` → ``totalCount``, ``pageInfo``, ``edges { cursor node { Unit } }``
* ``unit(code)`` → Unit
* ``person(idNumber, purpose)`` → Person (not ``asOf``)
* ``mismatches(filter, first, after)``, ``mismatchStats(filter)`` → hub/api/compiled/mismatches.py (what of them is
  compiled: its docstring)

Several root fields in one operation are compiled together (one statement, one JSON object in the operation's
order of response keys) when each of them is; their person reads go through ``read_site``, so that the access log's
de-duplication (first read of an ID number and field wins) cannot depend on the order the general path resolves
the roots in.

with, below them, Unit: its columns, ``headcount``, ``quotas``, ``leaderQuotas``, ``parent``, ``children``,
``postings(includeEnded, first, after)`` (not as of a date); Posting: its columns, ``unit``, ``person``; Person:
its columns (``education``… and ``verifiedIdentity`` where the matrix allows), ``postings``; ``__typename``
everywhere. Each rule below mirrors one resolver of hub/api/types.py or hub/api/schema.py, named at its place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql import GraphQLNonNull
from graphql.execution.values import get_argument_values

from hub.api import access
from hub.api.pagination import page_window
from hub.domain import vocabulary as v
from hub.domain.identifiers import InvalidIdentifier, parse_id_number, parse_unit_code
from hub.domain.calendar import office_today

MAX_KEYS = 50  # json_build_object takes at most 100 arguments
NL = "E'\\n'"


def read_of(site: int, idn: str) -> str:
    """A read's line of the statement's reads, ``'<site>:<ID number>'`` (``idn``: its SQL). The reads are one text
    joined by line breaks, split in Python: an ID number holding a line break (a stored value no write path of the
    hub makes, but one a partner's subject or a hand edit may hold) would be split into reads of other numbers, or
    break the parse after some were noted. Such a number makes the statement fail instead (an integer cast of text
    that is no integer), and the general path answers and logs it as it is."""
    return (f"'{site}:' || CASE WHEN strpos({idn}, {NL}) = 0 THEN {idn} "
            f"ELSE CAST('a line break in an ID number: ' || {idn} AS integer)::text END")


class Unsupported(Exception):
    """Not a compiled shape, or the general path would answer with an error: run the general path."""


@dataclass
class Compiled:
    sql: str
    params: dict
    sites: list = field(default_factory=list)  # (field, operation, purpose) per person-read site
    lookups: list = field(default_factory=list)  # (response key, ID number, operation, purpose, outcome)
    stored_json: bool = False  # JSON passed through as stored (mismatch details): parsed by the standard library


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _cursor(offset_sql: str) -> str:
    """hub.api.pagination.encode_cursor in SQL: urlsafe base64 of 'o:<offset>'."""
    return f"translate(encode(convert_to('o:' || ({offset_sql})::text, 'UTF8'), 'base64'), '+/', '-_')"


# GraphQL field → SQL over the row alias {0}. Optional enums are null for an empty value, as in from_row.
UNIT_COLUMNS = {"code": "{0}.code", "name": "{0}.name", "kind": "{0}.kind", "level": "{0}.level",
                "funding": "{0}.funding", "regionCode": "{0}.region_code", "status": "{0}.status",
                "establishedOn": "{0}.established_on", "abolishedOn": "{0}.abolished_on",
                "grade": "nullif({0}.grade, '')", "classification": "nullif({0}.classification, '')",
                "dispatched": "nullif({0}.dispatched, '')",
                "civilServiceManaged": "coalesce({0}.civil_service_managed, false)"}
POSTING_COLUMNS = {"id": "{0}.id::text", "category": "{0}.category", "leaderRank": "nullif({0}.leader_rank, '')",
                   "startDate": "{0}.start_date", "endDate": "{0}.end_date", "endReason": "{0}.end_reason",
                   "active": "{0}.active"}
PERSON_COLUMNS = {"idNumber": "{0}.id_number", "name": "{0}.name", "gender": "{0}.gender",
                  "birthDate": "{0}.birth_date"}
PERSON_EDUCATION = {"education": "nullif({0}.education, '')", "degree": "nullif({0}.degree, '')",
                    "inServiceEducation": "nullif({0}.in_service_education, '')",
                    "inServiceDegree": "nullif({0}.in_service_degree, '')"}
VERIFIED_COLUMNS = {"name": "{0}.verified_name", "status": "{0}.identity_status", "photoSha256": "{0}.photo_sha256"}


class _Planner:
    def __init__(self, executor):
        self.ex = executor
        self.ctx = executor.context_value
        self.role = self.ctx.principal.role
        op = executor.operation
        self.op_name = op.name.value if op.name is not None else None
        self.params: dict = {}
        self.n = 0
        self.sites: list = []
        self.site_of: dict = {}
        self.lookups: list = []
        self.stored_json = False
        self.today = office_today()

    # --- helpers ------------------------------------------------------------------------------------------------
    def alias(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def param(self, value, cast: str) -> str:
        key = f"p{len(self.params)}"
        self.params[key] = value
        return f"CAST(%({key})s AS {cast})"

    def args(self, field_def, fds) -> dict:
        try:
            return get_argument_values(field_def, fds[0].node, self.ex.variable_values)
        except Exception:  # noqa: BLE001 - the general path reports it
            raise Unsupported from None

    def allow(self, matrix_field: str) -> None:
        if not access.allowed(matrix_field, self.role):
            raise Unsupported  # FORBIDDEN with partial data: the general path's answer

    def read_site(self, field_name: str, key: str, purpose: str | None) -> int:
        """A place where a person is read: its access-log field, operation (the operation's name, else the
        response key of the field that reads, as ``HubContext.operation_name``) and purpose. Two places with the
        same field but another operation or purpose would make the log's de-duplication depend on execution
        order: not compiled."""
        entry = (field_name, self.op_name if self.op_name is not None else key, purpose)
        known = self.site_of.get(field_name)
        if known is not None and self.sites[known] != entry:
            raise Unsupported
        if known is None:
            self.site_of[field_name] = len(self.sites)
            self.sites.append(entry)
        return self.site_of[field_name]

    def person_readable(self, purpose: str | None) -> None:
        if self.role is v.Role.UNIT or self.ctx.person_read_refusal(purpose) is not None:
            raise Unsupported  # UNIT: scope decided per person; a refusal: FORBIDDEN on the general path

    def subfields(self, gtype, fds):
        for fd in fds:
            for d in fd.node.directives or ():
                if d.name.value not in ("skip", "include"):
                    raise Unsupported
        grouped = self.ex.collect_subfields(gtype, fds).grouped_field_set
        if len(grouped) > MAX_KEYS:
            raise Unsupported
        for fds_ in grouped.values():
            for fd in fds_:
                if fd.defer_usage is not None or fd.fragment_variable_values is not None:
                    raise Unsupported
                for d in fd.node.directives or ():
                    if d.name.value not in ("skip", "include"):
                        raise Unsupported
        return grouped

    @staticmethod
    def inner(gtype):
        return gtype.of_type if isinstance(gtype, GraphQLNonNull) else gtype

    # --- objects: (json expression over a row alias, LATERAL joins, read expressions) --------------------------
    def obj(self, kind: str, gtype, fds, a: str):
        pairs, joins, reads = [], [], []
        for key, sub in self.subfields(gtype, fds).items():
            name = sub[0].node.name.value
            if name == "__typename":
                pairs.append((key, _lit(gtype.name)))
                continue
            fdef = gtype.fields[name]
            expr = getattr(self, f"{kind}_field")(key, name, fdef, sub, a, joins, reads)
            pairs.append((key, expr))
        return "json_build_object(" + ", ".join(f"{_lit(k)}, {e}" for k, e in pairs) + ")", joins, reads

    def lateral(self, select_sql: str, joins: list) -> str:
        la = self.alias("l")
        joins.append(f"LEFT JOIN LATERAL ({select_sql}) {la} ON true")
        return la

    def nested_obj(self, kind, gtype, fds, table, where, joins, reads, own_read=None):
        """A single object of ``table`` (a LATERAL subquery; no row: null)."""
        b = self.alias("t")
        j, sub_joins, sub_reads = self.obj(kind, self.inner(gtype), fds, b)
        r = [own_read.format(b)] if own_read else []
        la = self.lateral(f"SELECT {j} AS j, {self.concat(r + sub_reads)} AS r FROM {table} {b} "
                          f"{' '.join(sub_joins)} WHERE {where.format(b)}", joins)
        reads.append(f"{la}.r")
        return f"{la}.j"

    @staticmethod
    def concat(reads: list) -> str:
        if not reads:
            return "NULL::text"
        if len(reads) == 1:
            return reads[0]
        return f"nullif(concat_ws({NL}, {', '.join(reads)}), '')"  # all null: '' from concat_ws

    def obj_list(self, kind, item_type, fds, page_sql: str, order: str, joins, reads):
        """A list of objects: ``page_sql`` (rows of the item's table, correlated), in ``order``."""
        b = self.alias("t")
        j, sub_joins, sub_reads = self.obj(kind, item_type, fds, b)
        q = self.alias("q")
        la = self.lateral(f"SELECT coalesce(json_agg({q}.j), '[]'::json) AS j, string_agg({q}.r, {NL}) AS r "
                          f"FROM {self.ordered_rows([j], self.concat(sub_reads), page_sql, b, sub_joins, order.format(b), q)}",
                          joins)
        reads.append(f"{la}.r")
        return f"{la}.j"

    @staticmethod
    def ordered_rows(items: list, read: str, page_sql: str, b: str, joins: list, order: str, q: str) -> str:
        """The rows an aggregate reads, already in their order: ``(SELECT <items> AS j, j1…, <read> AS r FROM
        (page_sql) b <joins> ORDER BY <order>) q``. PostgreSQL's aggregates take their input in the order of a
        sorted subquery (the documented idiom, and PostGraphile's); a subquery with an ORDER BY is never merged
        into the query around it, and the planner sorts only if the joins did not keep the page's order — so
        ``json_agg``/``string_agg`` need no ``ORDER BY`` of their own, each of which sorted the rows again
        (session 9: the units page's statement ~15 % less PostgreSQL CPU)."""
        cols = [f"{e} AS j{i or ''}" for i, e in enumerate(items)]
        return (f"(SELECT {', '.join(cols + [f'{read} AS r'])} FROM ({page_sql}) {b} {' '.join(joins)} "
                f"ORDER BY {order}) {q}")

    def connection(self, conn_type, fds, node_kind, page_from: str, where: str, order: str, offset: int, limit: int,
                   joins, reads, *, node=None, row_reads=None):
        """A Relay connection (hub.api.types.connection) over ``page_from`` filtered by ``where`` (``{}``: the
        row alias), ordered by ``order`` (unique: a key), one page of ``limit`` rows from ``offset``. ``node``:
        ``(node type, fields, row alias, joins, reads) → JSON expression`` of a node, by default ``obj(node_kind, …)``;
        ``row_reads``: ``row alias → read expression or None``, person reads of every row of the page whatever is
        selected (mismatch details)."""
        conn_type = self.inner(conn_type)
        grouped = self.subfields(conn_type, fds)
        x = self.alias("x")
        edge_type = self.inner(self.inner(conn_type.fields["edges"].type).of_type)
        wants_cursor = any(e[0].node.name.value == "cursor" for s in grouped.values() if s[0].node.name.value == "edges"
                           for e in self.subfields(edge_type, s).values())
        if wants_cursor:  # an edge's cursor is its offset: number the page's rows
            page = (f"SELECT {x}_r.*, row_number() OVER (ORDER BY {order.format(x + '_r')}) AS ord FROM "
                    f"(SELECT * FROM {page_from} {x}_i WHERE {where.format(x + '_i')} ORDER BY {order.format(x + '_i')} "
                    f"OFFSET {offset} LIMIT {limit}) {x}_r")
            rows_order = f"{x}.ord"
        else:  # no window function: the order's columns are unique (a key), so ordering by them is the same order
            page = (f"SELECT * FROM {page_from} {x}_i WHERE {where.format(x + '_i')} ORDER BY {order.format(x + '_i')} "
                    f"OFFSET {offset} LIMIT {limit}")
            rows_order = order.format(x)
        wants_total = any(s[0].node.name.value in ("totalCount", "pageInfo") for s in grouped.values())
        aggs, edges, edge_joins, edge_reads, pairs = [], [], [], [], []
        q = self.alias("q")
        own = row_reads(x) if row_reads is not None else None
        if own is not None:
            edge_reads.append(own)
        for key, sub in grouped.items():
            name = sub[0].node.name.value
            if name == "__typename":
                pairs.append((key, _lit(conn_type.name)))
            elif name == "totalCount":
                pairs.append((key, "c.total"))
            elif name == "pageInfo":
                pairs.append((key, self.page_info(conn_type.fields[name].type, sub, offset)))
            elif name == "edges":
                epairs = []
                for ekey, esub in self.subfields(edge_type, sub).items():
                    ename = esub[0].node.name.value
                    if ename == "__typename":
                        epairs.append((ekey, _lit(edge_type.name)))
                    elif ename == "cursor":
                        epairs.append((ekey, _cursor(f"{offset} - 1 + {x}.ord")))
                    elif ename == "node":
                        node_type = self.inner(edge_type.fields["node"].type)
                        if node is not None:
                            epairs.append((ekey, node(node_type, esub, x, edge_joins, edge_reads)))
                            continue
                        j, nj, nr = self.obj(node_kind, node_type, esub, x)
                        edge_joins += nj
                        edge_reads += nr
                        epairs.append((ekey, j))
                    else:
                        raise Unsupported
                edges.append("json_build_object(" + ", ".join(f"{_lit(k)}, {e}" for k, e in epairs) + ")")
                col = f"e{len(aggs)}"
                aggs.append(f"coalesce(json_agg({q}.j{len(edges) - 1 or ''}), '[]'::json) AS {col}")
                pairs.append((key, f"e.{col}"))
            else:
                raise Unsupported
        if wants_total:
            aggs.append("count(*) AS n")  # pageInfo's cursors
        aggs.append(f"string_agg({q}.r, {NL}) AS r")
        inner = (f"SELECT {', '.join(aggs)} FROM "
                 f"{self.ordered_rows(edges, self.concat(edge_reads), page, x, edge_joins, rows_order, q)}")
        total = (f" CROSS JOIN (SELECT count(*) AS total FROM {page_from} {x}_c WHERE {where.format(x + '_c')}) c"
                 if wants_total else "")
        j = "json_build_object(" + ", ".join(f"{_lit(k)}, {e}" for k, e in pairs) + ")"
        la = self.lateral(f"SELECT {j} AS j, e.r AS r FROM ({inner}) e{total}", joins)
        reads.append(f"{la}.r")
        return f"{la}.j"

    def page_info(self, gtype, fds, offset: int) -> str:
        gtype = self.inner(gtype)
        pairs = []
        for key, sub in self.subfields(gtype, fds).items():
            name = sub[0].node.name.value
            expr = {"__typename": _lit(gtype.name),
                    "hasNextPage": f"({offset} + e.n < c.total)",
                    "hasPreviousPage": "true" if offset > 0 else "false",
                    "startCursor": f"CASE WHEN e.n > 0 THEN {_cursor(str(offset))} END",
                    "endCursor": f"CASE WHEN e.n > 0 THEN {_cursor(f'{offset} + e.n - 1')} END"}.get(name)
            if expr is None:
                raise Unsupported
            pairs.append((key, expr))
        return "json_build_object(" + ", ".join(f"{_lit(k)}, {e}" for k, e in pairs) + ")"

    # --- Unit (hub.api.types.Unit) ---------------------------------------------------------------------------
    def unit_field(self, key, name, fdef, fds, a, joins, reads):
        col = UNIT_COLUMNS.get(name)
        if col is not None:
            return col.format(a)
        if name == "headcount":  # active postings (Loaders._headcount)
            return f"(SELECT count(*) FROM postings hc WHERE hc.unit_code = {a}.code AND hc.active)"
        if name == "parent":
            return self.nested_obj("unit", fdef.type, fds, "units", "{}.code = " + f"{a}.parent_code", joins, reads)
        if name == "children":
            item = self.inner(self.inner(fdef.type).of_type)
            return self.obj_list("unit", item, fds, f"SELECT * FROM units ch WHERE ch.parent_code = {a}.code",
                                 "{}.code", joins, reads)
        if name == "quotas":
            return self.quotas(fdef, fds, a)
        if name == "leaderQuotas":
            return self.leader_quotas(fdef, fds, a)
        if name == "postings":
            return self.unit_postings(fdef, fds, a, joins, reads)
        raise Unsupported

    def quotas(self, fdef, fds, a) -> str:
        """Unit.quotas: hub.service_layer.establishment.establishments for one unit in SQL — approved (quota rows),
        used (active postings), reserved (approved hiring plans of this year on, not filled; non-zero), one line
        per category any of them names, in the categories' order (UnitEstablishment.categories)."""
        year = self.param(self.today.year, "integer")
        return self.establishment_lines(
            fdef, fds, "category",
            {"category": "k.category", "approved": "k.approved", "used": "k.used", "reserved": "k.reserved",
             "documentNumber": "NULL::text", "available": "(k.approved - k.used - k.reserved)"},
            f"SELECT c.category, coalesce(max(c.approved), 0) AS approved, coalesce(max(c.used), 0) AS used, "
            f"coalesce(max(c.reserved), 0) AS reserved FROM ("
            f"SELECT q.category, q.approved, NULL::bigint AS used, NULL::bigint AS reserved FROM quotas q "
            f"WHERE q.unit_code = {a}.code "
            f"UNION ALL SELECT pu.category, NULL, count(*), NULL FROM postings pu WHERE pu.unit_code = {a}.code "
            f"AND pu.active GROUP BY pu.category "
            f"UNION ALL SELECT hp.category, NULL, NULL, sum(hp.approved_slots - hp.filled) FROM hiring_plans hp "
            f"WHERE hp.unit_code = {a}.code AND hp.status = 'APPROVED' AND hp.year >= {year} GROUP BY hp.category "
            f"HAVING sum(hp.approved_slots - hp.filled) <> 0"
            f") c GROUP BY c.category")

    def leader_quotas(self, fdef, fds, a) -> str:
        """Unit.leaderQuotas: approved (leader quota rows) and used (active postings of the rank) per rank."""
        return self.establishment_lines(
            fdef, fds, "rank",
            {"rank": "k.rank", "approved": "k.approved", "used": "k.used", "documentNumber": "NULL::text",
             "available": "(k.approved - k.used)"},
            f"SELECT c.rank, coalesce(max(c.approved), 0) AS approved, coalesce(max(c.used), 0) AS used FROM ("
            f"SELECT lq.rank, lq.approved, NULL::bigint AS used FROM leader_quotas lq WHERE lq.unit_code = {a}.code "
            f"UNION ALL SELECT pl.leader_rank, NULL, count(*) FROM postings pl WHERE pl.unit_code = {a}.code "
            f"AND pl.active AND pl.leader_rank IS NOT NULL GROUP BY pl.leader_rank"
            f") c GROUP BY c.rank")

    def establishment_lines(self, fdef, fds, key_column: str, columns: dict, lines_sql: str) -> str:
        """A unit's establishment lines (quotas, leader quotas) as a JSON list: ``lines_sql`` gives one row ``k``
        per key, ``columns`` each selectable field's expression over it; ordered by ``key_column`` in code point
        order (``COLLATE "C"``), as the general path orders them (duplicates D2: one builder for both)."""
        item = self.inner(self.inner(fdef.type).of_type)
        pairs = []
        for key, sub in self.subfields(item, fds).items():
            name = sub[0].node.name.value
            expr = _lit(item.name) if name == "__typename" else columns.get(name)
            if expr is None:
                raise Unsupported
            pairs.append((key, expr))
        j = "json_build_object(" + ", ".join(f"{_lit(k)}, {e}" for k, e in pairs) + ")"
        return f"(SELECT coalesce(json_agg({j} ORDER BY k.{key_column} COLLATE \"C\"), '[]'::json) FROM ({lines_sql}) k)"

    def unit_postings(self, fdef, fds, a, joins, reads) -> str:
        """Unit.postings: active postings (all with includeEnded), by start date then id, one page per unit."""
        self.allow("Unit.postings")
        if self.role is v.Role.UNIT:
            raise Unsupported  # its own unit only: decided per unit on the general path
        args = self.args(fdef, fds)
        try:
            offset, limit = page_window(args.get("first"), args.get("after"))
        except ValueError:
            raise Unsupported from None
        where = "{}.unit_code = " + f"{a}.code" + ("" if args.get("includeEnded") else " AND {}.active")
        return self.connection(fdef.type, fds, "posting", "postings", where.replace("{}", "{0}"),
                               "{0}.start_date, {0}.id", offset, limit, joins, reads)

    # --- Posting --------------------------------------------------------------------------------------------
    def posting_field(self, key, name, fdef, fds, a, joins, reads):
        col = POSTING_COLUMNS.get(name)
        if col is not None:
            return col.format(a)
        if name == "unit":
            return self.nested_obj("unit", fdef.type, fds, "units", "{}.code = " + f"{a}.unit_code", joins, reads)
        if name == "person":  # Posting.person: a read of the holder, logged with the request's purpose
            self.person_readable(None)
            site = self.read_site("Posting.person", key, self.ctx.purpose)
            return self.nested_obj("person", fdef.type, fds, "persons", "{}.id_number = " + f"{a}.id_number",
                                   joins, reads, own_read=read_of(site, "{0}.id_number"))
        raise Unsupported

    # --- Person ---------------------------------------------------------------------------------------------
    def person_field(self, key, name, fdef, fds, a, joins, reads):
        col = PERSON_COLUMNS.get(name)
        if col is not None:
            return col.format(a)
        col = PERSON_EDUCATION.get(name)
        if col is not None:
            self.allow("Person.education")
            return col.format(a)
        if name == "verifiedIdentity":
            self.allow("Person.verifiedIdentity")
            gtype = self.inner(fdef.type)
            pairs = []
            for k, sub in self.subfields(gtype, fds).items():
                n = sub[0].node.name.value
                expr = _lit(gtype.name) if n == "__typename" else (VERIFIED_COLUMNS[n].format(a) if n in VERIFIED_COLUMNS else None)
                if expr is None:
                    raise Unsupported
                pairs.append((k, expr))
            return "json_build_object(" + ", ".join(f"{_lit(k)}, {e}" for k, e in pairs) + ")"
        if name == "postings":  # Person.postings: every posting, oldest first
            self.allow("Person.postings")
            item = self.inner(self.inner(fdef.type).of_type)
            return self.obj_list("posting", item, fds, f"SELECT * FROM postings pp WHERE pp.id_number = {a}.id_number",
                                 "{0}.start_date, {0}.id", joins, reads)
        raise Unsupported

    # --- root fields (hub.api.schema.Query) -----------------------------------------------------------------
    def root_field(self, key, name, fdef, fds, joins, reads):
        if name == "__typename":
            return _lit("Query")
        args = self.args(fdef, fds)
        if name == "units":
            try:
                offset, limit = page_window(args.get("first"), args.get("after"))
            except ValueError:
                raise Unsupported from None
            where = self.unit_filter(args.get("filter"))
            return self.connection(fdef.type, fds, "unit", "units", where, "{0}.code", offset, limit, joins, reads)
        if name == "unit":
            if args.get("asOf") is not None:
                raise Unsupported
            try:
                code = parse_unit_code(args["code"])
            except (InvalidIdentifier, ValueError):
                raise Unsupported from None
            return self.nested_obj("unit", fdef.type, fds, "units", "{}.code = " + self.param(code, "text"),
                                   joins, reads)
        if name == "person":
            if args.get("asOf") is not None:
                raise Unsupported
            try:
                idn = parse_id_number(args["idNumber"]).value
            except (InvalidIdentifier, ValueError):
                raise Unsupported from None
            purpose_arg = args.get("purpose")
            self.person_readable(purpose_arg)
            purpose = purpose_arg or self.ctx.purpose
            site = self.read_site("Query.person", key, purpose)
            self.lookups.append((key, idn, self.sites[site][1], purpose, access.NOT_FOUND))
            return self.nested_obj("person", fdef.type, fds, "persons", "{}.id_number = " + self.param(idn, "text"),
                                   joins, reads, own_read=read_of(site, "{0}.id_number"))
        if name in ("mismatches", "mismatchStats"):
            from hub.api.compiled import mismatches

            build = mismatches.mismatches if name == "mismatches" else mismatches.mismatch_stats
            return build(self, key, fdef, fds, args, joins, reads)
        raise Unsupported

    def unit_filter(self, f) -> str:
        """hub.api.schema._unit_query and _in_caller_region as a condition on the row alias ``{0}``."""
        conds = ["true"]
        if f:
            for name, col in (("kind", "kind"), ("level", "level"), ("funding", "funding")):
                if f.get(name) is not None:
                    conds.append(f"{{0}}.{col} = {self.param(f[name].value, 'text')}")
            if f.get("regionCode"):
                conds.append(f"{{0}}.region_code = {self.param(f['regionCode'], 'text')}")
            if f.get("parentCode"):
                try:
                    parent = parse_unit_code(f["parentCode"])
                except (InvalidIdentifier, ValueError):
                    raise Unsupported from None
                conds.append(f"{{0}}.parent_code = {self.param(parent, 'text')}")
            if f.get("nameContains"):
                s = f["nameContains"]
                pattern = "%" + s.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"
                conds.append(f"{{0}}.name LIKE {self.param(pattern, 'text')} ESCAPE '/'")
            if f.get("overQuotaOnly"):
                conds.append("{0}.code IN (SELECT m.subject FROM mismatches m WHERE m.kind = 'OVER_QUOTA' "
                             "AND m.status = 'OPEN')")
        p = self.ctx.principal
        if p.role is v.Role.ADMIN and p.region_code is not None:
            conds.append(f"{{0}}.region_code = {self.param(p.region_code, 'text')}")
        return " AND ".join(conds)


def plan(executor, root_type, grouped_field_set) -> Compiled | None:
    """The request's one statement, or None: run the general path."""
    if executor.operation.operation.value != "query":
        return None
    p = _Planner(executor)
    try:
        pairs, joins, reads = [], [], []
        for key, fds in grouped_field_set.items():
            for fd in fds:
                if fd.defer_usage is not None or fd.fragment_variable_values is not None:
                    raise Unsupported
                for d in fd.node.directives or ():
                    if d.name.value not in ("skip", "include"):
                        raise Unsupported
            name = fds[0].node.name.value
            fdef = root_type.fields.get(name) if name != "__typename" else None
            if name != "__typename" and fdef is None:
                raise Unsupported
            pairs.append((key, p.root_field(key, name, fdef, fds, joins, reads)))
        if not pairs or len(pairs) > MAX_KEYS:
            return None
    except Unsupported:
        return None
    j = "json_build_object(" + ", ".join(f"{_lit(k)}, {e}" for k, e in pairs) + ")"
    sql = f"SELECT ({j})::text AS j, {p.concat(reads)} AS r FROM (SELECT 1) root {' '.join(joins)}"
    return Compiled(sql=sql, params=p.params, sites=p.sites, lookups=p.lookups, stored_json=p.stored_json)
