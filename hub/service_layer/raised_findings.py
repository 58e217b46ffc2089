"""Findings the hub raises itself (source HUB, 系统发现), from what the registry shows:

* 混编混岗 (``MIXED_USE``): a unit with an active posting whose category does not fit the unit's kind
  (``hub.domain.registry.category_fits``; e.g. an administrative slot in a public institution). One finding per unit;
  evidence: the postings' holders and their open ``MIXED_CATEGORY`` mismatches.
* 超编进人 (``OVER_QUOTA_HIRING``): a policy over-quota decision (政策性超编) whose deadline has passed while the excess
  is not absorbed (``hub.service_layer.workflows.policy.decisions_of``). One finding per decision; evidence: its
  document, when the register has it.

Idempotent: a condition has one live finding (``condition_key``, unique while the finding is not CLOSED — also
against two sweeps at once). Once the office has closed it (销号), the same condition found again opens a new one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select, text

from hub.adapters.orm import DocumentRow, FindingRow, MismatchRow, PolicyOverQuotaRow, PostingRow, UnitRow
from hub.domain import supervision as sv
from hub.domain.registry import category_fits
from hub.domain.supervision import EvidenceKind, FindingCategory, FindingSource, RecommendationKind
from hub.domain.vocabulary import MismatchKind, QuotaCategory, UnitStatus
from hub.service_layer.findings import SYSTEM_ROLE, open_finding
from hub.service_layer.unit_of_work import UnitOfWork
from hub.service_layer.workflows.policy import decisions_of

_CATEGORY_CN = {QuotaCategory.ADMINISTRATIVE.value: "行政编制", QuotaCategory.POLITICAL_LEGAL.value: "政法专项编制",
                QuotaCategory.PUBLIC_INSTITUTION.value: "事业编制", QuotaCategory.WORKER.value: "工勤编制"}


def mixed_use_key(unit_code: str) -> str:
    return f"MIXED_USE:{unit_code}"


def policy_key(decision_id: int) -> str:
    return f"POLICY_OVERQUOTA:{decision_id}"


@dataclass
class Raised:
    """What a sweep opened (finding ids) and which conditions already had a live finding."""

    opened: list[int] = field(default_factory=list)
    already_open: list[str] = field(default_factory=list)


def _live_keys(uow: UnitOfWork) -> set[str]:
    return set(uow.session.execute(select(FindingRow.condition_key).where(
        FindingRow.condition_key.is_not(None), FindingRow.closed_at.is_(None))).scalars())


SWEEP_LOCK_KEY = 0x5355504552  # "SUPER": one hub-findings sweep at a time (PostgreSQL advisory lock)


def raise_hub_findings(uow: UnitOfWork, today: date) -> Raised:
    """Open a HUB finding for each condition above that has no live finding; returns what was opened. Sweeps run
    one at a time (PostgreSQL: a transaction advisory lock; SQLite writers are serialised), so two at once open
    each finding once — the second finds the first's."""
    if uow.is_postgres:
        uow.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SWEEP_LOCK_KEY})
    out = Raised()
    live = _live_keys(uow)
    units = {u.code: u for u in uow.session.execute(select(UnitRow).where(UnitRow.status == UnitStatus.ACTIVE.value)).scalars()}

    misfits: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for idn, unit_code, cat in uow.session.execute(
            select(PostingRow.id_number, PostingRow.unit_code, PostingRow.category).where(PostingRow.active)
            .order_by(PostingRow.unit_code, PostingRow.id_number)):
        u = units.get(unit_code)
        if u is not None and not category_fits(u.kind, cat):
            misfits[unit_code].append((idn, cat))
    for unit_code, found in misfits.items():
        key = mixed_use_key(unit_code)
        if key in live:
            out.already_open.append(key)
            continue
        mismatch_ids = uow.session.execute(select(MismatchRow.id).where(
            MismatchRow.kind == MismatchKind.MIXED_CATEGORY.value, MismatchRow.status == "OPEN",
            MismatchRow.unit_code == unit_code).order_by(MismatchRow.id)).scalars().all()
        evidence = [sv.Evidence(EvidenceKind.PERSON, idn) for idn, _ in found][:sv.EVIDENCE_MAX - len(mismatch_ids[:10])]
        evidence += [sv.Evidence(EvidenceKind.MISMATCH, str(m)) for m in mismatch_ids[:10]]
        cats = sorted({c for _, c in found})
        u = units[unit_code]
        row = open_finding(uow, u, source=FindingSource.HUB, category=FindingCategory.MIXED_USE,
                    title=f"{u.name}混编混岗：{len(found)}人占用{'、'.join(_CATEGORY_CN[c] for c in cats)}"[:sv.TITLE_MAX],
                    description=(f"{len(found)} active posting(s) of category {', '.join(cats)} in a unit of kind "
                                 f"{u.kind}: the category does not fit the unit's kind (混编混岗)."),
                    recommendation="按机构类别使用编制：将人员调整到相应编制或相应单位 (use slots of the unit's own categories)",
                    recommendation_kind=RecommendationKind.CORRECT_POSTINGS.value, responsible_party=u.name[:sv.PARTY_MAX],
                    deadline=sv.hub_deadline(today), reference=None, evidence=evidence, actor=uow.actor,
                    role=SYSTEM_ROLE, condition_key=key)
        out.opened.append(row.id)

    policy_units = set(uow.session.execute(select(PolicyOverQuotaRow.unit_code).distinct()).scalars())
    for unit_code in sorted(policy_units & set(units)):
        for d in decisions_of(uow.session, unit_code, today):
            if not d.overdue:
                continue
            key = policy_key(d.row.id)
            if key in live:
                out.already_open.append(key)
                continue
            u = units[unit_code]
            registered = uow.session.execute(select(DocumentRow.id).where(DocumentRow.number == d.row.document_number)).first()
            evidence = [sv.Evidence(EvidenceKind.DOCUMENT, d.row.document_number)] if registered else []
            row = open_finding(uow, u, source=FindingSource.HUB, category=FindingCategory.OVER_QUOTA_HIRING,
                        title=f"{u.name}政策性超编逾期未消化：{_CATEGORY_CN[d.row.category]}超{d.over_by}名"[:sv.TITLE_MAX],
                        description=(f"Policy over-quota decision {d.row.id} ({d.row.document_number}) allowed "
                                     f"{d.row.slots} {d.row.category} placement(s) until {d.row.deadline}; "
                                     f"{d.over_by} remain above the approved quota."),
                        recommendation="按期消化超编人员，消化前只出不进 (absorb the excess; no hiring until it fits)",
                        recommendation_kind=RecommendationKind.ABSORB_EXCESS.value, responsible_party=u.name[:sv.PARTY_MAX],
                        deadline=sv.hub_deadline(today), reference=d.row.document_number, evidence=evidence,
                        actor=uow.actor, role=SYSTEM_ROLE, condition_key=key)
            out.opened.append(row.id)
    return out
