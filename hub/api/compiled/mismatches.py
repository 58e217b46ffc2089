"""``Query.mismatches`` and ``Query.mismatchStats`` compiled: one page of mismatches built as JSON in PostgreSQL (entered from planner.root_field).

What is compiled, and what is not (``None`` from the planner: the general path answers):

* Which mismatches: ``hub.api.schema._mismatch_query`` itself — ``disclosure.mismatch_scope`` (filter, role scope,
  the kinds hidden from a masked reader, a masked ``subject`` filter) and a district office's region — compiled by
  SQLAlchemy to PostgreSQL and used as the page's subquery: the scope has no second copy here. Order newest first
  (``detected_at desc, id``), cursors and ``pageInfo`` as ``hub.api.types.connection``.
* Fields of a Mismatch: ``id kind class status subject source detectedAt resolvedAt details causedBy unit { … }``
  and ``__typename``; ``class`` is generated from ``vocabulary.mismatch_class`` over every kind.
* Unmasked roles (everyone but ``access.MASKED``): ``details`` as stored; when the caller may not read persons
  (``person_read_refusal`` without a purpose argument: decided once per request) the keys listed in
  ``disclosure.PERSON_DETAILS`` for the row's kind are removed, keeping the others in their order; when it may, every
  listed row whose details hold one of those keys is a read of its subject (field ``Mismatch.details``, the
  request's purpose, the root field's operation) — whether or not ``details`` is selected, as the general path
  (``disclosure.mismatch_for`` runs for every row of the page).
* Masked roles (MONITOR): ``subject`` masked as ``identifiers.mask_id_number`` (unit-level kinds unmasked),
  ``causedBy`` empty. ``details`` for a masked reader (projection on ``disclosure.MASKED_DETAILS`` and masking of
  every valid ID number inside) is **not compiled**: a masked request that selects ``details`` runs the general path.
* ``mismatchStats(filter)``: ``total``, ``byKind``, ``byClass``, ``byStatus``, ``bySource``, ``byUnit`` (top 50) over
  the same compiled scope, in the general path's order (count descending, then the key); no person data, no reads.
* Not compiled: a page size or cursor the general path refuses, any other field or argument; two ``mismatches``
  roots of an unnamed operation (their reads would be logged under two operation names: ``read_site``).
"""

from __future__ import annotations

import re
from types import SimpleNamespace

from sqlalchemy.dialects import postgresql

from hub.api import access, disclosure
from hub.api.compiled.planner import Unsupported, _lit, read_of
from hub.api.pagination import page_window
from hub.domain import vocabulary as v
from hub.domain.identifiers import mask_id_number_sql

ORDER = "{0}.detected_at DESC, {0}.id"
_DIALECT = postgresql.dialect()
_PARAM = re.compile(r"%\((\w+)\)s")
UNIT_LEVEL = sorted(k.value for k in v.UNIT_LEVEL_KINDS)


def _in(col: str, values) -> str:
    return f"{col} IN ({', '.join(_lit(x) for x in sorted(values))})"


def _class_sql(col: str) -> str:
    """vocabulary.mismatch_class for every kind, as a CASE."""
    whens = " ".join(f"WHEN {_lit(k.value)} THEN {_lit(v.mismatch_class(k).value)}" for k in v.MismatchKind)
    return f"CASE {col} {whens} END"


def _timestamp_sql(col: str) -> str:
    """datetime.isoformat() of a timestamptz as psycopg returns it (in the session's time zone): microseconds only
    when not zero, offset as +HH:MM."""
    return (f"CASE WHEN {col} IS NULL THEN NULL ELSE to_char({col}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
            f"CASE WHEN mod(extract(microseconds FROM {col})::bigint, 1000000) <> 0 THEN to_char({col}, '.US') ELSE '' END"
            f" || to_char({col}, 'TZH:TZM') END")


def _person_condition(a: str) -> str | None:
    """Rows whose details hold person data (disclosure.PERSON_DETAILS), as a condition; None: no kind has any."""
    conds = [f"({a}.kind = {_lit(kind)} AND json_typeof({a}.details::json) = 'object' AND "
             f"({a}.details::jsonb ?| ARRAY[{', '.join(_lit(k) for k in keys)}]))"
             for kind, keys in sorted(disclosure.PERSON_DETAILS.items()) if keys]
    return " OR ".join(conds) if conds else None


