"""Issue 12, items 6 and 8: whatever bytes arrive on an inbound topic, the translate step answers — it never raises.

Properties (hypothesis), for each of the four connectors:
* arbitrary bytes, arbitrary JSON values, and valid events with one envelope or data field replaced by arbitrary
  JSON (NUL, lone surrogates, huge numbers, deep nesting…) give an ``InboundEvent`` or a ``Rejected``;
* a ``Rejected`` reason is text a database column and a Kafka header can hold (no NUL, no lone surrogate,
  bounded length);
* an ``InboundEvent`` holds only such text too, in every envelope field it carries and in every data field.
Plus the named poison pills of the issue, and the source rule: the source is the topic's department.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hub.contract.inbound import InboundEvent, Rejected
from connectors.finance import CONNECTOR as FINANCE
from connectors.hr import CONNECTOR as HR
from connectors.insurance import CONNECTOR as INSURANCE
from connectors.police import CONNECTOR as POLICE
from tests import events as ev
from tests.factories import id_number, unit_code

CONNECTORS = [POLICE, HR, FINANCE, INSURANCE]
IDN = id_number(date(1985, 6, 15), male=True, serial=7)
UNIT = unit_code(4242)
VALID = {  # one valid event per connector
    "police": ev.police(IDN, "张伟"),
    "hr": ev.hr(IDN, "张伟", UNIT),
    "finance": ev.paid(IDN, "张伟", UNIT),
    "insurance": ev.contribution(IDN, "张伟", UNIT),
}
REASON_LIMIT = 2000
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def storable(text: str) -> bool:
    """What PostgreSQL text and UTF-8 can hold."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check(connector, raw) -> InboundEvent | Rejected:
    out = connector.translate(raw)  # must not raise
    assert isinstance(out, (InboundEvent, Rejected)), out
    if isinstance(out, Rejected):
        assert storable(out.reason) and 0 < len(out.reason) <= REASON_LIMIT, out.reason[:200]
    else:
        for f in dataclasses.fields(out):
            value = getattr(out, f.name)
            if isinstance(value, str):
                assert storable(value), (f.name, value)
        for name, value in out.data.model_dump().items():
            if isinstance(value, str):
                assert storable(value), (name, value)
        assert out.source == connector.source
    return out


# ---- strategies ---------------------------------------------------------------------------------------------------

# Text with what databases refuse mixed in: NUL, lone surrogates (only JSON's \u escapes can carry them), controls.
bad_char = st.sampled_from(["\x00", "\x1f"]) | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
hostile_text = st.text(max_size=20) | st.builds(lambda a, bad, b: a + bad + b, st.text(max_size=8), bad_char,
                                                 st.text(max_size=8))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=2 ** 63 - 2, max_value=2 ** 200)
    | st.floats(allow_nan=False, allow_infinity=False) | hostile_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(hostile_text, children, max_size=4),
    max_leaves=20)


