"""Quota use in one place (用编余量): approved, used and reserved slots per unit and category, and leader positions.

Every path that counts quota use — the hire check under its lock, the over-quota checks, the GraphQL loaders and
summaries — reads ``establishments``; the domain's ``UnitEstablishment`` judges them (``available = approved − used −
reserved``). SQL gathers the facts, the domain decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.adapters.orm import HiringPlanRow, LeaderQuotaRow, PolicyOverQuotaRow, PostingRow, QuotaRow, UnitRow
from hub.domain.registry import UnitEstablishment
from hub.domain.vocabulary import ApplicationStatus, LeaderRank, QuotaCategory


def reserved_slots(year: int):
    """Slots held by approved hiring plans (用编计划) of ``year`` and later that are not filled yet: a plan expires
    at the end of its year."""
    return (select(HiringPlanRow.unit_code, HiringPlanRow.category,
                   func.sum(HiringPlanRow.approved_slots - HiringPlanRow.filled))
            .where(HiringPlanRow.status == ApplicationStatus.APPROVED.value, HiringPlanRow.year >= year)
            .group_by(HiringPlanRow.unit_code, HiringPlanRow.category))


def establishments(session: Session, unit_codes: Iterable[str] | None = None, *, today: date,
                   leaders: bool = True) -> dict[str, UnitEstablishment]:
    """Approved, used (active postings) and reserved quota, policy over-quota allowances in force on ``today``, and
    leader positions, per unit (every unit with any of them when ``unit_codes`` is None; each given code is present,
    empty when it has none)."""
    codes = None if unit_codes is None else sorted(set(unit_codes))
    est: dict[str, UnitEstablishment] = {c: UnitEstablishment(c) for c in codes or ()}

    def get(code: str) -> UnitEstablishment:
        e = est.get(code)
        if e is None:
            e = est[code] = UnitEstablishment(code)
        return e

    def only(q, col):
        return q if codes is None else q.where(col.in_(codes))

    for code, cat, n in session.execute(only(select(QuotaRow.unit_code, QuotaRow.category, QuotaRow.approved), QuotaRow.unit_code)):
        get(code).approved[QuotaCategory(cat)] = n
    used = (select(PostingRow.unit_code, PostingRow.category, func.count()).where(PostingRow.active)
            .group_by(PostingRow.unit_code, PostingRow.category))
    for code, cat, n in session.execute(only(used, PostingRow.unit_code)):
        get(code).used[QuotaCategory(cat)] = n
    for code, cat, n in session.execute(only(reserved_slots(today.year), HiringPlanRow.unit_code)):
        if n:
            get(code).reserved[QuotaCategory(cat)] = int(n)
    allowed = (select(PolicyOverQuotaRow.unit_code, PolicyOverQuotaRow.category, func.sum(PolicyOverQuotaRow.slots))
               .where(PolicyOverQuotaRow.deadline >= today)
               .group_by(PolicyOverQuotaRow.unit_code, PolicyOverQuotaRow.category))
    for code, cat, n in session.execute(only(allowed, PolicyOverQuotaRow.unit_code)):
        get(code).policy_allowance[QuotaCategory(cat)] = int(n)
    if leaders:
        for code, rank, n in session.execute(only(select(LeaderQuotaRow.unit_code, LeaderQuotaRow.rank, LeaderQuotaRow.approved),
                                                  LeaderQuotaRow.unit_code)):
            get(code).leaders_approved[LeaderRank(rank)] = n
        lused = (select(PostingRow.unit_code, PostingRow.leader_rank, func.count())
                 .where(PostingRow.active, PostingRow.leader_rank.is_not(None))
                 .group_by(PostingRow.unit_code, PostingRow.leader_rank))
        for code, rank, n in session.execute(only(lused, PostingRow.unit_code)):
            get(code).leaders_used[LeaderRank(rank)] = n
    return est


def lock_quota(session: Session, unit_code: str, category: QuotaCategory, rank: LeaderRank | None = None) -> None:
    """Lock the unit's quota row of the category (and leader-quota row of the rank) until commit (PostgreSQL
    ``FOR UPDATE``; SQLite writers are serialized by ``BEGIN IMMEDIATE``): every writer that takes or reserves a slot
    locks first and counts after, so concurrent hires and plan approvals never overfill a unit."""
    found = session.execute(select(QuotaRow.approved).where(QuotaRow.unit_code == unit_code,
                                                            QuotaRow.category == category.value).with_for_update()).all()
    if not found:  # no quota row of the category (a policy allowance may still admit): lock the unit's row instead
        session.execute(select(UnitRow.code).where(UnitRow.code == unit_code).with_for_update()).all()
    if rank is not None:
        session.execute(select(LeaderQuotaRow.approved).where(LeaderQuotaRow.unit_code == unit_code,
                                                              LeaderQuotaRow.rank == rank.value).with_for_update()).all()


def locked_establishment(session: Session, unit_code: str, category: QuotaCategory, rank: LeaderRank | None,
                         *, today: date) -> UnitEstablishment:
    """The unit's establishment for one hire, counted after its quota rows are locked."""
    lock_quota(session, unit_code, category, rank)
    return establishments(session, [unit_code], today=today, leaders=rank is not None)[unit_code]