def _details_without_person_data(a: str) -> str:
    """disclosure.mismatch_for for a caller refused person reads: the kind's PERSON_DETAILS keys removed, the other
    keys kept in their stored order."""
    whens = []
    for kind, keys in sorted(disclosure.PERSON_DETAILS.items()):
        if not keys:
            continue
        kept = (f"(SELECT coalesce(json_object_agg(e.key, e.value ORDER BY e.ord), '{{}}'::json) FROM "
                f"json_each({a}.details::json) WITH ORDINALITY e(key, value, ord) "
                f"WHERE e.key NOT IN ({', '.join(_lit(k) for k in keys)}))")
        whens.append(f"WHEN {a}.kind = {_lit(kind)} AND json_typeof({a}.details::json) = 'object' THEN {kept}")
    if not whens:
        return f"{a}.details::json"
    return f"CASE {' '.join(whens)} ELSE {a}.details::json END"


class _Mismatches:
    def __init__(self, p, key: str):
        self.p = p
        self.key = key
        self.masked = p.role in access.MASKED
        self.refused = not self.masked and p.ctx.person_read_refusal(None) is not None

    def scope_sql(self, f) -> str:
        """hub.api.schema._mismatch_query for this caller and filter, compiled to PostgreSQL with its parameters
        renamed into the planner's."""
        from hub.api.schema import _mismatch_query
        from hub.api.types import MismatchFilter

        mf = None
        if f:
            try:
                mf = MismatchFilter(kinds=f.get("kinds"), class_=f.get("class"), status=f.get("status"),
                                    unit_code=f.get("unitCode"), subject=f.get("subject"), source=f.get("source"))
            except Exception:  # noqa: BLE001 - the general path reports it
                raise Unsupported from None
        q = _mismatch_query(SimpleNamespace(context=self.p.ctx), mf)
        compiled = q.compile(dialect=_DIALECT, compile_kwargs={"render_postcompile": True})
        values = compiled.params
        params = self.p.params

        def rename(m):
            key = f"p{len(params)}"
            params[key] = values[m.group(1)]
            return f"%({key})s"

        return _PARAM.sub(rename, str(compiled))

    # --- one mismatch (hub.api.types.Mismatch from disclosure.mismatch_for) ------------------------------------
    def node(self, gtype, fds, a, joins, reads) -> str:
        p = self.p
        pairs = []
        for key, sub in p.subfields(gtype, fds).items():
            name = sub[0].node.name.value
            pairs.append((key, self.field(gtype, name, sub, a, joins, reads)))
        return "json_build_object(" + ", ".join(f"{_lit(k)}, {e}" for k, e in pairs) + ")"

    def field(self, gtype, name, fds, a, joins, reads) -> str:
        simple = {"__typename": _lit(gtype.name), "id": f"{a}.id", "kind": f"{a}.kind", "status": f"{a}.status",
                  "source": f"{a}.source", "class": _class_sql(f"{a}.kind"),
                  "detectedAt": _timestamp_sql(f"{a}.detected_at"), "resolvedAt": _timestamp_sql(f"{a}.resolved_at")}
        if name in simple:
            return simple[name]
        if name == "subject":
            if not self.masked:
                return f"{a}.subject"
            return f"CASE WHEN {_in(a + '.kind', UNIT_LEVEL)} THEN {a}.subject ELSE {mask_id_number_sql(a + '.subject')} END"
        if name == "causedBy":
            if self.masked:
                return "'[]'::json"
            self.p.stored_json = True
            return (f"CASE WHEN {a}.caused_by IS NULL OR json_typeof({a}.caused_by::json) = 'null' THEN '[]'::json "
                    f"ELSE {a}.caused_by::json END")
        if name == "details":
            if self.masked:
                raise Unsupported  # MASKED_DETAILS projection and ID masking inside: the general path
            self.p.stored_json = True
            return _details_without_person_data(a) if self.refused else f"{a}.details::json"
        if name == "unit":
            fdef = gtype.fields[name]
            return self.p.nested_obj("unit", fdef.type, fds, "units", "{}.code = " + f"{a}.unit_code", joins, reads)
        raise Unsupported

    def page_reads(self, x: str) -> str | None:
        """The person reads of a page's rows (disclosure.mismatch_for), whatever is selected."""
        if self.masked or self.refused:
            return None
        cond = _person_condition(x)
        if cond is None:
            return None
        site = self.p.read_site(disclosure.DETAILS_FIELD, self.key, self.p.ctx.purpose)
        return f"CASE WHEN {cond} THEN {read_of(site, f'{x}.subject')} END"


