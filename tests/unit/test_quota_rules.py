from datetime import date

import pytest

from hub.domain.registry import (
    IdentityDisagrees,
    LeaderQuotaExhausted,
    Person,
    QuotaExhausted,
    Unit,
    UnitEstablishment,
)
from hub.domain.vocabulary import LeaderRank, QuotaCategory

ADM = QuotaCategory.ADMINISTRATIVE


def est(approved=3, used=0, leaders=1, leaders_used=0):
    return UnitEstablishment("U", approved={ADM: approved}, used={ADM: used},
                             leaders_approved={LeaderRank.SECTION_CHIEF: leaders},
                             leaders_used={LeaderRank.SECTION_CHIEF: leaders_used})


def test_new_hire_takes_a_free_slot():
    e = est(approved=3, used=2)
    e.admit(ADM)
    assert e.used[ADM] == 3 and e.available(ADM) == 0


def test_new_hire_is_refused_when_quota_is_full():
    e = est(approved=3, used=3)
    with pytest.raises(QuotaExhausted, match="approved 3, used 3"):
        e.admit(ADM)
    assert e.used[ADM] == 3


def test_new_hire_is_refused_in_a_category_without_quota():
    e = est()
    with pytest.raises(QuotaExhausted):
        e.admit(QuotaCategory.WORKER)


def test_appointment_is_refused_when_leader_positions_are_full_and_takes_no_slot():
    e = est(approved=5, used=1, leaders=1, leaders_used=1)
    with pytest.raises(LeaderQuotaExhausted):
        e.admit(ADM, LeaderRank.SECTION_CHIEF)
    assert e.used[ADM] == 1


def test_legacy_over_quota_is_reported_not_refused():
    e = est(approved=2, used=4, leaders=1, leaders_used=3)
    assert e.over_quota() == {"ADMINISTRATIVE": {"approved": 2, "used": 4}}
    assert e.leadership_over_quota() == {"SECTION_CHIEF": {"approved": 1, "used": 3}}
    assert est(approved=4, used=4).over_quota() == {}


def test_person_gender_and_birth_date_must_agree_with_id_number():
    assert Person.new(id_number="11010519491231002X", name="王芳").gender.value == "F"
    with pytest.raises(IdentityDisagrees, match="gender"):
        Person.new(id_number="11010519491231002X", name="王芳", gender="M")
    with pytest.raises(IdentityDisagrees, match="birth date"):
        Person.new(id_number="11010519491231002X", name="王芳", birth_date=date(1949, 12, 30))


def test_person_needs_a_name_and_known_education():
    with pytest.raises(ValueError, match="name"):
        Person.new(id_number="11010519491231002X", name=" ")
    with pytest.raises(ValueError, match="unknown education 'PHD'"):
        Person.new(id_number="11010519491231002X", name="王芳", education="PHD")


def test_unit_validation_names_the_bad_field():
    ok = dict(code="91350100M000100Y43", name="测试局", kind="GOVERNMENT_ORGAN", level="CITY", region_code="350100", funding="FULL")
    assert Unit.new(**ok).code == "91350100M000100Y43"
    with pytest.raises(ValueError, match="unknown unit kind"):
        Unit.new(**{**ok, "kind": "COMPANY"})
    with pytest.raises(ValueError, match="region code"):
        Unit.new(**{**ok, "region_code": "35010"})
    with pytest.raises(ValueError, match="check character"):
        Unit.new(**{**ok, "code": "91350100M000100Y44"})
