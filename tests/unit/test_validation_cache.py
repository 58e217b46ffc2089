"""The validation cache (hub/api/build.py) answers a document exactly as validating it again would: two documents with
the same syntax tree at the same offsets but different line breaks (so other lines and columns) are not one entry —
graphql-core's node equality compares offsets, not the text, and a cached error carries its first document's
locations."""

from __future__ import annotations

import asyncio

from hub.api.build import build_schema


def _locations(schema, query):
    result = asyncio.run(schema.execute(query))
    return [[(loc.line, loc.column) for loc in e.locations] for e in result.errors]


def test_cached_errors_point_into_the_document_that_was_sent():
    schema = build_schema()
    first, second = "{\nnoSuchField }", "{ noSuchField\n}"  # the same offsets, other lines and columns
    assert _locations(schema, first) == [[(2, 1)]]
    assert _locations(schema, second) == [[(1, 3)]]
    assert _locations(schema, first) == [[(2, 1)]]  # and back: each its own entry


def test_a_cached_validation_still_refuses_what_it_refused():
    schema = build_schema()
    for _ in range(3):
        result = asyncio.run(schema.execute("{ noSuchField }"))
        assert result.data is None and "noSuchField" in result.errors[0].message
    other = build_schema(max_depth=2)  # another schema's rules: its own verdicts
    deep = "{ unit(code: \"X\") { parent { parent { code } } } }"
    assert not [e for e in asyncio.run(schema.execute(deep)).errors or [] if "depth" in e.message]
    assert [e for e in asyncio.run(other.execute(deep)).errors if "depth" in e.message]
