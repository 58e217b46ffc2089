"""The person-level streaming rules of contract section 7, table-driven over ``person_findings``.

Each case gives the registry's view of one person and the partners' latest views, and the complete set of
findings expected as (kind, unit_code) — so a case also says which kinds must NOT open and which unit each
finding carries ('' when no unit applies, as for DOUBLE_PAYROLL and NAME_MISMATCH).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.domain.reconciliation import (
    PERSON_STREAMING_KINDS,
    ContributionLine,
    HrView,
    PartnerViews,
    PayLine,
    PoliceView,
    RegistryView,
    latest,
    person_findings,
)
from hub.domain.vocabulary import MismatchKind as K
from tests.factories import id_number, unit_code

IDN = id_number(serial=11)
A, B, C = unit_code(9001), unit_code(9002), unit_code(9003)
NAME = "张伟"
P1, P2 = "2026-09", "2026-10"

POSTED_A = RegistryView(IDN, NAME, A, "FULL")
REGISTERED = RegistryView(IDN, NAME)  # in the registry, no active posting
UNKNOWN = RegistryView(IDN)  # not in the registry at all


def pay(unit, period=P2, *, paid=True, name=NAME, amount="8650.00"):
    return PayLine(unit, period, name, paid, amount if paid else None)


def contrib(employer, period=P2, status="ACTIVE", name=NAME):
    return ContributionLine(employer, period, name, status)


@dataclass(frozen=True)
class Case:
    id: str
    reg: RegistryView
    views: PartnerViews
    expected: dict  # (kind, unit) -> source

    def param(self):
        return pytest.param(self.reg, self.views, self.expected, id=self.id)


def V(**kw) -> PartnerViews:  # noqa: N802
    if "pay" in kw:
        kw["pay"] = tuple(kw["pay"])
    if "insurance" in kw:
        kw["insurance"] = tuple(kw["insurance"])
    return PartnerViews(**kw)


CASES = [
    # ---- nothing to say ----------------------------------------------------------------------------------------
    Case("all-agree", POSTED_A, V(police=PoliceView(NAME, "ALIVE"), hr=HrView(NAME, A, "EMPLOYED"), pay=[pay(A)],
                                  insurance=[contrib(A)]), {}),
    Case("no-partner-data", POSTED_A, V(), {}),
    Case("unknown-person-no-data", UNKNOWN, V(), {}),

    # ---- GHOST_PAYROLL: paid without an active posting ----------------------------------------------------------
    Case("ghost-registered-no-posting", REGISTERED, V(pay=[pay(A)]), {(K.GHOST_PAYROLL, A): "finance"}),
    Case("ghost-not-in-registry", UNKNOWN, V(pay=[pay(B)]), {(K.GHOST_PAYROLL, B): "finance"}),
    Case("no-ghost-when-posted-at-paying-unit", POSTED_A, V(pay=[pay(A)]), {}),
    Case("no-ghost-when-pay-stopped", REGISTERED, V(pay=[pay(A, paid=False)]), {}),
    Case("no-ghost-when-only-older-period-paid", REGISTERED, V(pay=[pay(A, P1), pay(A, P2, paid=False)]), {}),
    Case("ghost-from-latest-period-only", REGISTERED, V(pay=[pay(B, P1, paid=False), pay(A, P2)]),
         {(K.GHOST_PAYROLL, A): "finance"}),
    Case("ghost-per-paying-unit-and-double", REGISTERED, V(pay=[pay(A), pay(B)]),
         {(K.GHOST_PAYROLL, A): "finance", (K.GHOST_PAYROLL, B): "finance", (K.DOUBLE_PAYROLL, ""): "finance"}),

    # ---- PAYROLL_UNIT_MISMATCH: paid by a unit other than the posting's -------------------------------------------
    Case("paid-by-other-unit", POSTED_A, V(pay=[pay(B)]), {(K.PAYROLL_UNIT_MISMATCH, B): "finance"}),
    Case("other-unit-stopped", POSTED_A, V(pay=[pay(B, paid=False)]), {}),
    Case("other-unit-only-in-older-period", POSTED_A, V(pay=[pay(B, P1), pay(A, P2)]), {}),
    Case("other-unit-in-latest-period", POSTED_A, V(pay=[pay(A, P1), pay(B, P2)]), {(K.PAYROLL_UNIT_MISMATCH, B): "finance"}),

    # ---- DOUBLE_PAYROLL: two paying units in the latest period ----------------------------------------------------
    Case("double-own-and-other", POSTED_A, V(pay=[pay(A), pay(B)]),
         {(K.DOUBLE_PAYROLL, ""): "finance", (K.PAYROLL_UNIT_MISMATCH, B): "finance"}),
    Case("double-two-others", POSTED_A, V(pay=[pay(B), pay(C)]),
         {(K.DOUBLE_PAYROLL, ""): "finance", (K.PAYROLL_UNIT_MISMATCH, B): "finance",
          (K.PAYROLL_UNIT_MISMATCH, C): "finance"}),
    Case("no-double-when-one-stopped", POSTED_A, V(pay=[pay(A), pay(B, paid=False)]), {}),
    Case("no-double-when-both-stopped", POSTED_A, V(pay=[pay(A, paid=False), pay(B, paid=False)]), {}),
    Case("no-double-across-periods", POSTED_A, V(pay=[pay(B, P1), pay(A, P2)]), {}),
    Case("no-double-when-double-only-in-older-period", POSTED_A, V(pay=[pay(A, P1), pay(B, P1), pay(A, P2)]), {}),
    Case("double-in-latest-not-older", POSTED_A, V(pay=[pay(A, P1), pay(A, P2), pay(B, P2)]),
         {(K.DOUBLE_PAYROLL, ""): "finance", (K.PAYROLL_UNIT_MISMATCH, B): "finance"}),

    # ---- INSURANCE_EMPLOYER_MISMATCH: ACTIVE contributions from an employer other than the posting's -------------
    Case("insurance-other-employer-active", POSTED_A, V(insurance=[contrib(B)]),
         {(K.INSURANCE_EMPLOYER_MISMATCH, A): "insurance"}),
    Case("insurance-other-employer-suspended", POSTED_A, V(insurance=[contrib(B, status="SUSPENDED")]), {}),
    Case("insurance-other-employer-terminated", POSTED_A, V(insurance=[contrib(B, status="TERMINATED")]), {}),
    Case("insurance-own-employer", POSTED_A, V(insurance=[contrib(A)]), {}),
    Case("insurance-no-posting", REGISTERED, V(insurance=[contrib(B)]), {}),
    Case("insurance-other-employer-in-older-period-only", POSTED_A, V(insurance=[contrib(B, P1), contrib(A, P2)]), {}),
    Case("insurance-other-employer-in-latest-period", POSTED_A, V(insurance=[contrib(A, P1), contrib(B, P2)]),
         {(K.INSURANCE_EMPLOYER_MISMATCH, A): "insurance"}),

    # ---- HR_STATUS_CONFLICT: RETIRED/LEFT while the posting is active --------------------------------------------
    Case("hr-retired-posted", POSTED_A, V(hr=HrView(NAME, A, "RETIRED")), {(K.HR_STATUS_CONFLICT, A): "hr"}),
    Case("hr-left-posted", POSTED_A, V(hr=HrView(NAME, A, "LEFT")), {(K.HR_STATUS_CONFLICT, A): "hr"}),
    Case("hr-left-elsewhere-is-status-not-unit", POSTED_A, V(hr=HrView(NAME, B, "LEFT")), {(K.HR_STATUS_CONFLICT, A): "hr"}),
    Case("hr-retired-no-posting", REGISTERED, V(hr=HrView(NAME, A, "RETIRED")), {}),
    Case("hr-employed-posted", POSTED_A, V(hr=HrView(NAME, A, "EMPLOYED")), {}),

    # ---- HR_UNIT_MISMATCH: only for EMPLOYED ----------------------------------------------------------------------
    Case("hr-employed-other-unit", POSTED_A, V(hr=HrView(NAME, B, "EMPLOYED")), {(K.HR_UNIT_MISMATCH, A): "hr"}),
    Case("hr-employed-other-unit-no-posting", REGISTERED, V(hr=HrView(NAME, B, "EMPLOYED")), {}),
    Case("hr-employed-not-in-registry", UNKNOWN, V(hr=HrView("李四", B, "EMPLOYED")), {}),

    # ---- LEADER_RANK_CONFLICT (issue 19): a leader whom HR ranks on another level ---------------------------------
    Case("leader-rank-below-hr", POSTED_A._replace(leader_rank="DIVISION_CHIEF"),
         V(hr=HrView(NAME, A, "EMPLOYED", "四级主任科员")), {(K.LEADER_RANK_CONFLICT, A): "hr"}),
    Case("leader-rank-same-level", POSTED_A._replace(leader_rank="DIVISION_CHIEF"),
         V(hr=HrView(NAME, A, "EMPLOYED", "一级调研员")), {}),
    Case("leader-rank-hr-retired-is-status", POSTED_A._replace(leader_rank="DIVISION_CHIEF"),
         V(hr=HrView(NAME, A, "RETIRED", "四级主任科员")), {(K.HR_STATUS_CONFLICT, A): "hr"}),
    Case("no-leader-rank", POSTED_A, V(hr=HrView(NAME, A, "EMPLOYED", "四级主任科员")), {}),

    # ---- DECEASED_ACTIVE: DECEASED/CANCELLED with a posting or pay ------------------------------------------------
    Case("deceased-posted", POSTED_A, V(police=PoliceView(NAME, "DECEASED")), {(K.DECEASED_ACTIVE, A): "police"}),
    Case("cancelled-posted", POSTED_A, V(police=PoliceView(NAME, "CANCELLED")), {(K.DECEASED_ACTIVE, A): "police"}),
    Case("alive-posted", POSTED_A, V(police=PoliceView(NAME, "ALIVE")), {}),
    Case("deceased-posted-and-paid", POSTED_A, V(police=PoliceView(NAME, "DECEASED"), pay=[pay(A)]),
         {(K.DECEASED_ACTIVE, A): "police"}),
    Case("deceased-paid-without-posting", REGISTERED, V(police=PoliceView(NAME, "DECEASED"), pay=[pay(B)]),
         {(K.DECEASED_ACTIVE, B): "police", (K.GHOST_PAYROLL, B): "finance"}),
    Case("deceased-posting-ended-pay-stopped", REGISTERED,
         V(police=PoliceView(NAME, "DECEASED"), pay=[pay(A, P1), pay(A, P2, paid=False)]), {}),
    Case("deceased-nothing-active", REGISTERED, V(police=PoliceView(NAME, "DECEASED")), {}),
    Case("cancelled-not-in-registry-paid", UNKNOWN, V(police=PoliceView("李四", "CANCELLED"), pay=[pay(C, name="李四")]),
         {(K.DECEASED_ACTIVE, C): "police", (K.GHOST_PAYROLL, C): "finance"}),

    # ---- NAME_MISMATCH: a source's name differs (whitespace ignored); one finding listing each source -------------
    Case("name-whitespace-only", POSTED_A, V(police=PoliceView("张 伟", "ALIVE"), hr=HrView(" 张伟\t", A, "EMPLOYED"),
                                            pay=[pay(A, name="张\u3000伟")], insurance=[contrib(A, name="张伟 ")]), {}),
    Case("name-police", POSTED_A, V(police=PoliceView("张玮", "ALIVE")), {(K.NAME_MISMATCH, ""): "police"}),
    Case("name-hr", POSTED_A, V(hr=HrView("张玮", A, "EMPLOYED")), {(K.NAME_MISMATCH, ""): "hr"}),
    Case("name-finance", POSTED_A, V(pay=[pay(A, name="张玮")]), {(K.NAME_MISMATCH, ""): "finance"}),
    Case("name-insurance", POSTED_A, V(insurance=[contrib(A, name="张玮")]), {(K.NAME_MISMATCH, ""): "insurance"}),
    Case("name-every-source", POSTED_A,
         V(police=PoliceView("张玮", "ALIVE"), hr=HrView("章伟", A, "EMPLOYED"), pay=[pay(A, name="张卫")],
           insurance=[contrib(A, name="张威")]),
         {(K.NAME_MISMATCH, ""): "finance,hr,insurance,police"}),
    Case("name-finance-older-period-ignored", POSTED_A, V(pay=[pay(A, P1, name="张玮"), pay(A, P2)]), {}),
    Case("name-finance-unknown-on-stop", POSTED_A, V(pay=[pay(A, paid=False, name=None)]), {}),
    Case("name-not-in-registry", UNKNOWN, V(police=PoliceView("李四", "ALIVE"), hr=HrView("王五", A, "RETIRED")), {}),
]


def _keys(found: dict) -> dict:
    return {(k, unit): f.source for (k, unit), f in found.items()}


def test_case_ids_are_unique():
    assert len({c.id for c in CASES}) == len(CASES)


def test_every_streaming_kind_has_an_opening_case():
    opened = {k for c in CASES for (k, _) in c.expected}
    assert opened == set(PERSON_STREAMING_KINDS)


@pytest.mark.parametrize("reg,views,expected", [c.param() for c in CASES])
def test_findings(reg, views, expected):
    found = person_findings(reg, views)
    assert _keys(found) == expected
    for (kind, unit), f in found.items():
        assert f.kind == kind and f.unit_code == unit


# ---- details: expected vs. found ----------------------------------------------------------------------------------

def test_ghost_payroll_details():
    f = person_findings(REGISTERED, V(pay=[pay(A, amount="9100.50")]))[(K.GHOST_PAYROLL, A)]
    assert f.details["found"] == {"paying_unit": A, "period": P2, "gross_amount": "9100.50"}
    assert f.details["registered"] is True
    f = person_findings(UNKNOWN, V(pay=[pay(A)]))[(K.GHOST_PAYROLL, A)]
    assert f.details["registered"] is False


def test_payroll_unit_mismatch_details():
    f = person_findings(POSTED_A, V(pay=[pay(B)]))[(K.PAYROLL_UNIT_MISMATCH, B)]
    assert f.details == {"expected": A, "found": B, "period": P2}


def test_double_payroll_details_list_the_latest_period_paying_units_sorted():
    f = person_findings(POSTED_A, V(pay=[pay(C, P1), pay(B), pay(A), pay(C, paid=False)]))[(K.DOUBLE_PAYROLL, "")]
    assert f.details == {"period": P2, "paying_units": sorted([A, B])}


def test_insurance_employer_mismatch_details_list_only_active_wrong_employers():
    f = person_findings(POSTED_A, V(insurance=[contrib(B), contrib(C, status="SUSPENDED"), contrib(A)]))
    assert f[(K.INSURANCE_EMPLOYER_MISMATCH, A)].details == {"expected": A, "found": [B], "period": P2}


def test_hr_details():
    assert person_findings(POSTED_A, V(hr=HrView(NAME, A, "LEFT")))[(K.HR_STATUS_CONFLICT, A)].details == {
        "expected": "EMPLOYED", "found": "LEFT", "posting_unit": A}
    assert person_findings(POSTED_A, V(hr=HrView(NAME, B, "EMPLOYED")))[(K.HR_UNIT_MISMATCH, A)].details == {
        "expected": A, "found": B}


def test_deceased_active_details():
    f = person_findings(REGISTERED, V(police=PoliceView(NAME, "CANCELLED"), pay=[pay(B)]))[(K.DECEASED_ACTIVE, B)]
    assert f.details == {"police_status": "CANCELLED", "posting_unit": None, "paying_units": [B], "period": P2}
    f = person_findings(POSTED_A, V(police=PoliceView(NAME, "DECEASED")))[(K.DECEASED_ACTIVE, A)]
    assert f.details["posting_unit"] == A and f.details["paying_units"] == []


def test_name_mismatch_lists_each_differing_source_with_its_name():
    f = person_findings(POSTED_A, V(police=PoliceView("张 伟", "ALIVE"), hr=HrView("章伟", A, "EMPLOYED"),
                                    pay=[pay(A, name="张卫")], insurance=[contrib(A)]))[(K.NAME_MISMATCH, "")]
    assert f.source == "finance,hr"
    assert f.details == {"expected": NAME, "found": {"hr": "章伟", "finance": "张卫"}}


# ---- general properties -------------------------------------------------------------------------------------------

UNITS = st.sampled_from([A, B, C])
PERIODS = st.sampled_from(["2026-08", P1, P2])
NAMES = st.sampled_from([NAME, "张 伟", "张玮", "张卫"])

views_strategy = st.builds(
    PartnerViews,
    police=st.none() | st.builds(PoliceView, NAMES, st.sampled_from(["ALIVE", "DECEASED", "CANCELLED"])),
    hr=st.none() | st.builds(HrView, NAMES, UNITS, st.sampled_from(["EMPLOYED", "RETIRED", "LEFT"])),
    pay=st.lists(st.builds(PayLine, UNITS, PERIODS, st.none() | NAMES, st.booleans(), st.just("1.00")),
                 max_size=4, unique_by=lambda l: (l.unit_code, l.period)).map(tuple),
    insurance=st.lists(st.builds(ContributionLine, UNITS, PERIODS, st.none() | NAMES,
                                 st.sampled_from(["ACTIVE", "SUSPENDED", "TERMINATED"])), max_size=1).map(tuple),
)
reg_strategy = st.sampled_from([POSTED_A, REGISTERED, UNKNOWN, RegistryView(IDN, NAME, B, "PARTIAL")])


@given(reg_strategy, views_strategy)
def test_only_streaming_kinds_and_units_are_consistent(reg, views):
    found = person_findings(reg, views)
    for (kind, unit), f in found.items():
        assert kind in PERSON_STREAMING_KINDS
        assert f.kind == kind and f.unit_code == unit
        if kind in (K.DOUBLE_PAYROLL, K.NAME_MISMATCH):
            assert unit == ""
        elif kind in (K.INSURANCE_EMPLOYER_MISMATCH, K.HR_STATUS_CONFLICT, K.HR_UNIT_MISMATCH):
            assert unit == reg.posting_unit
        else:
            assert unit in (A, B, C)
    if not reg.registered:
        assert (K.NAME_MISMATCH, "") not in found
    if reg.posting_unit is None:
        assert not {K.PAYROLL_UNIT_MISMATCH, K.INSURANCE_EMPLOYER_MISMATCH, K.HR_STATUS_CONFLICT,
                    K.HR_UNIT_MISMATCH} & {k for k, _ in found}


@given(reg_strategy, views_strategy)
def test_findings_do_not_depend_on_the_order_of_lines(reg, views):
    rev = PartnerViews(views.police, views.hr, tuple(reversed(views.pay)), tuple(reversed(views.insurance)))
    a, b = person_findings(reg, views), person_findings(reg, rev)
    assert _keys(a) == _keys(b)
    assert {k: f.details for k, f in a.items()} == {k: f.details for k, f in b.items()}


@given(reg_strategy, views_strategy)
def test_only_the_latest_periods_pay_lines_count(reg, views):
    """The staged comparison's signature classes rely on this: lines of earlier periods change no finding."""
    latest_only = PartnerViews(views.police, views.hr, latest(views.pay), views.insurance)
    a, b = person_findings(reg, views), person_findings(reg, latest_only)
    assert {k: f.details for k, f in a.items()} == {k: f.details for k, f in b.items()}


def test_name_mismatch_with_two_finance_names_does_not_depend_on_line_order():
    lines = (pay(A, name="张卫"), pay(B, name="张玮"))
    a = person_findings(POSTED_A, PartnerViews(pay=lines))[(K.NAME_MISMATCH, "")]
    b = person_findings(POSTED_A, PartnerViews(pay=tuple(reversed(lines))))[(K.NAME_MISMATCH, "")]
    assert a.details == b.details
