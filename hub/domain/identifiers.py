"""Citizen ID numbers (GB 11643-1999) and unified social credit codes (GB 32100-2015)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from operator import mul
from datetime import date

# The one statement of each standard's weights: the Python checks below, the importer's memoised check
# (``IdNumberChecks``) and the staged comparison's SQL (hub/adapters/snapshot_staging.py, generated from these and
# tested against ``parse_id_number`` / ``parse_unit_code`` on PostgreSQL: tests/integration/test_identifier_sql.py).
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"  # indexed by the weighted sum mod 11
_ID_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_REGION_SHAPE = re.compile(r"^[0-9]{6}$")


class InvalidIdentifier(ValueError):
    """An ID number or unit code that fails its standard's shape or check character."""


_ID_OFFSET = 48 * sum(ID_WEIGHTS)  # the weighted sum of the ASCII code of '0'


def id_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(map(mul, first17.encode("ascii"), ID_WEIGHTS)) - _ID_OFFSET
    return ID_CHECK_CHARS[total % 11]


@dataclass(frozen=True)
class IdNumber:
    """A validated 18-character citizen ID number; ``value`` is upper-case."""

    value: str

    @property
    def birth_date(self) -> date:
        return date(int(self.value[6:10]), int(self.value[10:12]), int(self.value[12:14]))

    @property
    def gender(self) -> str:
        return "M" if int(self.value[16]) % 2 == 1 else "F"

    @property
    def region_code(self) -> str:
        return self.value[:6]

    def masked(self) -> str:
        """First 6 and last 4 characters kept, the rest starred (for MONITOR readers)."""
        return mask_id_number(self.value)

    def __str__(self) -> str:
        return self.value


def parse_id_number(raw: str) -> IdNumber:
    """Validate a citizen ID number; lower-case ``x`` is accepted and stored upper-case."""
    if not isinstance(raw, str):
        raise InvalidIdentifier("ID number must be a string")
    value = raw.strip().upper()
    if not _ID_SHAPE.match(value):
        raise InvalidIdentifier(f"ID number {raw!r} must be 17 digits and a check character")
    expected = id_check_char(value[:17])
    if value[17] != expected:
        raise InvalidIdentifier(f"ID number {raw!r} has check character {value[17]}, expected {expected}")
    try:
        _ = IdNumber(value).birth_date
    except ValueError:
        raise InvalidIdentifier(f"ID number {raw!r} encodes no valid birth date") from None
    return IdNumber(value)


class IdNumberChecks:
    """A quick, memoised check of citizen ID numbers for the hot loops of a large import.

    ``check(value)`` takes an upper-cased, stripped ID number and returns (birth date, ISO birth date, gender) when
    it is plainly valid: 18 ASCII characters, 17 digits and the right check character, a real birth date. It
    returns None for anything else, and the caller then asks ``parse_id_number``, which has the final word and the
    error message. The GB 11643 weighted sum is put together from memoised parts (region, birth date, serial).
    tests/unit/test_identifiers.py checks it agrees with ``parse_id_number``.
    """

    def __init__(self) -> None:
        self._region: dict[str, int] = {}
        self._birth: dict[str, tuple[int, tuple[date, str] | None]] = {}
        self._serial: dict[str, int] = {}

    @staticmethod
    def _weighted(digits: str, weights: tuple[int, ...]) -> int:
        return sum(int(d) * w for d, w in zip(digits, weights))

    def check(self, v: str) -> tuple[date, str, str] | None:
        if len(v) != 18 or not v.isascii() or not v[:17].isdigit():
            return None
        region = self._region.get(v[:6])
        if region is None:
            region = self._region[v[:6]] = self._weighted(v[:6], ID_WEIGHTS[:6])
        b = self._birth.get(v[6:14])
        if b is None:
            try:
                d = date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
                born = (d, d.isoformat())
            except ValueError:
                born = None
            b = self._birth[v[6:14]] = (self._weighted(v[6:14], ID_WEIGHTS[6:14]), born)
        serial = self._serial.get(v[14:17])
        if serial is None:
            serial = self._serial[v[14:17]] = self._weighted(v[14:17], ID_WEIGHTS[14:17])
        if v[17] != ID_CHECK_CHARS[(region + b[0] + serial) % 11] or b[1] is None:
            return None
        return b[1][0], b[1][1], "M" if v[16] in "13579" else "F"


def is_valid_id_number(raw: str) -> bool:
    try:
        parse_id_number(raw)
        return True
    except InvalidIdentifier:
        return False


def mask_id_number(value: str) -> str:
    """Keep the first 6 and last 4 characters, star the middle."""
    if len(value) <= 10:
        return value
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_id_number_sql(expr: str) -> str:
    """``mask_id_number`` of the SQL text expression ``expr`` (PostgreSQL), for the compiled reads: the same rule,
    next to it."""
    return (f"CASE WHEN length({expr}) <= 10 THEN {expr} "
            f"ELSE substr({expr}, 1, 6) || repeat('*', length({expr}) - 10) || right({expr}, 4) END")


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters."""
    total = sum(map(mul, map(_USCC_VALUE.__getitem__, first17), USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def parse_unit_code(raw: str) -> str:
    """Validate an 18-character unified social credit code; returns it upper-case (memoised: codes repeat; a longer
    text — spaces around it, accepted, or invalid anyway — is checked each time and not kept: the memo is keyed by
    the raw text, and padded copies of one code, up to a message's size each, would each stay in it)."""
    if not isinstance(raw, str):
        raise InvalidIdentifier("unit code must be a string")
    return _unit_code_memo(raw) if len(raw) <= 18 else _unit_code(raw)


@lru_cache(maxsize=65536)
def _unit_code_memo(raw: str) -> str:
    return _unit_code(raw)


def _unit_code(raw: str) -> str:
    value = raw.strip().upper()
    if len(value) != 18 or any(c not in _USCC_VALUE for c in value):
        raise InvalidIdentifier(f"unit code {raw!r} must be 18 characters of {USCC_ALPHABET}")
    expected = uscc_check_char(value[:17])
    if value[17] != expected:
        raise InvalidIdentifier(f"unit code {raw!r} has check character {value[17]}, expected {expected}")
    return value


def is_valid_unit_code(raw: str) -> bool:
    try:
        parse_unit_code(raw)
        return True
    except InvalidIdentifier:
        return False


def parse_region_code(raw: str) -> str:
    """A GB/T 2260 administrative division code: six digits."""
    value = (raw or "").strip()
    if not _REGION_SHAPE.match(value):
        raise InvalidIdentifier(f"region code {raw!r} must be 6 digits (GB/T 2260)")
    return value


def make_id_number(region: str, birth: date, serial: int, male: bool) -> str:
    """Build a valid ID number (for synthetic data): serial 0..99 plus a gender digit."""
    gender_digit = (serial * 2 + (1 if male else 0)) % 10
    if male and gender_digit % 2 == 0:
        gender_digit += 1
    body = f"{region}{birth:%Y%m%d}{serial % 100:02d}{gender_digit}"
    return body + id_check_char(body)


def make_unit_code(body17: str) -> str:
    """Append the GB 32100 check character to 17 characters (for synthetic data)."""
    return body17 + uscc_check_char(body17)
