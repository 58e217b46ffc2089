"""The pure translate step of the four connectors (contract section 4): bytes in, InboundEvent or Rejected out.

Table-driven, no broker and no database. Every rejection class of section 4 must yield ``Rejected`` whose reason
names the problem (the dead letter is all an operator gets); accepted events must come out normalised.
"""

from __future__ import annotations

import copy
import json
from datetime import date

import pytest

from hub.contract.inbound import InboundEvent, Rejected
from connectors.finance import CONNECTOR as FINANCE
from connectors.hr import CONNECTOR as HR
from connectors.insurance import CONNECTOR as INSURANCE
from connectors.police import CONNECTOR as POLICE
from hub.domain.identifiers import make_id_number
from tests import events as ev
from tests.factories import id_number, unit_code

CONNECTORS = {"police": POLICE, "hr": HR, "finance": FINANCE, "insurance": INSURANCE}

IDN = id_number(date(1985, 6, 15), male=True, serial=7)  # 17th digit odd: male
UNIT = unit_code(4242)
OTHER_UNIT = unit_code(4243)


def _id_ending_in_x() -> str:
    for serial in range(100):
        for male in (True, False):
            idn = make_id_number("110105", date(1949, 12, 31), serial, male)
            if idn.endswith("X"):
                return idn
    raise AssertionError("no ID number with check character X in the search range")


IDN_X = _id_ending_in_x()


def wrong_check(idn: str) -> str:
    return idn[:17] + ("0" if idn[17] != "0" else "1")


def wrong_unit_check(code: str) -> str:
    return code[:17] + ("0" if code[17] != "0" else "1")


def valid(kind: str, idn: str = IDN) -> dict:
    """A valid event of each inbound type (keys: police, hr, paid, stopped, insurance)."""
    return {
        "police": lambda: ev.police(idn, "张伟"),
        "hr": lambda: ev.hr(idn, "张伟", UNIT),
        "paid": lambda: ev.paid(idn, "张伟", UNIT),
        "stopped": lambda: ev.stopped(idn, UNIT),
        "insurance": lambda: ev.contribution(idn, "张伟", UNIT),
    }[kind]()


CONNECTOR_OF = {"police": POLICE, "hr": HR, "paid": FINANCE, "stopped": FINANCE, "insurance": INSURANCE}
KINDS = list(CONNECTOR_OF)


def raw(event) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode("utf-8")


def changed(kind: str, *, drop_env=(), env=None, drop_data=(), data=None) -> bytes:
    e = valid(kind)
    for k in drop_env:
        del e[k]
    e.update(env or {})
    for k in drop_data:
        del e["data"][k]
    if data:
        e["data"].update(data)
    return raw(e)


def assert_rejected(result, *needles: str) -> None:
    assert isinstance(result, Rejected), f"accepted: {result!r}"
    for n in needles:
        assert n in result.reason, f"{n!r} not in reason {result.reason!r}"


# --------------------------------------------------------------------------------------------------------------
# Rejections: (case id, department, raw bytes or None, words the reason must contain)
# --------------------------------------------------------------------------------------------------------------

NOT_JSON = [
    ("garbage", "police", b"{not json", ["not valid JSON"]),
    ("empty-bytes", "hr", b"", ["not valid JSON"]),
    ("truncated", "finance", raw(valid("paid"))[:-7], ["not valid JSON"]),
    ("invalid-utf8-bytes", "police", b"\xff\xfe\x00{", ["not valid JSON"]),
    ("gbk-encoded-chinese", "police", json.dumps(valid("police"), ensure_ascii=False).encode("gbk"), ["not valid JSON"]),
    ("lone-continuation-byte", "insurance", raw(valid("insurance")).replace(b"}", b"\x80}", 1), ["not valid JSON"]),
    ("single-quotes", "hr", raw(valid("hr")).replace(b'"', b"'"), ["not valid JSON"]),
]

NOT_AN_OBJECT = [
    (f"json-{name}", "police", value, ["not a CloudEvent", "not an object"])
    for name, value in [("array", b"[]"), ("array-of-event", b"[" + raw(valid("police")) + b"]"),
                        ("string", b'"hello"'), ("number", b"42"), ("null", b"null"), ("true", b"true")]
]

