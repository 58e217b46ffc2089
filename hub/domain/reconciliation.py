"""Reconciliation rules: what mismatches one person's registry entry and partner views imply (contract §7).

Pure functions over small value objects; the streaming connectors and `hub compare` both call
``person_findings`` so the rules exist once. The result is the complete set of person-level mismatches that
should be open for the person; the caller opens what is missing and resolves what is no longer found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeVar

from hub.domain.ranks import leader_rank_conflict, parse_rank
from hub.domain.vocabulary import MismatchKind as K

POLICE, HR, FINANCE, INSURANCE = "police", "hr", "finance", "insurance"
SOURCES = (POLICE, HR, FINANCE, INSURANCE)

# Kinds the streaming path decides from the latest partner state (absence kinds need a full snapshot).
PERSON_STREAMING_KINDS = frozenset({
    K.NAME_MISMATCH, K.DECEASED_ACTIVE, K.GHOST_PAYROLL, K.PAYROLL_UNIT_MISMATCH, K.DOUBLE_PAYROLL,
    K.INSURANCE_EMPLOYER_MISMATCH, K.HR_STATUS_CONFLICT, K.HR_UNIT_MISMATCH, K.LEADER_RANK_CONFLICT,
})


# Value objects are NamedTuples: immutable and cheap to build by the hundred thousand (`hub compare`).


class RegistryView(NamedTuple):
    """The registry's side of one person: name and active posting (None when not in the registry)."""

    id_number: str
    name: str | None = None
    posting_unit: str | None = None
    unit_funding: str | None = None
    leader_rank: str | None = None  # the active posting's leader rank (领导职务)
    non_establishment: tuple[str, ...] = ()  # units paying the person outside the establishment (编外 register), sorted

    @property
    def registered(self) -> bool:
        return self.name is not None


class PoliceView(NamedTuple):
    name: str
    status: str  # ALIVE, DECEASED, CANCELLED


class HrView(NamedTuple):
    name: str
    unit_code: str
    status: str  # EMPLOYED, RETIRED, LEFT
    rank: str | None = None  # HR's rank (职级) as sent


class PayLine(NamedTuple):
    unit_code: str
    period: str
    name: str | None
    paid: bool  # False once stopped
    gross_amount: str | None = None


class ContributionLine(NamedTuple):
    employer_code: str
    period: str
    name: str | None
    status: str  # ACTIVE, SUSPENDED, TERMINATED


class PartnerViews(NamedTuple):
    """The partners' latest state for one person."""

    police: PoliceView | None = None
    hr: HrView | None = None
    pay: tuple[PayLine, ...] = ()
    insurance: tuple[ContributionLine, ...] = ()


@dataclass(frozen=True)
class Finding:
    """A mismatch that should be open: kind, unit ('' when none applies), source and details."""

    kind: K
    unit_code: str
    source: str
    details: dict[str, Any] = field(hash=False, compare=False)


_Line = TypeVar("_Line")


def latest(lines: Sequence[_Line], period_of: Callable[[Any], str] = lambda x: x.period) -> tuple[_Line, ...]:
    """The lines of the latest period present (partners' current month)."""
    if not lines:
        return ()
    p = max(period_of(x) for x in lines)
    return tuple(x for x in lines if period_of(x) == p)


def supersedes(incoming_period: str, stored_period: str | None) -> bool:
    """Whether a partner's record for ``incoming_period`` (YYYY-MM) replaces the one kept for ``stored_period``: one
    record per person, the newer period's; the same period's later record replaces it. The one rule the stream
    (``apply_events``), the comparison (general: ``_replace_partner_view``; staged: ``_replace_view``, in SQL as
    ``period > :p`` keeps the stored) and so every "latest record" apply."""
    return stored_period is None or incoming_period >= stored_period


def _same_name(a: str | None, b: str | None) -> bool:
    return "".join((a or "").split()) == "".join((b or "").split())


