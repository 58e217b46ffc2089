"""hub.api.compiled.ascii_json: the bytes of strawberry's response encoding (``json.dumps(obj, separators=(",", ":"))``,
non-ASCII escaped), for the values a compiled read parses from PostgreSQL's JSON (no floats); None where it cannot
be sure. The HTTP response of a compiled read is encoded with it, so any difference would change responses."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.api.compiled import CompiledData, ascii_json


def stock(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()  # strawberry.http.base.BaseView.encode_json


def test_every_character_is_written_as_the_standard_library_writes_it():
    bmp = "".join(chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF)
    astral = "".join(chr(c) for c in range(0x10000, 0x110000, 97)) + "\U0010ffff\U00020bb7"  # 𠮷: a name character
    for text in (bmp, astral, "".join(chr(c) for c in range(128))):
        obj = {"data": {"s": text, text[:50]: [text[::-1]]}}
        assert ascii_json(obj) == stock(obj)


def test_quotes_backslashes_and_escapes_next_to_each_other():
    tricky = ['\\"', '"\\', '\\\\"', '\\\\\\"', '\\u4e2d', '\\中', '"中"', '\\\n', '\x7f"', '中\\', '\\', '"', '']
    for a in tricky:
        for b in tricky:
            obj = {a: [a + b, b + a, {b: a}], "k": a + "中" + b}
            assert ascii_json(obj) == stock(obj), (a, b)


def test_plain_ascii_is_orjsons_output_as_is():
    obj = {"data": {"units": {"edges": [{"node": {"code": "11330100000364154U", "n": 3, "ok": True, "x": None}}]}}}
    assert ascii_json(obj) == stock(obj)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_generated_values_encode_to_the_same_bytes(value):
    obj = {"data": value}
    out = ascii_json(obj)
    assert out is not None, value  # every such value takes the fast path
    assert out == stock(obj)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1))
def test_what_orjson_cannot_write_falls_back(surrogates):
    assert ascii_json({"s": surrogates}) is None  # the caller then encodes with json.dumps
    assert ascii_json({"n": 2**64}) is None
    assert ascii_json({1: "key not a string"}) is None


def test_compiled_data_says_whether_it_holds_floats():
    assert CompiledData({"a": 1}).has_float  # unknown until the parse says otherwise: json.dumps encodes it


# --- the access chain's seal payload (hub.adapters.access_chain._payload): orjson's text must be jsonutil.dumps's,
# or every seal written since would fail `hub audit verify` (and seals written before would fail it now)

row_values = st.tuples(st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1), st.text(), st.text(), st.text(),
                       st.none() | st.text(), st.text(), st.none() | st.text(), st.none() | st.text())


@settings(max_examples=300, deadline=None)
@given(st.text(), st.integers(min_value=0, max_value=2**62), st.text(), st.lists(row_values, max_size=6))
def test_seal_payload_is_jsonutil_dumps(prev, seq, at, rows):
    from hub.adapters.access_chain import _payload
    from hub.adapters.jsonutil import dumps

    assert _payload([prev, seq, at, rows]) == dumps([prev, seq, at, [list(r) for r in rows]])


def test_seal_payload_of_every_character_and_of_what_orjson_refuses():
    from hub.adapters.access_chain import _payload, seal_hash
    from hub.adapters.jsonutil import dumps

    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    rows = [(1, every, "ADMIN", "330104196910151516", None, "Query.person", every[::-1], None)]
    assert _payload(["0" * 64, 1, "t", rows]) == dumps(["0" * 64, 1, "t", [list(r) for r in rows]])
    big = [(2**64, "a", "ADMIN", "x", None, "f", None, None)]  # beyond orjson: dumps writes it
    assert _payload(["h", 2, "t", big]) == dumps(["h", 2, "t", [list(r) for r in big]])
    # the two orders of seal_hash agree when every row has the same field, outcome, operation and purpose
    same = [(1, "a", "ADMIN", idn, "op", "Posting.person", "p", None) for idn in ("3", "1", "2")]
    mixed = same + [(1, "a", "ADMIN", "0", "op", "Query.person", "p", "NOT_FOUND")]
    for rs in (same, mixed):
        expected = sorted(rs, key=lambda r: (r[3], r[5], r[7] or "", r[4] or "", r[6] or ""))
        assert seal_hash("h", 3, "t", rs, None) == seal_hash("h", 3, "t", expected, None)
        from hub.adapters.operation_log import mac
        assert seal_hash("h", 3, "t", rs, b"k") == mac(b"k", dumps(["h", 3, "t", [list(r) for r in expected]]))


def test_names_take_the_one_pass_escape_and_write_the_same_bytes(monkeypatch):
    """Text whose non-ASCII characters are all in U+0100–U+FFFF (the hub's Chinese names) is escaped by the ASCII
    codec's backslashreplace alone — the same ``\\uXXXX`` (lowercase) as ``ensure_ascii`` — on every such
    character, next to every ASCII character but DEL."""
    import hub.api.compiled as compiled

    def unused(_):
        raise AssertionError("the fallback escaper ran")

    monkeypatch.setattr(compiled, "encode_basestring_ascii", unused)
    wide = "".join(chr(c) for c in range(0x100, 0x10000) if not 0xD800 <= c <= 0xDFFF)
    ascii_ = "".join(chr(c) for c in range(0x7F))
    for text in (wide, ascii_ + wide + ascii_[::-1], "王小明", '中"\\\n\t\x00文'):
        obj = {"data": {"s": text, text[:30]: [text[::-1], 1, None, True]}}
        assert ascii_json(obj) == stock(obj)


@settings(max_examples=300, deadline=None)
@given(st.recursive(
    st.none() | st.integers(min_value=-(2**63), max_value=2**63) | st.text(
        alphabet=st.characters(min_codepoint=0x100, max_codepoint=0xFFFF, blacklist_categories=("Cs",))
        | st.characters(max_codepoint=0x7E)),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20))
def test_generated_names_encode_to_the_same_bytes(value):
    assert ascii_json({"data": value}) == stock({"data": value})
