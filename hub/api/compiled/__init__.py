"""Compiled GraphQL reads: the hot read shapes answered by one SQL statement that builds the JSON in PostgreSQL.

The units page ("first 100 units × postings(first: 50) × person"), a person lookup with postings and units, and
the like are compiled — as PostGraphile and Hasura do — into one statement of ``json_build_object`` / ``json_agg``
over ``LATERAL`` subqueries. The response is parsed once (``json.loads``) and handed to graphql-core as the
operation's data: no resolver, no per-field Python work.

The boundary (``answer``): the hub's executor (hub/api/execution.py) asks it, once the operation is parsed,
validated, its limits checked (depth, aliases, tokens, cost with the variables) and its root fields collected
(``@skip``/``@include`` evaluated). ``planner.plan`` decides whether the request — document, variables and the
caller's role and purpose — is in a compiled shape *and would run without a single error*; anything else
(SQLite, mutations, a field the role may not read, a refused person read, a UNIT token reading postings or
persons, a bad cursor or page size, an invalid ID number, any field or argument not compiled, any directive
other than ``@skip``/``@include``) gets ``None`` and runs on the general path, which then answers and reports
exactly as before. The compiled answer is therefore only ever an error-free one, and the errors, partial data and
refusals of the role × field matrix stay the general path's own.

What the general path does besides the data is done here too: every person read is noted on the context
(``record_read``, or ``record_reads`` for many; same ID number, field, operation and purpose, NOT_FOUND for a
lookup that found nobody) and written to the access log (``access.write_reads``) — in the statement's worker thread,
on its session, right after it, since the compiled answer is the whole operation's. tests/integration/test_compiled_reads.py compares
both paths' full HTTP responses and access-log rows for every role on generated selection sets.
"""

from __future__ import annotations

import asyncio
import json
import logging
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]

import orjson

from hub.api import access
from hub.api.context import HubContext

log = logging.getLogger(__name__)


def answer(executor, root_type, grouped_field_set):
    """An awaitable of the operation's data when the request is in a compiled shape, else None."""
    ctx = executor.context_value
    db = getattr(ctx, "db", None)
    if db is None or not db.is_postgres or getattr(ctx, "principal", None) is None:
        return None
    from hub.api.compiled.planner import plan

    compiled = plan(executor, root_type, grouped_field_set)
    if compiled is None:
        return None
    return _run(db, ctx, compiled)


async def _run(db, ctx, compiled):
    principal = ctx.principal

    def fetch_and_log():
        # A session and a list of reads of this operation's own, not the context's: the operations of one
        # graphql-transport-ws connection share its context (strawberry makes one per connection) and run at the
        # same time — on one session two threads' statements, commits and rollbacks mixed, and one operation's
        # flush took (or, refused, dropped) another's reads (tests/integration/test_access_log_event_loop.py).
        # Closed here whatever happens, so a cancelled request (the thread runs on) leaves no connection checked out.
        # A Core connection, not an ORM session: nothing here loads or flushes objects, and the session's own
        # bookkeeping (its transaction, commit and close) cost ~0.24 ms of CPU per request (issue 18, session 11).
        with db.read_engine.connect() as session:
            text, reads = session.exec_driver_sql(compiled.sql, compiled.params).one()
            data = parse(text, compiled.stored_json)
            noted = _Reads()
            _note_reads(noted, compiled, data, reads)
            if noted.pending_reads:
                # The compiled answer is the whole operation's: its reads are written to the access log and committed
                # here, in the statement's thread, before the answer is sent — not on the event loop, where a
                # lookup's INSERT and COMMIT (the WAL flush) held up every other request (docs/bench-graphql.md,
                # session 10). Refused: nothing is left behind, the general path answers and logs its own reads.
                access.write_reads(db, principal=principal, reads=noted.pending_reads, session=session)
        return data

    # PostgreSQL builds the page in a thread (psycopg releases the GIL): the event loop serves others meanwhile
    return await asyncio.to_thread(fetch_and_log)


class _Reads:
    """The person reads of one compiled operation, noted as ``HubContext`` notes them (the same entries)."""

    __slots__ = ("pending_reads",)
    record_read = HubContext.record_read
    record_reads = HubContext.record_reads

    def __init__(self):
        self.pending_reads: list = []


