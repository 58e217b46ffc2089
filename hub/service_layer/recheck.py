"""`hub recheck`: re-judge persons and units with today's rules.

A comparison re-checks only the rows that changed, and the stream only the persons its events name, so a rule
change (or a fixed bug) leaves stale findings behind. This re-judges every person (the registry's, the ones
partners report on, and the subjects of open person-level mismatches) and every unit — or one unit's, or one kind
— with the same functions the stream and the registry use. The kinds a department's snapshot judges by absence
(IDENTITY_UNKNOWN, UNPAID_POSTING, INSURANCE_MISSING, HEADCOUNT_INCONSISTENT) need the snapshot: ``hub compare``.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from hub.adapters.database import Database
from hub.adapters.orm import (
    MismatchRow,
    PartnerEmploymentRow,
    PartnerIdentityRow,
    PartnerInsuranceRow,
    PartnerPayrollRow,
    PersonRow,
    PostingRow,
)
from hub.domain.identifiers import parse_unit_code
from hub.domain.reconciliation import PERSON_STREAMING_KINDS
from hub.domain.vocabulary import MismatchKind as K
from hub.service_layer import registry_checks
from hub.service_layer.mismatches import MismatchBook, MismatchTally
from hub.service_layer.reconcile import reconcile_persons
from hub.service_layer.unit_of_work import UnitOfWork

UNIT_KINDS = frozenset({K.OVER_QUOTA, K.LEADERSHIP_OVER_QUOTA, K.MIXED_CATEGORY})
RECHECKED = PERSON_STREAMING_KINDS | UNIT_KINDS | {K.RETIREMENT_DUE}


def _persons(s, unit: str | None) -> set[str]:
    """Who the person-level rules judge: everyone the registry or a partner knows and every subject of an open
    person-level mismatch — of ``unit`` only when given: posted there, named there by a partner, or the subject of
    an open mismatch there (a unit-less one, such as a name mismatch, when posted there)."""
    ids = lambda q: set(s.execute(q).scalars())  # noqa: E731
    open_ = select(MismatchRow.subject).where(MismatchRow.kind.in_([k.value for k in PERSON_STREAMING_KINDS]),
                                              MismatchRow.status == "OPEN")
    if unit is None:
        return (ids(select(PersonRow.id_number)) | ids(select(PartnerIdentityRow.id_number))
                | ids(select(PartnerEmploymentRow.id_number)) | ids(select(PartnerPayrollRow.id_number))
                | ids(select(PartnerInsuranceRow.id_number)) | ids(open_))
    posted = ids(select(PostingRow.id_number).where(PostingRow.unit_code == unit, PostingRow.active))
    return (posted | ids(select(PartnerEmploymentRow.id_number).where(PartnerEmploymentRow.unit_code == unit))
            | ids(select(PartnerPayrollRow.id_number).where(PartnerPayrollRow.unit_code == unit))
            | ids(select(PartnerInsuranceRow.id_number).where(PartnerInsuranceRow.employer_code == unit))
            | ids(open_.where(MismatchRow.unit_code == unit)) | (ids(open_.where(MismatchRow.unit_code == "")) & posted))


def recheck(db: Database, *, kind: str | None = None, unit: str | None = None) -> MismatchTally:
    """Re-judge with today's rules; returns what opened, updated and resolved (by kind)."""
    only = K.parse(kind.upper(), "mismatch kind") if kind else None
    if only is not None and only not in RECHECKED:
        raise ValueError(f"{only.value} is judged from a department's snapshot: run `hub compare` with it")
    code = parse_unit_code(unit) if unit else None
    run = f"recheck-{uuid.uuid4()}"
    wants = lambda *ks: only is None or only in ks  # noqa: E731
    with UnitOfWork(db, actor="recheck") as uow:
        book = MismatchBook(uow)
        s = uow.session
        units = None if code is None else {code}
        if wants(*PERSON_STREAMING_KINDS):
            ids = _persons(s, code)
            reconcile_persons(uow, book, ids, caused_by={i: [run] for i in ids},
                              only=None if only is None else frozenset({only}))
        if wants(K.RETIREMENT_DUE):
            posted = None if code is None else set(s.execute(select(PostingRow.id_number).where(
                PostingRow.unit_code == code, PostingRow.active)).scalars())
            registry_checks.recheck_retirement(uow, book, uow.today, posted, caused_by=[run])
        if wants(K.OVER_QUOTA, K.LEADERSHIP_OVER_QUOTA):  # one check judges both
            registry_checks.recheck_unit_quotas(uow, book, units, caused_by=[run])
        if wants(K.MIXED_CATEGORY):
            registry_checks.recheck_mixed_categories(uow, book, units, caused_by=[run])
        uow.record("registry.recheck", "recheck", run, after={"kind": only and only.value, "unit": code,
                                                            "tally": {"opened": dict(book.tally.opened),
                                                                      "updated": dict(book.tally.updated),
                                                                      "resolved": dict(book.tally.resolved)}})
        uow.commit()
    return book.tally
