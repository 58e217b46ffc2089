"""Workflow rules without a database: review routing (联审), application states, who may act, forms' codes,
reservations by hiring plans."""

from datetime import date

import pytest

from hub.domain.registry import QuotaExhausted, UnitEstablishment
from hub.domain.vocabulary import ApplicationStatus as S
from hub.domain.vocabulary import FormKind, QuotaCategory as C, RecruitmentRoute as R, Role
from hub.domain.workflows import (
    Caller,
    NotAllowed,
    OnboardingApplication,
    ReviewPending,
    WrongState,
    canonical_facts,
    ensure_approvable,
    ensure_may_act_for_unit,
    ensure_resubmittable,
    form_code,
    form_is_genuine,
    identity_disagreement,
    plan_reserves_for,
    required_reviews,
    review,
)

ORG, HR = Role.ORGANIZATION, Role.HR


@pytest.mark.parametrize("route,category,expected", [
    (R.CIVIL_SERVICE_EXAM, C.ADMINISTRATIVE, (ORG,)),
    (R.SELECTED_GRADUATE, C.ADMINISTRATIVE, (ORG,)),
    (R.OPEN_SELECTION, C.POLITICAL_LEGAL, (ORG,)),
    (R.OPEN_RECRUITMENT, C.PUBLIC_INSTITUTION, (HR,)),
    (R.TALENT_INTRODUCTION, C.PUBLIC_INSTITUTION, (HR,)),
    (R.TRANSFER_IN, C.ADMINISTRATIVE, (ORG,)),
    (R.TRANSFER_IN, C.POLITICAL_LEGAL, (ORG,)),
    (R.TRANSFER_IN, C.PUBLIC_INSTITUTION, (HR,)),
    (R.TRANSFER_IN, C.WORKER, (HR,)),
    (R.MILITARY_TRANSFER, C.ADMINISTRATIVE, (HR, ORG)),
    (R.POLICY_PLACEMENT, C.WORKER, (HR, ORG)),
])
def test_required_reviews_follow_the_contract_routing_table(route, category, expected):
    assert required_reviews(route, category) == expected


def test_a_reviewer_that_is_not_required_is_not_allowed():
    with pytest.raises(NotAllowed):
        review(S.IN_REVIEW, (ORG,), HR, True)


def test_a_return_sends_the_application_back_and_a_returned_one_cannot_be_reviewed():
    assert review(S.IN_REVIEW, (HR, ORG), HR, False) is S.RETURNED
    assert review(S.IN_REVIEW, (HR, ORG), ORG, True) is S.IN_REVIEW
    with pytest.raises(WrongState):
        review(S.RETURNED, (HR, ORG), ORG, True)


def test_the_office_approves_only_after_every_required_review_in_any_order():
    with pytest.raises(ReviewPending):
        ensure_approvable(S.IN_REVIEW, (HR, ORG), {ORG})
    ensure_approvable(S.IN_REVIEW, (HR, ORG), {ORG, HR})
    with pytest.raises(WrongState):
        ensure_approvable(S.APPROVED, (HR,), {HR})


def test_only_a_returned_application_is_resubmitted():
    ensure_resubmittable(S.RETURNED)
    with pytest.raises(WrongState):
        ensure_resubmittable(S.IN_REVIEW)


def test_unit_tokens_act_for_their_own_unit_and_district_admins_in_their_region():
    ensure_may_act_for_unit(Caller("u", Role.UNIT, unit_code="A"), "A", "330100", unit_may=True)
    with pytest.raises(NotAllowed):
        ensure_may_act_for_unit(Caller("u", Role.UNIT, unit_code="A"), "B", "330100", unit_may=True)
    with pytest.raises(NotAllowed):  # the office's step: a unit may not
        ensure_may_act_for_unit(Caller("u", Role.UNIT, unit_code="A"), "A", "330100", unit_may=False)
    ensure_may_act_for_unit(Caller("city", Role.ADMIN), "B", "330200", unit_may=False)
    ensure_may_act_for_unit(Caller("d", Role.ADMIN, region_code="330106"), "B", "330106", unit_may=False)
    with pytest.raises(NotAllowed):
        ensure_may_act_for_unit(Caller("d", Role.ADMIN, region_code="330106"), "B", "330108", unit_may=False)
    with pytest.raises(NotAllowed):
        ensure_may_act_for_unit(Caller("p", Role.POLICE), "B", "330106", unit_may=True)


def test_police_disagreement_is_deceased_cancelled_or_another_name():
    assert identity_disagreement("张伟", None, None) is None
    assert identity_disagreement("张伟", "张伟", "ALIVE") is None
    assert "DECEASED" in identity_disagreement("张伟", "张伟", "DECEASED")
    assert "CANCELLED" in identity_disagreement("张伟", "张伟", "CANCELLED")
    other = identity_disagreement("张伟", "张卫", "ALIVE")
    assert other and "张卫" not in other  # police's name is not told to the applicant


