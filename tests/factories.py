"""Small builders of valid identifiers and registry content for tests."""

from __future__ import annotations

import itertools
from datetime import date

from hub.domain.identifiers import make_id_number, make_unit_code

_serial = itertools.count(1)


def unit_code(n: int | None = None) -> str:
    n = next(_serial) if n is None else n
    return make_unit_code(f"11330100{n:09d}")


def id_number(birth: date = date(1985, 6, 15), male: bool = True, region: str = "330106", serial: int | None = None) -> str:
    s = next(_serial) if serial is None else serial
    return make_id_number(region, birth, s % 100, male)


def unique_ids(count: int, birth: date = date(1985, 6, 15)) -> list[str]:
    out, region = [], 330100
    for i in range(count):
        out.append(make_id_number(str(region + i // 100), birth, i % 100, i % 2 == 0))
    return out