def encodings(value) -> list[bytes]:
    """The ways a partner could put a JSON value on the wire: escaped ASCII, and raw text (lone surrogates passed
    through as the invalid UTF-8 bytes some encoders write)."""
    return [json.dumps(value, ensure_ascii=True).encode("ascii"),
            json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")]


# ---- properties ---------------------------------------------------------------------------------------------------

@FUZZ
@given(raw=st.binary(max_size=400))
@example(raw=b"\xff\xfe\x00{")
@example(raw=b"")
def test_arbitrary_bytes_never_raise(raw):
    for c in CONNECTORS:
        check(c, raw)


@FUZZ
@given(value=json_values)
def test_arbitrary_json_never_raises(value):
    for raw in encodings(value):
        for c in CONNECTORS:
            check(c, raw)


ENVELOPE_FIELDS = ["specversion", "id", "source", "type", "time", "subject", "sequence", "datacontenttype", "data",
                   "extension"]


@settings(FUZZ, max_examples=400)
@given(connector=st.sampled_from(CONNECTORS), where=st.sampled_from(ENVELOPE_FIELDS + ["data."]), field=hostile_text,
       value=hostile_text | json_values)
def test_a_valid_event_with_any_field_replaced_never_raises(connector, where, field, value):
    event = json.loads(json.dumps(VALID[connector.name]))
    if where == "data.":  # a data field: one of the type's, or any other name
        names = list(event["data"]) + [field]
        event["data"][names[len(field) % len(names)]] = value
    else:
        event[where] = value
    for raw in encodings(event):
        check(connector, raw)


@FUZZ
@given(connector=st.sampled_from(CONNECTORS), cut=st.integers(min_value=0, max_value=400),
       insert=st.binary(min_size=1, max_size=8))
def test_a_valid_event_with_bytes_inserted_never_raises(connector, cut, insert):
    raw = ev.encode(VALID[connector.name])
    cut %= len(raw) + 1
    check(connector, raw[:cut] + insert + raw[cut:])


# ---- the poison pills, by name ----------------------------------------------------------------------------

def _with(connector, **fields) -> dict:
    event = json.loads(json.dumps(VALID[connector.name]))
    event.update(fields)
    return event


def _escaped(event: dict) -> bytes:
    return json.dumps(event, ensure_ascii=True).encode("ascii")


POISON = {
    "integer-of-5000-digits": lambda c: b'{"specversion":"1.0","sequence":' + b"9" * 5000 + b"}",
    "integer-of-5000-digits-in-data": lambda c: ev.encode(_with(c)).replace(b'"data": {', b'"data": {"n":' + b"1" * 5000 + b",", 1),
    "float-overflowing-to-infinity": lambda c: ev.encode(_with(c)).replace(b'"sequence": ', b'"x": 1e999, "sequence": ', 1),
    "NaN-is-not-json": lambda c: ev.encode(_with(c)).replace(b'"sequence": ', b'"x": NaN, "sequence": ', 1),
    "Infinity-is-not-json": lambda c: ev.encode(_with(c)).replace(b'"sequence": ', b'"x": -Infinity, "sequence": ', 1),
    "arrays-nested-100000-deep": lambda c: b"[" * 100_000 + b"]" * 100_000,
    "objects-nested-50000-deep": lambda c: b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "extension-nested-900-deep": lambda c: ev.encode(_with(c)).replace(b'"data": {', b'"x": ' + b"[" * 900 + b"]" * 900 + b', "data": {', 1),
    "NUL-in-id": lambda c: _escaped(_with(c, id="a\x00b")),
    "NUL-in-source": lambda c: _escaped(_with(c, source=c.source + "\x00")),
    "NUL-in-type": lambda c: _escaped(_with(c, type="gov\x00")),
    "NUL-in-subject": lambda c: _escaped(_with(c, subject=IDN + "\x00")),
    "NUL-in-time": lambda c: _escaped(_with(c, time="2026-11-01T08:00:00Z\x00")),
    "NUL-in-an-extension": lambda c: _escaped(_with(c, traceparent="\x00")),
    "NUL-in-a-key": lambda c: _escaped(_with(c, **{"a\x00": 1})),
    "NUL-in-an-unknown-data-field": lambda c: _escaped(_with(c, data={**VALID[c.name]["data"], "remark": "\x00"})),
    "lone-surrogate-in-id": lambda c: _escaped(_with(c, id="\ud800")),
    "lone-surrogate-in-time": lambda c: _escaped(_with(c, time="\udfff")),
    "lone-surrogate-in-an-extension": lambda c: _escaped(_with(c, comment="\ud83d")),
    "lone-surrogate-in-an-unknown-data-field": lambda c: _escaped(_with(c, data={**VALID[c.name]["data"], "x": "\udc80"})),
    "type-of-a-million-characters": lambda c: _escaped(_with(c, type="t" * 1_000_000)),
}


@pytest.mark.parametrize("name", list(POISON))
@pytest.mark.parametrize("connector", CONNECTORS, ids=lambda c: c.name)
def test_poison_pills_are_rejected_with_a_storable_reason(name, connector):
    out = check(connector, POISON[name](connector))
    assert isinstance(out, Rejected), f"{name} accepted: {out!r}"


def test_a_valid_event_with_escaped_characters_is_still_accepted():
    e = _with(POLICE)
    e["data"]["name"] = "张伟"
    e["traceparent"] = "00-ab\\u0000cd"  # a backslash and 'u0000' as text, not a NUL
    out = check(POLICE, _escaped(e))
    assert isinstance(out, InboundEvent), out
    assert out.data.name == "张伟"


def test_a_surrogate_pair_is_one_character_not_a_lone_surrogate():
    e = _with(POLICE, comment="😀")
    out = check(POLICE, _escaped(e))  # written as \ud83d\ude00
    assert isinstance(out, InboundEvent), out


# ---- item 8: the source is the topic's department -----------------------------------------------------------------

@pytest.mark.parametrize("connector", CONNECTORS, ids=lambda c: c.name)
def test_the_source_must_be_the_department_that_owns_the_topic(connector):
    assert isinstance(check(connector, ev.encode(VALID[connector.name])), InboundEvent)
    for other in CONNECTORS:
        if other is connector:
            continue
        out = check(connector, ev.encode(_with(connector, source=other.source)))
        assert isinstance(out, Rejected) and "source" in out.reason and connector.source in out.reason, out
    for variant in ("", connector.source + "/", connector.source.upper(), connector.source + "/district-7",
                    "/gov/" + connector.name + "-backup", "https://example.org" + connector.source):
        out = check(connector, ev.encode(_with(connector, source=variant)))
        assert isinstance(out, Rejected) and "source" in out.reason, (variant, out)


def test_the_departments_sources():
    assert {c.name: c.source for c in CONNECTORS} == {
        "police": "/gov/police", "hr": "/gov/hr", "finance": "/gov/finance", "insurance": "/gov/insurance"}