NOT_A_CLOUDEVENT = (
    [(f"missing-{f}", "police", changed("police", drop_env=[f]), ["not a CloudEvent", f])
     for f in ("specversion", "id", "source", "type", "data")]
    + [
        ("no-envelope-at-all", "police", json.dumps({"hello": "world"}).encode(), ["not a CloudEvent"]),
        ("specversion-0.3", "police", changed("police", env={"specversion": "0.3"}), ["not a CloudEvent", "specversion"]),
        ("specversion-number", "hr", changed("hr", env={"specversion": 1.0}), ["not a CloudEvent", "specversion"]),
        ("id-integer", "police", changed("police", env={"id": 12345}), ["not a CloudEvent", "id"]),
        ("id-empty", "police", changed("police", env={"id": ""}), ["not a CloudEvent", "id"]),
        ("id-null", "hr", changed("hr", env={"id": None}), ["not a CloudEvent", "id"]),
        ("source-integer", "finance", changed("paid", env={"source": 7}), ["not a CloudEvent", "source"]),
        ("type-integer", "finance", changed("paid", env={"type": 1}), ["not a CloudEvent", "type"]),
        ("sequence-string", "police", changed("police", env={"sequence": "7"}), ["not a CloudEvent", "sequence"]),
        ("sequence-float", "hr", changed("hr", env={"sequence": 7.5}), ["not a CloudEvent", "sequence"]),
        ("sequence-integral-float", "hr", changed("hr", env={"sequence": 7.0}), ["not a CloudEvent", "sequence"]),
        ("sequence-bool", "insurance", changed("insurance", env={"sequence": True}), ["not a CloudEvent", "sequence"]),
        ("data-array", "police", changed("police", env={"data": []}), ["not a CloudEvent", "data"]),
        ("data-string", "finance", changed("paid", env={"data": "id_number=1"}), ["not a CloudEvent", "data"]),
        ("data-null", "insurance", changed("insurance", env={"data": None}), ["not a CloudEvent", "data"]),
    ]
)

UNKNOWN_TYPE = [
    ("police-unknown-type", "police", changed("police", env={"type": "gov.police.identity.deleted"}),
     ["unknown type", "gov.police.identity.deleted"]),
    ("finance-unknown-type", "finance", changed("paid", env={"type": "gov.finance.payroll.refunded"}),
     ["unknown type", "gov.finance.payroll.refunded"]),
    ("empty-type", "hr", changed("hr", env={"type": ""}), ["unknown type"]),
    ("registry-outbound-type", "hr", changed("hr", env={"type": "gov.registry.person.updated"}),
     ["unknown type", "gov.registry.person.updated"]),
]

# A known type given to another department's connector, e.g. a payroll event on the police topic.
WRONG_CONNECTOR = [
    (f"{kind}-on-{dept}", dept, raw(valid(kind)), ["unknown type", valid(kind)["type"]])
    for kind in KINDS for dept in CONNECTORS if CONNECTOR_OF[kind] is not CONNECTORS[dept]
]

REQUIRED = {
    "police": ["id_number", "name", "gender", "birth_date", "status"],
    "hr": ["id_number", "name", "unit_code", "status", "effective_date"],
    "paid": ["id_number", "name", "unit_code", "period", "gross_amount"],
    "stopped": ["id_number", "unit_code", "period"],
    "insurance": ["id_number", "name", "employer_code", "period", "base_amount", "status"],
}
DEPT_OF = {"police": "police", "hr": "hr", "paid": "finance", "stopped": "finance", "insurance": "insurance"}

MISSING_DATA = [
    (f"{kind}-missing-{f}", DEPT_OF[kind], changed(kind, drop_data=[f]), ["invalid data", f, "Field required"])
    for kind, fields in REQUIRED.items() for f in fields
] + [("paid-empty-data", "finance", changed("paid", env={"data": {}}), ["invalid data", "Field required"])]