def test_a_changed_number_kind_fact_or_code_fails_verification():
    key = b"k" * 32
    facts = canonical_facts({"name": "张伟", "start_date": date(2026, 3, 1), "unit_code": "X"})
    code = form_code(key, "JB2026-000001", FormKind.ONBOARDING, facts)
    assert len(code) == 16 and form_is_genuine(key, "JB2026-000001", FormKind.ONBOARDING, facts, code.lower())
    assert not form_is_genuine(key, "JB2026-000002", FormKind.ONBOARDING, facts, code)
    assert not form_is_genuine(key, "JB2026-000001", FormKind.DEPARTURE, facts, code)
    assert not form_is_genuine(key, "JB2026-000001", FormKind.ONBOARDING, facts.replace("张伟", "张卫"), code)
    assert not form_is_genuine(key, "JB2026-000001", FormKind.ONBOARDING, facts, code[:-1] + ("0" if code[-1] != "0" else "1"))
    assert not form_is_genuine(b"other-key" * 4, "JB2026-000001", FormKind.ONBOARDING, facts, code)


def test_reserved_slots_are_not_available_except_to_their_plan():
    e = UnitEstablishment("U", approved={C.ADMINISTRATIVE: 5}, used={C.ADMINISTRATIVE: 3}, reserved={C.ADMINISTRATIVE: 2})
    assert e.available(C.ADMINISTRATIVE) == 0
    with pytest.raises(QuotaExhausted):
        e.admit(C.ADMINISTRATIVE)
    e.admit(C.ADMINISTRATIVE, from_reservation=True)
    assert e.used[C.ADMINISTRATIVE] == 4 and e.reserved[C.ADMINISTRATIVE] == 1 and e.available(C.ADMINISTRATIVE) == 0


def test_a_reservation_admits_only_while_it_fits_under_a_cut_quota():
    cut = UnitEstablishment("U", approved={C.ADMINISTRATIVE: 3}, used={C.ADMINISTRATIVE: 3}, reserved={C.ADMINISTRATIVE: 2})
    with pytest.raises(QuotaExhausted):
        cut.admit(C.ADMINISTRATIVE, from_reservation=True)
    assert cut.used[C.ADMINISTRATIVE] == 3


def test_an_approved_plan_reserves_until_its_year_ends_or_it_is_filled():
    assert plan_reserves_for(S.APPROVED, 2026, 2, 1, date(2026, 12, 31))
    assert not plan_reserves_for(S.APPROVED, 2026, 2, 1, date(2027, 1, 1))
    assert not plan_reserves_for(S.APPROVED, 2026, 2, 2, date(2026, 6, 1))
    assert not plan_reserves_for(S.IN_REVIEW, 2026, None, 0, date(2026, 6, 1))


def test_an_application_is_validated_field_by_field():
    with pytest.raises(ValueError, match="name"):
        OnboardingApplication.new(unit_code="91330100MA27XL0Q2T", id_number="11010519491231002X", name=" ",
                                  category="ADMINISTRATIVE", route="CIVIL_SERVICE_EXAM", start_date=date(2026, 1, 1))
    with pytest.raises(ValueError, match="route"):
        OnboardingApplication.new(unit_code="91330100MA27XL0Q2T", id_number="11010519491231002X", name="张伟",
                                  category="ADMINISTRATIVE", route="BY_FRIENDSHIP", start_date=date(2026, 1, 1))


def test_a_policy_allowance_admits_policy_placements_only_and_keeps_them_out_of_over_quota():
    from hub.domain.workflows import policy_placement

    e = UnitEstablishment("U", approved={C.ADMINISTRATIVE: 2}, used={C.ADMINISTRATIVE: 2},
                          policy_allowance={C.ADMINISTRATIVE: 1})
    with pytest.raises(QuotaExhausted):
        e.admit(C.ADMINISTRATIVE)
    e.admit(C.ADMINISTRATIVE, policy=True)
    assert e.over_quota() == {} and e.policy_over_quota() == {"ADMINISTRATIVE": {"approved": 2, "used": 3, "allowed": 1}}
    # the excess (超编人数) counts policy placements: the absorption ledger, the over-quota report and the policy
    # decisions' overdue check all read it from here
    assert (e.excess(C.ADMINISTRATIVE), e.excess(C.WORKER), e.over_quota_now()) == (1, 0, True)
    with pytest.raises(QuotaExhausted):
        e.admit(C.ADMINISTRATIVE, policy=True)
    e.policy_allowance.clear()  # the deadline passed
    assert e.over_quota() == {"ADMINISTRATIVE": {"approved": 2, "used": 3}}
    assert policy_placement(R.MILITARY_TRANSFER) and policy_placement(R.POLICY_PLACEMENT)
    assert not policy_placement(R.TRANSFER_IN)
