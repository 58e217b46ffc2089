"""Inbound CloudEvents (contract section 4): envelope and per-type `data` models, validated with pydantic.

``translate(raw, expected_types, source)`` is pure: bytes in, a validated ``InboundEvent`` or a ``Rejected`` reason
out — for ANY bytes (tests/unit/test_translate_fuzz.py): it never raises, a reason is always text the database
and a Kafka header can hold, and an accepted event holds no such text anywhere (issue 12, items 6 and 8).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
)

from hub.contract import types
from hub.domain.identifiers import IdNumber, InvalidIdentifier, parse_id_number, parse_unit_code

PERIOD_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
AMOUNT_PATTERN = r"^-?[0-9]{1,12}(\.[0-9]{1,4})?$"
SHA256_PATTERN = r"^[0-9a-fA-F]{64}$"
Period = Annotated[StrictStr, Field(pattern=PERIOD_PATTERN)]
Amount = Annotated[StrictStr, Field(pattern=AMOUNT_PATTERN)]
# What each pattern means, for error messages (people read these, not regular expressions).
PATTERN_MEANINGS = {
    PERIOD_PATTERN: "must be a period YYYY-MM (month 01-12)",
    AMOUNT_PATTERN: "must be an amount in yuan as text: up to 12 digits, at most 4 decimals, e.g. \"8000.00\"",
    SHA256_PATTERN: "must be a SHA-256 digest: 64 hexadecimal characters",
}



# ---- what a database column and a UTF-8 header can hold --------------------------------------------------------

MAX_NESTING = 32  # arrays and objects inside each other; an event has 2 levels, JSON's parser gives up near 1000
REASON_LIMIT = 2000  # characters of a rejection reason
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL (PostgreSQL text) and lone surrogates (not UTF-8)


def _what(text: str) -> str:
    return "a NUL character" if "\x00" in text else "a lone surrogate (not UTF-8)"


def storable(text: str, limit: int = REASON_LIMIT) -> str:
    """``text`` as a database column and a UTF-8 header can hold it: NUL and lone surrogates written as escapes
    (``\\x00``, ``\\udc80``), cut to ``limit`` characters."""
    if _UNSTORABLE.search(text):
        text = _UNSTORABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _unstorable(obj) -> str | None:
    """What in decoded JSON no database can store, or None: a NUL or a lone surrogate in any key or string
    (envelope, extensions, data — all of it), or nesting deeper than MAX_NESTING."""
    stack = [(obj, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_NESTING:
            return f"nested deeper than {MAX_NESTING} levels at {path}"
        if isinstance(value, dict):
            for k, v in value.items():
                p = f"{path}.{k}" if path else k
                if _UNSTORABLE.search(k):
                    return f"{_what(k)} in a field name ({p!r})"
                stack.append((v, p, depth + 1))
        elif isinstance(value, list):
            stack.extend((v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value))
        elif isinstance(value, str) and _UNSTORABLE.search(value):
            return f"{_what(value)} in {path or 'the event'}"
    return None


def _storable_text(value: str) -> str:
    """A data field the database cannot store is refused here, not by the database mid-write (a message's JSON is
    checked whole by ``_unstorable``; a snapshot's CSV cells, which `hub compare` validates with these models, here)."""
    if _UNSTORABLE.search(value):
        raise ValueError(f"must not contain {_what(value)}")
    return value


Name = Annotated[StrictStr, Field(min_length=1, max_length=100), AfterValidator(_storable_text)]


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@lru_cache(maxsize=1 << 18)
def _id_number_value(raw: str) -> str:
    """parse_id_number's upper-case value, memoised: each person's ID number arrives once per department (valid
    ones only are cached; an invalid one raises every time). The memo holds strings only, which the garbage
    collector does not track: holding the IdNumber objects themselves put up to 262,144 more objects in every full
    collection of a connector's process (docs/bench-streaming.md, session 12)."""
    return parse_id_number(raw).value


def _id_number_text(raw: str) -> str:
    """The validated upper-case ID number: memoised for the usual 18 characters; a longer text (spaces around it,
    which are accepted, or invalid anyway) is validated each time and not kept — the memo is keyed by the raw text,
    and padded copies of one number (up to a message's size each) would each stay in it."""
    return _id_number_value(raw) if len(raw) <= 18 else parse_id_number(raw).value


def _id_number(raw: str) -> IdNumber:
    return IdNumber(_id_number_text(raw))


def _iso_date(value):
    """Dates are `YYYY-MM-DD` strings (contract section 4): no numbers, no times."""
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError("must be a date string YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
Sequence = Annotated[StrictInt, Field(ge=0, le=2**63 - 1)]


# ---- JSON as RFC 8259 has it --------------------------------------------------------------------------------------

def _not_json_number(value: str):
    """json.loads takes NaN and ±Infinity, and numbers beyond a double's range as infinity: none is JSON's."""
    raise ValueError(f"{value} is not a JSON number")


def _finite(value: str) -> float:
    number = float(value)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"number {value[:40]} is out of range")
    return number


_JSON = json.JSONDecoder(parse_constant=_not_json_number, parse_float=_finite)  # one decoder, reused


class _Data(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    @field_validator("id_number", check_fields=False)
    @classmethod
    def _idn(cls, v: str) -> str:
        return _id_number_text(v)

    @field_validator("unit_code", "employer_code", check_fields=False)
    @classmethod
    def _unit(cls, v: str) -> str:
        return parse_unit_code(v)


class IdentityUpdated(_Data):
    id_number: StrictStr
    name: Name
    gender: Literal["M", "F"]
    birth_date: IsoDate
    status: Literal["ALIVE", "DECEASED", "CANCELLED"]
    photo_sha256: Annotated[StrictStr, Field(pattern=SHA256_PATTERN)] | None = None

    def model_post_init(self, _ctx) -> None:
        idn = _id_number(self.id_number)
        if idn.gender != self.gender:
            raise ValueError(f"gender {self.gender} disagrees with ID number {idn.value}")
        if idn.birth_date != self.birth_date:
            raise ValueError(f"birth_date {self.birth_date} disagrees with ID number {idn.value}")


class EmploymentUpdated(_Data):
    id_number: StrictStr
    name: Name
    unit_code: StrictStr
    status: Literal["EMPLOYED", "RETIRED", "LEFT"]
    effective_date: IsoDate
    rank: Annotated[StrictStr, Field(max_length=100), AfterValidator(_storable_text)] | None = None


class PayrollPaid(_Data):
    id_number: StrictStr
    name: Name
    unit_code: StrictStr
    period: Period
    gross_amount: Amount


class PayrollStopped(_Data):
    id_number: StrictStr
    unit_code: StrictStr
    period: Period


class ContributionRecorded(_Data):
    id_number: StrictStr
    name: Name
    employer_code: StrictStr
    period: Period
    base_amount: Amount
    status: Literal["ACTIVE", "SUSPENDED", "TERMINATED"]


DATA_MODELS: dict[str, type[_Data]] = {
    types.IDENTITY_UPDATED: IdentityUpdated,
    types.EMPLOYMENT_UPDATED: EmploymentUpdated,
    types.PAYROLL_PAID: PayrollPaid,
    types.PAYROLL_STOPPED: PayrollStopped,
    types.CONTRIBUTION_RECORDED: ContributionRecorded,
}


class Envelope(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    specversion: Literal["1.0"]
    id: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    source: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    type: StrictStr
    time: StrictStr | None = None
    subject: StrictStr | None = None
    sequence: Sequence | None = None
    datacontenttype: StrictStr | None = None
    data: dict


@dataclass(frozen=True)
class InboundEvent:
    """A validated inbound event, ready for its connector's mapping (``connectors.<department>.rows``)."""

    source: str  # the department that owns the topic, e.g. /gov/police: de-duplication and ordering key on it
    event_id: str
    type: str
    subject: str  # the person's ID number
    sequence: int | None
    payload_sha256: str
    data: _Data
    # When the partner sent it: the CloudEvent `time` (RFC 3339; None when absent, without an offset or unreadable —
    # it is optional and never a reason to refuse an event). The connector falls back to the Kafka record timestamp.
    sent_at: datetime | None = None


@dataclass(frozen=True)
class Rejected:
    reason: str

    def __post_init__(self):  # whatever the message held, the reason is storable text of bounded length
        object.__setattr__(self, "reason", storable(self.reason))


_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))  # one encoder, reused


def payload_hash(event: dict) -> str:
    canonical = _CANONICAL.encode(event)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def describe(err: dict, whole: str = "event") -> str:
    """One pydantic error as people read it: ``field: what is wrong`` (a pattern by its meaning, never the regex)."""
    loc = ".".join(str(x) for x in err["loc"]) or whole
    if err["type"] == "string_pattern_mismatch":
        pattern = (err.get("ctx") or {}).get("pattern")
        msg = PATTERN_MEANINGS.get(pattern, "has the wrong format")
        return f"{loc}: {msg} (got {err['input']!r})"
    return f"{loc}: {err['msg'].removeprefix('Value error, ')}"


def _explain(e: ValidationError) -> str:
    return "; ".join(describe(err) for err in e.errors()[:5])


def translate(raw: bytes | None, expected_types: frozenset[str], source: str) -> InboundEvent | Rejected:
    """Decode and validate one message value of the topic that ``source`` (its department) owns; the reason says
    exactly what is wrong. Never raises."""
    if raw is None:
        return Rejected("empty message (tombstone)")
    try:
        obj = _JSON.decode(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        return Rejected(f"not valid JSON: {e}")
    except RecursionError:
        return Rejected(f"not valid JSON: nested deeper than {MAX_NESTING} levels")
    except ValueError as e:  # JSONDecodeError; integers beyond 4300 digits; NaN, Infinity, 1e999
        return Rejected(f"not valid JSON: {e}")
    if not isinstance(obj, dict):
        return Rejected("not a CloudEvent: the JSON value is not an object")
    # Lone surrogates and NUL reach a string only through a \u escape; deep nesting needs many brackets.
    if b"\\u" in raw or raw.count(b"[") + raw.count(b"{") > MAX_NESTING:
        problem = _unstorable(obj)
        if problem:
            return Rejected(f"not storable: {problem}")
    try:
        env = Envelope.model_validate(obj)
    except ValidationError as e:
        return Rejected(f"not a CloudEvent: {_explain(e)}")
    model = DATA_MODELS.get(env.type)
    if model is None or env.type not in expected_types:
        return Rejected(f"unknown type {env.type!r} for this topic (expected one of {', '.join(sorted(expected_types))})")
    if env.source != source:
        return Rejected(f"source {env.source!r} is not {source}, the department that owns this topic")
    try:
        data = model.model_validate(env.data)
    except ValidationError as e:
        return Rejected(f"invalid data: {_explain(e)}")
    except (InvalidIdentifier, ValueError) as e:
        return Rejected(f"invalid data: {e}")
    return InboundEvent(source=source, event_id=env.id, type=env.type, subject=data.id_number,
                        sequence=env.sequence, payload_sha256=payload_hash(obj), data=data, sent_at=event_time(env.time))


def event_time(value: str | None) -> datetime | None:
    """A CloudEvent `time` (RFC 3339) as an aware UTC datetime; None when absent, unreadable or without an offset."""
    if not value or len(value) > 64:
        return None
    try:
        t = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return t.astimezone(timezone.utc) if t.tzinfo is not None else None