def _note_reads(ctx, compiled, data, reads: str | None) -> None:
    record = ctx.record_read
    if reads:
        sites = compiled.sites
        if len(sites) == 1:  # one place of reads (the units page, a lookup): every line is '0:<ID number>'
            field, operation, purpose = sites[0]
            ctx.record_reads(reads[2:].split("\n0:"), operation=operation, field=field, purpose=purpose)
        else:
            for token in reads.split("\n"):
                site, _, idn = token.partition(":")
                field, operation, purpose = sites[int(site)]
                record(idn, operation=operation, field=field, purpose=purpose)
    for key, idn, operation, purpose, outcome in compiled.lookups:
        if data.get(key) is None:  # a lookup that found nobody: logged as the general path logs it
            record(idn, operation=operation, field="Query.person", purpose=purpose, outcome=outcome)


def parse(text: str, stored_json: bool) -> CompiledData:
    """The statement's JSON as Python values, exactly as ``json.loads`` gives them.

    Without stored JSON in it (``Compiled.stored_json``: mismatch ``details``/``causedBy`` are passed through as
    stored) the JSON holds only what ``json_build_object`` wrote from the compiled columns: strings, dates,
    integers, booleans and nulls — no table a compiled shape reads has a floating-point or numeric column
    (tests/unit/test_compiled_parse.py checks the tables); the integers are INTEGER columns, counts and sums of
    INTEGER columns (bigint: within 64 bits, which matters: orjson reads a wider integer as a float without
    complaint, so a sum of a BIGINT column, which is numeric, would have to be marked like stored JSON) —, keys
    from GraphQL names, no duplicate key, no lone surrogate (the database's text is UTF-8). For such JSON ``orjson.loads`` gives the same values as
    ``json.loads``, three or four times faster. Stored JSON may hold anything (floats, integers beyond 64 bits,
    duplicate keys, ``\\ud800``): the standard library's parser then, noting whether a float was read (the
    response's encoder needs to know, ``ascii_json``); so too if orjson refuses the text."""
    if not stored_json:
        try:
            data = CompiledData(orjson.loads(text))
        except orjson.JSONDecodeError:
            pass
        else:
            data.has_float = False
            return data
    floats: list = []
    data = CompiledData(json.loads(text, parse_float=lambda s: floats.append(s) or float(s)))
    data.has_float = bool(floats)
    return data


class CompiledData(dict):
    """A compiled answer's data, as ``json.loads`` parsed it from PostgreSQL's JSON: strings, integers, booleans,
    None, lists and dicts only — and floats if ``has_float``. The HTTP response encodes it with ``ascii_json``."""

    __slots__ = ("has_float",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.has_float = True  # until the parse says otherwise


# UTF-8 bytes after which ``str.encode("ascii", "backslashreplace")`` would not write what ``ensure_ascii`` writes:
# DEL (left as is, json.dumps writes \u007f), the lead bytes of U+0080–U+00FF (written \xXX, not \u00XX) and of
# the characters beyond U+FFFF (written \UXXXXXXXX, not as a surrogate pair). Every other byte is deleted.
_NOT_BACKSLASHREPLACE = bytes(b for b in range(256) if b not in (0x7F, 0xC2, 0xC3) and b < 0xF0)


def ascii_json(obj) -> bytes | None:
    """``json.dumps(obj, separators=(",", ":"))`` (strawberry's encoding of a response: compact, non-ASCII as
    ``\\uXXXX``), the same bytes, several times faster — for JSON values without floats (orjson writes some floats
    differently); None when it cannot be sure (an integer beyond 64 bits, a lone surrogate, a key that is not a
    string…): encode it the usual way then.

    orjson writes compact JSON with the characters as UTF-8 and the same escapes as the standard library for the
    ASCII it escapes (quote, backslash, control characters). What is left is the non-ASCII characters:

    * When all of them are in U+0100–U+FFFF (the hub's names: Chinese characters), the ASCII codec's
      ``backslashreplace`` writes each as ``\\uXXXX`` with lowercase hex digits — exactly ``ensure_ascii``'s
      escape — in one pass in C (``_NOT_BACKSLASHREPLACE`` finds the bytes for which this would not hold).
    * Otherwise ``encode_basestring_ascii`` (the standard library's own C escaper) turns every non-ASCII character
      (and DEL) into ``\\uXXXX`` as ``ensure_ascii`` does, and escapes quotes and backslashes once more, which the
      two replaces undo (each backslash it doubled is a pair, read left to right; every quote it escaped has that
      new backslash right before it).

    tests/unit/test_ascii_json.py checks the equality on generated values and on every character."""
    try:
        raw = orjson.dumps(obj)
    except (orjson.JSONEncodeError, TypeError):
        return None
    if raw.isascii():
        if b"\x7f" not in raw:
            return raw
    elif not raw.translate(None, _NOT_BACKSLASHREPLACE):
        return raw.decode().encode("ascii", "backslashreplace")
    text = encode_basestring_ascii(raw.decode())[1:-1]
    return text.replace("\\\\", "\\").replace('\\"', '"').encode()
