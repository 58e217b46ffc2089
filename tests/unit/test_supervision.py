"""The findings' rules (hub/domain/supervision.py): categories and their Chinese labels, who may take which step in
which state, evidence links, the overdue rule."""

from datetime import date

import pytest

from hub.domain import supervision as sv
from hub.domain.identifiers import InvalidIdentifier
from hub.domain.supervision import FindingStatus as S
from hub.domain.supervision import StepAction as A
from hub.domain.vocabulary import Role as R


def test_the_categories_are_the_violations_the_rules_name_each_with_its_chinese_label():
    assert [c.label for c in sv.FindingCategory] == [
        "擅自设立机构或提高规格", "超编进人", "超职数配备", "混编混岗", "擅自增加编制", "虚报人员占编", "不按规定设置内设机构",
        "事业单位超出宗旨职责履职", "吃空饷"]
    assert sv.FindingCategory.parse("混编混岗", "category") is sv.FindingCategory.MIXED_USE
    assert sv.FindingCategory.parse(" ghost_payroll ", "category") is sv.FindingCategory.GHOST_PAYROLL
    with pytest.raises(ValueError, match="MIXED_USE \\(混编混岗\\)"):
        sv.FindingCategory.parse("违规", "category")


@pytest.mark.parametrize("status,action,role,after", [
    (S.OPEN, A.PROGRESS, R.UNIT, S.RECTIFYING), (S.RECTIFYING, A.PROGRESS, R.UNIT, S.RECTIFYING),
    (S.OPEN, A.VERIFIED, R.AUDITOR, S.VERIFIED), (S.RECTIFYING, A.VERIFIED, R.ADMIN, S.VERIFIED),
    (S.VERIFIED, A.REOPENED, R.ADMIN, S.RECTIFYING), (S.VERIFIED, A.CLOSED, R.AUDITOR, S.CLOSED),
    (S.OPEN, A.DEADLINE_CHANGED, R.ADMIN, S.OPEN), (S.VERIFIED, A.DEADLINE_CHANGED, R.AUDITOR, S.VERIFIED)])
def test_allowed_steps(status, action, role, after):
    assert sv.next_status(status, action, role) is after


@pytest.mark.parametrize("status,action,role,refusal", [
    (S.RECTIFYING, A.VERIFIED, R.UNIT, sv.FindingNotAllowed), (S.VERIFIED, A.CLOSED, R.UNIT, sv.FindingNotAllowed),
    (S.OPEN, A.DEADLINE_CHANGED, R.UNIT, sv.FindingNotAllowed), (S.OPEN, A.PROGRESS, R.ORGANIZATION, sv.FindingNotAllowed),
    (S.OPEN, A.PROGRESS, R.MONITOR, sv.FindingNotAllowed), (S.OPEN, A.OVERDUE, R.ADMIN, sv.FindingNotAllowed),
    (S.OPEN, A.RECORDED, R.ADMIN, sv.FindingNotAllowed), (S.OPEN, A.CLOSED, R.ADMIN, sv.FindingWrongState),
    (S.RECTIFYING, A.REOPENED, R.ADMIN, sv.FindingWrongState), (S.CLOSED, A.PROGRESS, R.ADMIN, sv.FindingWrongState),
    (S.CLOSED, A.DEADLINE_CHANGED, R.ADMIN, sv.FindingWrongState), (S.VERIFIED, A.PROGRESS, R.UNIT, sv.FindingWrongState)])
def test_refused_steps(status, action, role, refusal):
    with pytest.raises(refusal):
        sv.next_status(status, action, role)


def test_who_sees_which_unit():
    def sees(role, unit=None, region=None):
        try:
            sv.ensure_may_see(role, caller_unit=unit, caller_region=region, unit_code="U1", unit_region="330106")
            return True
        except sv.FindingNotAllowed:
            return False
    assert sees(R.ADMIN) and sees(R.ADMIN, region="330106") and not sees(R.ADMIN, region="330102")
    assert sees(R.AUDITOR) and sees(R.UNIT, unit="U1") and not sees(R.UNIT, unit="U2")
    assert not any(sees(r) for r in (R.ORGANIZATION, R.FINANCE, R.POLICE, R.HR, R.INSURANCE, R.MONITOR))
    with pytest.raises(sv.FindingNotAllowed):
        sv.ensure_may_record(R.ADMIN, sv.FindingSource.HUB)
    with pytest.raises(sv.FindingNotAllowed):
        sv.ensure_may_record(R.UNIT, sv.FindingSource.AUDIT)


def test_overdue_is_past_the_deadline_and_not_yet_rectified():
    d = date(2026, 6, 30)
    assert sv.is_overdue(S.OPEN, d, date(2026, 7, 1)) and sv.is_overdue(S.RECTIFYING, d, date(2026, 7, 1))
    assert not sv.is_overdue(S.OPEN, d, d)  # due today: not yet
    assert not sv.is_overdue(S.VERIFIED, d, date(2027, 1, 1)) and not sv.is_overdue(S.CLOSED, d, date(2027, 1, 1))


def test_evidence_links_are_checked_and_persons_never_reach_events():
    ev = sv.evidence_list([("person", "11010519491231002x"), ("DOCUMENT", " 杭编〔2026〕1号 "),
                           ("MISMATCH", "0471D1B6-284F-4B41-AAD2-E5C7796BF927"), ("DOCUMENT", "杭编〔2026〕1号")])
    assert [e.as_dict() for e in ev] == [{"kind": "PERSON", "ref": "11010519491231002X"},
                                         {"kind": "DOCUMENT", "ref": "杭编〔2026〕1号"},
                                         {"kind": "MISMATCH", "ref": "0471d1b6-284f-4b41-aad2-e5c7796bf927"}]
    assert sv.public_evidence([e.as_dict() for e in ev]) == [e.as_dict() for e in ev[1:]]
    with pytest.raises(InvalidIdentifier):
        sv.evidence_list([("PERSON", "110105194912310021")])
    for bad in (("MISMATCH", "17"), ("DOCUMENT", ""), ("DOCUMENT", "x" * 101), ("LINK", "x")):
        with pytest.raises(ValueError):
            sv.evidence_list([bad])
    with pytest.raises(ValueError, match="at most 50"):
        sv.evidence_list([("DOCUMENT", f"文{i}") for i in range(51)])