def mismatches(p, key, fdef, fds, args, joins, reads) -> str:
    """Query.mismatches(filter, first, after) for the planner ``p``: the JSON expression of the connection."""
    p.allow("Query.mismatches")
    try:
        offset, limit = page_window(args.get("first"), args.get("after"))
    except ValueError:
        raise Unsupported from None
    m = _Mismatches(p, key)
    scope = m.scope_sql(args.get("filter"))
    return p.connection(fdef.type, fds, None, f"({scope})", "true", ORDER, offset, limit, joins, reads,
                        node=m.node, row_reads=m.page_reads)


def _counts(p, gtype, fds, rows_sql: str) -> str:
    """A list of Count objects over ``rows_sql`` (columns k, n; already in the general path's order: column ``o``)."""
    item = p.inner(p.inner(gtype).of_type)
    pairs = []
    for key, sub in p.subfields(item, fds).items():
        name = sub[0].node.name.value
        expr = {"__typename": _lit(item.name), "key": "coalesce(g.k::text, '')", "count": "g.n"}.get(name)
        if expr is None:
            raise Unsupported
        pairs.append((key, expr))
    j = "json_build_object(" + ", ".join(f"{_lit(k)}, {e}" for k, e in pairs) + ")"
    return f"(SELECT coalesce(json_agg({j} ORDER BY g.o), '[]'::json) FROM ({rows_sql}) g)"


def mismatch_stats(p, key, fdef, fds, args, joins, reads) -> str:
    """Query.mismatchStats(filter): hub.api.schema.Query.mismatch_stats over the same compiled scope — groups by
    count descending, then the key (the database's order, as the general path's ORDER BY); classes from the kinds'
    counts ordered by count, then class name; top 50 units."""
    p.allow("Query.mismatchStats")
    scope = _Mismatches(p, key).scope_sql(args.get("filter"))
    gtype = p.inner(fdef.type)

    def group(col: str, limit: str = "") -> str:
        return (f"SELECT s.{col} AS k, count(*) AS n, row_number() OVER (ORDER BY count(*) DESC, s.{col}) AS o "
                f"FROM ({scope}) s GROUP BY s.{col} ORDER BY count(*) DESC, s.{col}{limit}")

    classes = (f"SELECT c.k, c.n, row_number() OVER (ORDER BY c.n DESC, c.k COLLATE \"C\") AS o FROM ("
               f"SELECT {_class_sql('s.kind')} AS k, count(*) AS n FROM ({scope}) s GROUP BY 1) c")
    pairs = []
    for k, sub in p.subfields(gtype, fds).items():
        name = sub[0].node.name.value
        ftype = gtype.fields[name].type if name in gtype.fields else None
        if name == "__typename":
            expr = _lit(gtype.name)
        elif name == "total":
            expr = f"(SELECT count(*) FROM ({scope}) s)"
        elif name == "byKind":
            expr = _counts(p, ftype, sub, group("kind"))
        elif name == "byClass":
            expr = _counts(p, ftype, sub, classes)
        elif name == "byStatus":
            expr = _counts(p, ftype, sub, group("status"))
        elif name == "bySource":
            expr = _counts(p, ftype, sub, group("source"))
        elif name == "byUnit":
            expr = _counts(p, ftype, sub, group("unit_code", " LIMIT 50"))
        else:
            raise Unsupported
        pairs.append((k, expr))
    return "json_build_object(" + ", ".join(f"{_lit(k)}, {e}" for k, e in pairs) + ")"
