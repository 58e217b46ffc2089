"""The inbound events' ID-number memo holds strings only. Holding the validated IdNumber objects kept up to 262,144
objects the garbage collector tracks alive in every connector process, each walked by every full collection
(session 12: full collections of 140–320 ms in the streaming bench's 1,000/s phase)."""

from __future__ import annotations

import gc

import pytest

from hub.contract import inbound
from hub.domain.identifiers import IdNumber, InvalidIdentifier, id_check_char


def _valid(i: int) -> str:
    first17 = f"330106199001{i % 28 + 1:02d}{i:03d}"[:17]
    return first17 + id_check_char(first17)


def _alive_id_numbers() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is IdNumber)


def _memo():
    return getattr(inbound, "_id_number_value", inbound._id_number)  # before session 12 the memo was _id_number


def test_the_memo_keeps_no_object_the_collector_walks():
    _memo().cache_clear()
    before = _alive_id_numbers()
    values = [_valid(i) for i in range(500)]
    for v in values:
        assert inbound._id_number(v.lower()).value == v  # validated, upper-case
    assert _memo().cache_info().currsize == 500  # still memoised
    assert _alive_id_numbers() == before  # none held by the memo


def test_the_memo_keeps_what_an_id_number_tells():
    v = _valid(7)
    idn = inbound._id_number(v)
    assert isinstance(idn, IdNumber)
    assert (idn.gender, idn.birth_date.isoformat()) == (IdNumber(v).gender, IdNumber(v).birth_date.isoformat())


def test_an_invalid_id_number_is_refused_every_time():
    bad = _valid(3)[:17] + ("0" if _valid(3)[17] != "0" else "1")
    for _ in range(2):
        with pytest.raises(InvalidIdentifier):
            inbound._id_number(bad)


def test_padded_copies_of_an_id_number_are_accepted_but_not_kept():
    """Spaces around an ID number are accepted (stripped). The memo was keyed by the raw text: every padded copy of one
    valid number — up to a message's size each — stayed in it, up to 262,144 of them, for the process's life."""
    _memo().cache_clear()
    v = _valid(11)  # 1990-01-12, male
    for n in range(1, 101):
        padded = " " * (1000 * n) + v
        assert inbound._id_number(padded).value == v
        event = inbound.IdentityUpdated.model_validate({"id_number": padded, "name": "张三", "gender": "M",
                                                        "birth_date": "1990-01-12", "status": "ALIVE"})
        assert event.id_number == v
    assert _memo().cache_info().currsize <= 1  # at most the number itself