ILL_TYPED_DATA = [
    # amounts are decimal strings
    ("gross_amount-float", "finance", changed("paid", data={"gross_amount": 8650.0}), ["invalid data", "gross_amount"]),
    ("gross_amount-int", "finance", changed("paid", data={"gross_amount": 8650}), ["invalid data", "gross_amount"]),
    ("gross_amount-thousands-sep", "finance", changed("paid", data={"gross_amount": "8,650.00"}), ["gross_amount"]),
    ("gross_amount-words", "finance", changed("paid", data={"gross_amount": "eight thousand"}), ["gross_amount"]),
    ("gross_amount-empty", "finance", changed("paid", data={"gross_amount": ""}), ["gross_amount"]),
    ("gross_amount-trailing-newline", "finance", changed("paid", data={"gross_amount": "8650.00\n"}), ["gross_amount"]),
    ("gross_amount-too-many-decimals", "finance", changed("paid", data={"gross_amount": "8650.123456"}), ["gross_amount"]),
    ("base_amount-float", "insurance", changed("insurance", data={"base_amount": 7000.0}), ["invalid data", "base_amount"]),
    # periods are YYYY-MM
    ("period-month-13", "finance", changed("paid", data={"period": "2026-13"}), ["invalid data", "period"]),
    ("period-month-00", "finance", changed("stopped", data={"period": "2026-00"}), ["invalid data", "period"]),
    ("period-one-digit-month", "insurance", changed("insurance", data={"period": "2026-1"}), ["period"]),
    ("period-no-dash", "finance", changed("paid", data={"period": "202610"}), ["period"]),
    ("period-a-date", "finance", changed("paid", data={"period": "2026-10-01"}), ["period"]),
    ("period-int", "finance", changed("paid", data={"period": 202610}), ["period"]),
    ("period-trailing-newline", "finance", changed("paid", data={"period": "2026-10\n"}), ["period"]),
    # dates are YYYY-MM-DD
    ("effective_date-feb-30", "hr", changed("hr", data={"effective_date": "2026-02-30"}), ["invalid data", "effective_date"]),
    ("effective_date-month-13", "hr", changed("hr", data={"effective_date": "2026-13-01"}), ["effective_date"]),
    ("effective_date-slashes", "hr", changed("hr", data={"effective_date": "01/10/2026"}), ["effective_date"]),
    ("effective_date-empty", "hr", changed("hr", data={"effective_date": ""}), ["effective_date"]),
    ("birth_date-bad", "police", changed("police", data={"birth_date": "1985-06-31"}), ["invalid data", "birth_date"]),
    ("birth_date-compact", "police", changed("police", data={"birth_date": "19850615"}), ["birth_date"]),
    # enumerations
    ("police-gender-X", "police", changed("police", data={"gender": "X"}), ["invalid data", "gender"]),
    ("police-gender-word", "police", changed("police", data={"gender": "male"}), ["gender"]),
    ("police-status", "police", changed("police", data={"status": "DEAD"}), ["invalid data", "status"]),
    ("police-status-lower", "police", changed("police", data={"status": "alive"}), ["status"]),
    ("hr-status", "hr", changed("hr", data={"status": "FIRED"}), ["invalid data", "status"]),
    ("insurance-status", "insurance", changed("insurance", data={"status": "PAUSED"}), ["invalid data", "status"]),
    # strings
    ("name-empty", "police", changed("police", data={"name": ""}), ["invalid data", "name"]),
    ("name-int", "hr", changed("hr", data={"name": 12}), ["invalid data", "name"]),
    ("name-too-long", "finance", changed("paid", data={"name": "张" * 101}), ["invalid data", "name"]),
    ("rank-int", "hr", changed("hr", data={"rank": 3}), ["invalid data", "rank"]),
    ("photo-not-hex", "police", changed("police", data={"photo_sha256": "z" * 64}), ["invalid data", "photo_sha256"]),
    ("photo-short", "police", changed("police", data={"photo_sha256": "ab" * 10}), ["photo_sha256"]),
    ("id_number-int", "hr", changed("hr", data={"id_number": int(IDN[:17])}), ["invalid data", "id_number"]),
    ("unit_code-int", "hr", changed("hr", data={"unit_code": 12345}), ["invalid data", "unit_code"]),
]

def _impossible_birth_id() -> str:
    from hub.domain.identifiers import id_check_char

    body = "33010619851332011"  # month 13, day 32
    return body + id_check_char(body)


BAD_ID_NUMBER = [
    (f"{kind}-id-check-digit", DEPT_OF[kind], changed(kind, data={"id_number": wrong_check(IDN)}),
     ["invalid data", "id_number", "check character"])
    for kind in KINDS
] + [
    ("id-17-chars", "hr", changed("hr", data={"id_number": IDN[:17]}), ["invalid data", "id_number", "17 digits"]),
    ("id-letter-inside", "finance", changed("paid", data={"id_number": "A" + IDN[1:]}), ["invalid data", "id_number"]),
    ("id-impossible-birth-date", "insurance", changed("insurance", data={"id_number": _impossible_birth_id()}),
     ["invalid data", "id_number", "birth date"]),
]

