"""The over-quota absorption ledger (超编消化台账): every unit and category using more slots than approved — the excess
counted by the one quota-use home (``hub.service_layer.establishment``) — with the office's plan to absorb it (target
dates, each with the excess allowed to remain by then) and the progress as departures happen. A unit that fits its
quota again leaves the ledger by itself: the ledger is computed, only the plans are stored.
docs/supervision.md, "Over-quota absorption (超编消化台账)"."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hub.adapters.orm import AbsorptionTargetRow, PostingRow, UnitRow
from hub.domain.calendar import office_date
from hub.domain.vocabulary import QuotaCategory, Role
from hub.domain.workflows import TEXT_MAX, Caller, NotAllowed, bounded
from hub.service_layer.establishment import establishments
from hub.service_layer.unit_of_work import UnitOfWork
from hub.service_layer.workflows.common import unit_for

MAX_TARGETS = 12


@dataclass
class Target:
    target_date: date
    remaining: int  # the excess allowed to remain by the target date


@dataclass
class LedgerEntry:
    unit_code: str
    unit_name: str
    region_code: str
    category: str
    approved: int
    used: int
    excess: int  # used − approved today
    policy_allowed: int  # of which a policy over-quota allowance in force covers (政策性超编)
    baseline: int | None = None  # the excess when the plan was entered (None: no plan yet)
    planned_on: date | None = None
    targets: list[Target] = field(default_factory=list)
    departures: int = 0  # postings of the unit and category ended since the plan was entered
    note: str | None = None

    @property
    def absorbed(self) -> int | None:
        return None if self.baseline is None else self.baseline - self.excess

    def next_target(self, today: date) -> Target | None:
        return next((t for t in self.targets if t.target_date >= today), None)

    def status(self, today: date) -> str:
        """NO_PLAN; BEHIND (a target date passed with more excess left than it allowed); ON_TRACK otherwise."""
        if not self.targets:
            return "NO_PLAN"
        if any(t.target_date < today and self.excess > t.remaining for t in self.targets):
            return "BEHIND"
        return "ON_TRACK"


STATUS_ZH = {"NO_PLAN": "未制定计划", "BEHIND": "未按期消化", "ON_TRACK": "按计划消化"}


def set_plan(uow: UnitOfWork, caller: Caller, *, unit_code: str, category: str, targets: list[tuple[date, int]],
             note: str | None) -> list[AbsorptionTargetRow]:
    """The office (ADMIN; a district office in its region) enters or replaces the plan to absorb a unit's excess in a
    category: target dates, each with the excess allowed to remain by then (the last one usually 0)."""
    if caller.role is not Role.ADMIN:
        raise NotAllowed(f"role {caller.role.value} may not enter absorption plans")
    unit = unit_for(uow, caller, unit_code, unit_may=False)
    cat = QuotaCategory.parse(category, "quota category")
    note = bounded(note, "note", TEXT_MAX) or None
    if not 1 <= len(targets) <= MAX_TARGETS:
        raise ValueError(f"an absorption plan has 1 to {MAX_TARGETS} targets, not {len(targets)}")
    today = office_date(uow.now)  # the office's local date, as every deadline
    dates = [d for d, _ in targets]
    if len(set(dates)) != len(dates):
        raise ValueError("two targets of the plan fall on the same date")
    e = establishments(uow.session, [unit.code], today=today, leaders=False)[unit.code]
    excess = e.excess(cat)
    if excess <= 0:
        raise ValueError(f"unit {unit.code} is not over quota in {cat.value} (approved {e.approved.get(cat, 0)}, "
                         f"used {e.used.get(cat, 0)}): there is nothing to absorb")
    ordered = sorted(targets)
    for d, remaining in ordered:
        if d <= today:
            raise ValueError(f"a target date must be after today, not {d}")
        if not 0 <= remaining < excess:
            raise ValueError(f"the excess remaining by {d} is 0 to {excess - 1} (below today's excess {excess}), not {remaining}")
    if any(b[1] > a[1] for a, b in zip(ordered, ordered[1:])):
        raise ValueError("the excess remaining may not grow from one target to the next")
    before = [{"target_date": r.target_date, "remaining": r.remaining} for r in _targets(uow.session, unit.code, cat.value)]
    uow.session.execute(delete(AbsorptionTargetRow).where(AbsorptionTargetRow.unit_code == unit.code,
                                                          AbsorptionTargetRow.category == cat.value))
    rows = [AbsorptionTargetRow(unit_code=unit.code, category=cat.value, target_date=d, remaining=r, baseline=excess,
                                note=note, entered_by=caller.actor, entered_at=uow.now) for d, r in ordered]
    uow.session.add_all(rows)
    uow.session.flush()
    uow.record("absorption.plan", "absorption_plan", f"{unit.code}/{cat.value}", before=before or None,
               after={"unit_code": unit.code, "category": cat.value, "baseline": excess, "note": note,
                      "targets": [{"target_date": d, "remaining": r} for d, r in ordered]})
    return rows


def _targets(session: Session, unit_code: str, category: str) -> list[AbsorptionTargetRow]:
    return list(session.execute(select(AbsorptionTargetRow).where(AbsorptionTargetRow.unit_code == unit_code,
                                                                  AbsorptionTargetRow.category == category)
                                .order_by(AbsorptionTargetRow.target_date)).scalars())


def ledger(session: Session, *, today: date, region: str | None = None, unit_code: str | None = None) -> list[LedgerEntry]:
    """Every active unit and category over quota today, with its plan and progress; largest excess first."""
    q = select(UnitRow).where(UnitRow.status == "ACTIVE")
    if region:
        q = q.where(UnitRow.region_code == region)
    if unit_code:
        q = q.where(UnitRow.code == unit_code)
    units = {u.code: u for u in session.execute(q).scalars()}
    est = establishments(session, list(units), today=today, leaders=False)
    entries = []
    for code, e in est.items():
        for cat in e.categories():
            excess = e.excess(cat)
            if excess > 0:
                u = units[code]
                entries.append(LedgerEntry(code, u.name, u.region_code, cat.value, e.approved.get(cat, 0),
                                           e.used.get(cat, 0), excess, min(e.policy_allowance.get(cat, 0), excess)))
    if not entries:
        return []
    plans: dict[tuple[str, str], list[AbsorptionTargetRow]] = {}
    for r in session.execute(select(AbsorptionTargetRow).where(AbsorptionTargetRow.unit_code.in_({x.unit_code for x in entries}))
                             .order_by(AbsorptionTargetRow.target_date)).scalars():
        plans.setdefault((r.unit_code, r.category), []).append(r)
    for x in entries:
        rows = plans.get((x.unit_code, x.category))
        if not rows:
            continue
        x.baseline, x.note = rows[0].baseline, rows[0].note
        x.planned_on = office_date(min(r.entered_at for r in rows))
        x.targets = [Target(r.target_date, r.remaining) for r in rows]
        x.departures = session.scalar(select(func.count()).select_from(PostingRow).where(
            PostingRow.unit_code == x.unit_code, PostingRow.category == x.category,
            PostingRow.end_date.is_not(None), PostingRow.end_date >= x.planned_on, PostingRow.end_date <= today))
    entries.sort(key=lambda x: (-x.excess, x.unit_code, x.category))
    return entries
