"""Issue 19: the registry as an establishment officer knows it — pure rules (hub/domain)."""

from __future__ import annotations

from hub.domain.vocabulary import MismatchClass, MismatchKind, kinds_of_class, mismatch_class


def test_every_kind_has_a_class_and_the_management_warnings_are_warnings():
    warnings = set(kinds_of_class("WARNING"))
    discrepancies = set(kinds_of_class(MismatchClass.DISCREPANCY))
    assert warnings | discrepancies == {k.value for k in MismatchKind} and not warnings & discrepancies
    for k in ("OVER_QUOTA", "LEADERSHIP_OVER_QUOTA", "RETIREMENT_DUE"):
        assert mismatch_class(k) is MismatchClass.WARNING
    for k in ("GHOST_PAYROLL", "NAME_MISMATCH", "HEADCOUNT_INCONSISTENT", "HR_UNIT_MISMATCH"):
        assert mismatch_class(MismatchKind(k)) is MismatchClass.DISCREPANCY
