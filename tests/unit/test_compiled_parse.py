"""hub.api.compiled.parse: a compiled statement's JSON parsed by orjson when it holds no stored JSON — the same
values ``json.loads`` gives, because such JSON cannot hold a float — and by the standard library otherwise."""

from __future__ import annotations

import json

from sqlalchemy import Float, Numeric

from hub.adapters.orm import Base
from hub.api.compiled import CompiledData, parse

# Every table a compiled shape reads (hub/api/compiled/planner.py and mismatches.py).
COMPILED_TABLES = ("units", "postings", "persons", "quotas", "leader_quotas", "hiring_plans", "mismatches")


def test_no_table_a_compiled_shape_reads_has_a_floating_point_column():
    """json_build_object writes a float only for a float or numeric column (or stored JSON, which the planner
    marks): a new such column would need the standard library's parser (and encoder) again."""
    tables = Base.metadata.tables
    for name in COMPILED_TABLES:
        floats = [c.name for c in tables[name].columns if isinstance(c.type, (Float, Numeric))]
        assert floats == [], (name, floats)


def test_generated_json_is_parsed_as_the_standard_library_parses_it():
    text = ('{"units" : {"edges" : [{"node" : {"code" : "110000", "name" : "北京\\u0001\\"x\\"", "n" : 9223372036854775807, '
            '"ok" : true, "d" : "2024-01-31", "x" : null, "l" : []}}]}}')
    data = parse(text, stored_json=False)
    assert type(data) is CompiledData and data == json.loads(text) and data.has_float is False


def test_stored_json_goes_through_the_standard_library_and_notes_floats():
    for text, has_float in (('{"m" : {"details" : {"a" : 1.10, "b" : 1e400}}}', True),
                            ('{"m" : {"details" : {"n" : 123456789012345678901234567890, "k" : 1, "k" : 2}}}', False)):
        data = parse(text, stored_json=True)
        assert data == json.loads(text) and data.has_float is has_float
        assert repr(data) == repr(json.loads(text))


def test_what_orjson_refuses_falls_back_to_the_standard_library():
    text = '{"s" : "\\ud800"}'  # a lone surrogate: orjson refuses it
    data = parse(text, stored_json=False)
    assert data == json.loads(text) and data.has_float is False


def test_orjson_turns_integers_beyond_64_bits_into_floats_so_only_stored_json_may_hold_them():
    """Why ``parse`` may use orjson only for JSON without stored values: orjson does not refuse an integer beyond
    64 bits, it silently reads it as a float (no fallback would happen). The compiled columns' integers are INTEGER
    counts and sums (bigint at most; BIGINT ids are written as text), stored JSON may hold any integer."""
    import orjson

    text = '{"m" : {"details" : {"n" : 18446744073709551616, "k" : -9223372036854775809}}}'
    assert orjson.loads(text) != json.loads(text)  # if orjson ever refuses them, the fallback makes this moot
    data = parse(text, stored_json=True)
    assert repr(data) == repr(json.loads(text)) and data.has_float is False


def _run_reads(sites: list, reads: str | None) -> list:
    """hub.api.compiled._run's person reads for a statement that returned ``reads`` (``_note_reads``, which it calls)."""
    from types import SimpleNamespace

    from hub.api.compiled import _note_reads
    from hub.api.compiled.planner import Compiled

    recorded: list = []

    def record_read(idn, **kw):
        recorded.append((idn, kw["field"], kw["operation"], kw["purpose"]))

    noted = SimpleNamespace(record_read=record_read, record_reads=lambda ids, **kw: [record_read(i, **kw) for i in ids])
    _note_reads(noted, Compiled(sql="", params={}, sites=sites), {}, reads)
    return recorded


def test_one_site_reads_split_as_the_general_split_does():
    """``reads[2:].split("\\n0:")`` (one place of reads) gives the reads ``token.partition(":")`` gives: ID numbers
    ending in X, holding a colon, empty, repeated, and a single read."""
    one = [("Posting.person", "Q", "核查")]
    for ids in (["330106198506150011"], ["33010619850615001X", "330106198506150011", "33010619850615001X"],
                ["", "a:b", "0:", ":"], ["110101199003070017"] * 3):
        reads = "\n".join(f"0:{i}" for i in ids)
        got = _run_reads(one, reads)
        assert got == [(i, "Posting.person", "Q", "核查") for i in ids]
        two = _run_reads([*one, ("Query.person", "P", None)], reads)  # the general split (two places)
        assert got == two
    assert _run_reads(one, None) == [] and _run_reads(one, "") == []