BAD_UNIT_CODE = [
    ("hr-unit_code-check", "hr", changed("hr", data={"unit_code": wrong_unit_check(UNIT)}),
     ["invalid data", "unit_code", "check character"]),
    ("paid-unit_code-check", "finance", changed("paid", data={"unit_code": wrong_unit_check(UNIT)}),
     ["invalid data", "unit_code", "check character"]),
    ("stopped-unit_code-check", "finance", changed("stopped", data={"unit_code": wrong_unit_check(UNIT)}),
     ["invalid data", "unit_code", "check character"]),
    ("insurance-employer_code-check", "insurance", changed("insurance", data={"employer_code": wrong_unit_check(UNIT)}),
     ["invalid data", "employer_code", "check character"]),
    ("unit_code-17-chars", "hr", changed("hr", data={"unit_code": UNIT[:17]}), ["invalid data", "unit_code", "18 characters"]),
    ("unit_code-letter-I", "finance", changed("paid", data={"unit_code": "I" + UNIT[1:]}), ["invalid data", "unit_code"]),
    ("unit_code-letter-O", "insurance", changed("insurance", data={"employer_code": UNIT[:5] + "O" + UNIT[6:]}),
     ["invalid data", "employer_code"]),
    ("unit_code-empty", "hr", changed("hr", data={"unit_code": ""}), ["invalid data", "unit_code"]),
]

POLICE_DISAGREES_WITH_ID = [
    ("gender-female-for-male-id", "police", changed("police", data={"gender": "F"}), ["invalid data", "gender", "disagrees"]),
    ("birth_date-other-day", "police", changed("police", data={"birth_date": "1985-06-16"}),
     ["invalid data", "birth_date", "disagrees"]),
    ("birth_date-other-year", "police", changed("police", data={"birth_date": "1986-06-15"}), ["birth_date", "disagrees"]),
]

TOMBSTONE = [(f"tombstone-{d}", d, None, ["tombstone"]) for d in CONNECTORS]

REJECTIONS = (NOT_JSON + NOT_AN_OBJECT + NOT_A_CLOUDEVENT + UNKNOWN_TYPE + WRONG_CONNECTOR + MISSING_DATA + ILL_TYPED_DATA
              + BAD_ID_NUMBER + BAD_UNIT_CODE + POLICE_DISAGREES_WITH_ID + TOMBSTONE)


def test_the_rejection_table_has_unique_case_ids():
    ids = [c[0] for c in REJECTIONS]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("dept,value,needles", [c[1:] for c in REJECTIONS], ids=[c[0] for c in REJECTIONS])
def test_rejected_with_a_reason_naming_the_problem(dept, value, needles):
    assert_rejected(CONNECTORS[dept].translate(value), *needles)


@pytest.mark.parametrize("value,needles", [c[2:] for c in NOT_JSON + NOT_AN_OBJECT + TOMBSTONE],
                         ids=[c[0] for c in NOT_JSON + NOT_AN_OBJECT + TOMBSTONE])
def test_undecodable_messages_are_rejected_alike_by_every_connector(value, needles):
    for dept, c in CONNECTORS.items():
        assert_rejected(c.translate(value), *needles)


# --------------------------------------------------------------------------------------------------------------
# Ill-typed values that once slipped through translate (each was a bug, now rejected).
# --------------------------------------------------------------------------------------------------------------

ACCEPTED_BUT_ILL_TYPED = [
    pytest.param("hr", changed("hr", data={"effective_date": 0}), "effective_date",
                 id="effective_date-number"),
    pytest.param("hr", changed("hr", data={"effective_date": "2026-10-01T00:00:00"}), "effective_date",
                 id="effective_date-datetime-string"),
    pytest.param("finance", changed("paid", data={"period": "２０２６-10"}), "period",
                 id="period-fullwidth-digits"),
    pytest.param("finance", changed("paid", data={"gross_amount": "８６５０.00"}), "gross_amount",
                 id="gross_amount-fullwidth-digits"),
    pytest.param("hr", changed("hr", env={"sequence": 2 ** 63}), "sequence",
                 id="sequence-beyond-bigint"),
    pytest.param("hr", changed("hr", data={"rank": "科" * 101}), "rank",
                 id="rank-longer-than-column"),
]


