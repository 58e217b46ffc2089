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