def person_findings(reg: RegistryView, views: PartnerViews) -> dict[tuple[K, str], Finding]:
    """Every person-level streaming mismatch the registry and partner views imply, keyed by (kind, unit).

    Pay without a posting is GHOST_PAYROLL unless the paying unit has the person on the 编外 register (staff employed
    outside the establishment, or a retiree whose pension it pays through finance); pay for someone in no register
    stays a ghost — so does pay continuing after a retirement nobody registered as a pension."""
    out: dict[tuple[K, str], Finding] = {}

    def add(kind: K, unit: str | None, source: str, details: dict[str, Any]) -> None:
        out[(kind, unit or "")] = Finding(kind, unit or "", source, details)

    posting = reg.posting_unit
    pay_now = latest(views.pay)
    paying = sorted({l.unit_code for l in pay_now if l.paid})
    period = pay_now[0].period if pay_now else None

    if reg.registered:
        names: dict[str, str | list[str]] = {}
        if views.police and not _same_name(views.police.name, reg.name):
            names[POLICE] = views.police.name
        if views.hr and not _same_name(views.hr.name, reg.name):
            names[HR] = views.hr.name
        fin = sorted({l.name for l in pay_now if l.name and not _same_name(l.name, reg.name)})
        if fin:
            names[FINANCE] = fin[0] if len(fin) == 1 else fin
        ins = sorted({c.name for c in latest(views.insurance) if c.name and not _same_name(c.name, reg.name)})
        if ins:
            names[INSURANCE] = ins[0] if len(ins) == 1 else ins
        if names:
            add(K.NAME_MISMATCH, None, ",".join(sorted(names)), {"expected": reg.name, "found": names})

    if views.police and views.police.status in ("DECEASED", "CANCELLED") and (posting or paying):
        add(K.DECEASED_ACTIVE, posting or paying[0], POLICE,
            {"police_status": views.police.status, "posting_unit": posting, "paying_units": paying, "period": period})

    if paying and not posting:
        for u in paying:
            if u in reg.non_establishment:
                continue  # 编外 staff paid by their unit, a registered retiree's pension: recognised, not ghosts
            line = next(l for l in pay_now if l.unit_code == u and l.paid)
            add(K.GHOST_PAYROLL, u, FINANCE, {"expected": "an active posting", "found": {"paying_unit": u,
                "period": period, "gross_amount": line.gross_amount}, "registered": reg.registered})
    if posting:
        for u in paying:
            if u != posting:
                add(K.PAYROLL_UNIT_MISMATCH, u, FINANCE, {"expected": posting, "found": u, "period": period})
    if len(paying) >= 2:
        add(K.DOUBLE_PAYROLL, None, FINANCE, {"period": period, "paying_units": paying})

    if posting:
        employers = sorted({c.employer_code for c in latest(views.insurance) if c.status == "ACTIVE"})
        wrong = [e for e in employers if e != posting]
        if wrong:
            add(K.INSURANCE_EMPLOYER_MISMATCH, posting, INSURANCE,
                {"expected": posting, "found": wrong, "period": latest(views.insurance)[0].period})
        if views.hr and views.hr.status in ("RETIRED", "LEFT"):
            add(K.HR_STATUS_CONFLICT, posting, HR, {"expected": "EMPLOYED", "found": views.hr.status, "posting_unit": posting})
        elif views.hr and views.hr.status == "EMPLOYED" and views.hr.unit_code != posting:
            add(K.HR_UNIT_MISMATCH, posting, HR, {"expected": posting, "found": views.hr.unit_code})
        if views.hr and views.hr.status == "EMPLOYED":
            level = leader_rank_conflict(reg.leader_rank, views.hr.rank)
            hr_rank = parse_rank(views.hr.rank)  # a rank level implies a parsed rank
            if level is not None and hr_rank is not None:
                add(K.LEADER_RANK_CONFLICT, posting, HR, {"expected": reg.leader_rank, "found": views.hr.rank,
                                                          "hr_rank": hr_rank.value, "hr_level": level.value})
    return out