@pytest.mark.parametrize("dept,value,field", ACCEPTED_BUT_ILL_TYPED)
def test_ill_typed_values_are_rejected(dept, value, field):
    assert_rejected(CONNECTORS[dept].translate(value), field)


# --------------------------------------------------------------------------------------------------------------
# Accepted events
# --------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_each_valid_event_is_accepted_by_its_own_connector(kind):
    e = valid(kind)
    out = CONNECTOR_OF[kind].translate(raw(e))
    assert isinstance(out, InboundEvent), out
    assert out.type == e["type"]
    assert out.event_id == e["id"]
    assert out.source == e["source"]
    assert out.sequence == e["sequence"]
    assert out.subject == IDN
    assert out.data.id_number == IDN


@pytest.mark.parametrize("kind", KINDS)
def test_lower_case_x_in_the_id_number_is_normalised_to_upper_case(kind):
    e = valid(kind, IDN_X)
    e["data"]["id_number"] = IDN_X.lower()
    e["subject"] = IDN_X.lower()
    out = CONNECTOR_OF[kind].translate(raw(e))
    assert isinstance(out, InboundEvent), out
    assert out.data.id_number == IDN_X and IDN_X.endswith("X")
    assert out.subject == IDN_X


@pytest.mark.parametrize("kind", KINDS)
def test_subject_is_the_id_number_from_data_even_without_an_envelope_subject(kind):
    e = valid(kind)
    del e["subject"]
    out = CONNECTOR_OF[kind].translate(raw(e))
    assert isinstance(out, InboundEvent), out
    assert out.subject == IDN


@pytest.mark.parametrize("kind", KINDS)
def test_payload_hash_is_stable_across_key_order_and_whitespace(kind):
    e = valid(kind)
    reordered = {k: e[k] for k in reversed(list(e))}
    reordered["data"] = {k: e["data"][k] for k in reversed(list(e["data"]))}
    assert list(reordered) != list(e)
    c = CONNECTOR_OF[kind]
    a = c.translate(raw(e))
    b = c.translate(json.dumps(reordered, ensure_ascii=True, indent=2).encode("utf-8"))
    assert isinstance(a, InboundEvent) and isinstance(b, InboundEvent)
    assert a.payload_sha256 == b.payload_sha256
    assert len(a.payload_sha256) == 64


@pytest.mark.parametrize("kind", KINDS)
def test_payload_hash_changes_with_the_payload(kind):
    e = valid(kind)
    other = copy.deepcopy(e)
    other["data"]["period" if "period" in other["data"] else "status"] = (
        "2026-09" if "period" in other["data"] else {"police": "DECEASED", "hr": "LEFT"}[kind])
    c = CONNECTOR_OF[kind]
    assert c.translate(raw(e)).payload_sha256 != c.translate(raw(other)).payload_sha256


@pytest.mark.parametrize("sequence", [0, 1, 17, 2 ** 40])
def test_sequence_is_carried(sequence):
    out = HR.translate(raw(ev.hr(IDN, "张伟", UNIT, sequence=sequence)))
    assert isinstance(out, InboundEvent) and out.sequence == sequence


def test_sequence_is_optional():
    e = valid("paid")
    del e["sequence"]
    out = FINANCE.translate(raw(e))
    assert isinstance(out, InboundEvent) and out.sequence is None


def test_optional_fields_are_carried_and_unknown_data_fields_ignored():
    e = valid("police")
    e["data"]["photo_sha256"] = "ab" * 32
    e["data"]["remark"] = "extra"
    out = POLICE.translate(raw(e))
    assert isinstance(out, InboundEvent), out
    assert out.data.photo_sha256 == "ab" * 32
    h = valid("hr")
    h["data"]["rank"] = "副科"
    out = HR.translate(raw(h))
    assert isinstance(out, InboundEvent) and out.data.rank == "副科"


def test_accepted_values_are_typed():
    out = FINANCE.translate(raw(ev.paid(IDN, "张伟", UNIT, period="2026-10", amount="-120.5")))
    assert isinstance(out, InboundEvent), out
    assert out.data.period == "2026-10" and out.data.gross_amount == "-120.5" and out.data.unit_code == UNIT
    out = POLICE.translate(raw(valid("police")))
    assert out.data.birth_date == date(1985, 6, 15) and out.data.gender == "M"
    out = HR.translate(raw(valid("hr")))
    assert out.data.effective_date == date(2026, 10, 1)
