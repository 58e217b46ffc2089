"""What each department's monthly snapshot is (contract section 6): one description per source.

A ``SnapshotSource`` says everything the comparison needs to know about a source, in one place: its columns and
how the staged (SQL) path checks each of them, the event model that validates a row (the streaming path's own),
which columns make a row a duplicate, the partner view the snapshot replaces and how, and the absence kinds only a
complete snapshot shows. The general path (``general``), the staged paths (``staged_finance``,
``staged_person_views``) and the Python reader (``snapshot_rows``) all read these descriptions.
"""

from __future__ import annotations

import re
from collections import namedtuple
from dataclasses import dataclass, field
from typing import Callable

from hub.contract.inbound import ContributionRecorded, EmploymentUpdated, IdentityUpdated, PayrollPaid
from hub.adapters.snapshot_staging import StagedColumns
from hub.domain.reconciliation import FINANCE, HR, INSURANCE, POLICE
from hub.domain.vocabulary import MismatchKind as K

PERIOD = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])\Z")  # ASCII digits only; \Z: no trailing newline
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SnapshotSource:
    """One department's snapshot: columns, row checks, duplicates, the view it replaces, what its absence shows."""

    name: str
    columns: StagedColumns  # column -> staged check kind (snapshot_staging), and which columns are optional
    model: type  # the event model that validates a row (and words its errors)
    key: tuple[str, ...]  # a row repeating an earlier row's key is a duplicate
    view: str  # the partner view the snapshot replaces
    values: tuple[str, ...]  # the view's columns a row sets besides id_number (the snapshot's, by name)
    casts: tuple[tuple[str, str], ...] = ()  # staged path: (column, SQL type) where the view's type is not text
    by_period: bool = False  # rows carry the period: they must be the compared one
    keeps_newer: bool = False  # insurance: one record per person, the latest period's — a newer record stays
    absence_kinds: tuple[K, ...] = ()
    record: type = field(init=False, repr=False, compare=False)  # a validated row kept as a plain tuple

    def __post_init__(self):
        # A plain tuple of the model's values per row: a model instance per row costs several times the memory
        # across 200k rows.
        object.__setattr__(self, "record", namedtuple(f"{self.name.title()}Record", self.required + self.optional))

    @property
    def required(self) -> tuple[str, ...]:
        return self.columns.required

    @property
    def optional(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns.names if c in self.columns.optional)


POLICE_SNAPSHOT = SnapshotSource(
    POLICE, StagedColumns({"id_number": "id", "name": "name", "gender": "gender", "birth_date": "birth_date",
                           "status": "one of:ALIVE|DECEASED|CANCELLED", "photo_sha256": "sha256"},
                          optional=frozenset({"photo_sha256"})),
    IdentityUpdated, key=("id_number",), view="partner_identity",
    values=("name", "gender", "birth_date", "status", "photo_sha256"), casts=(("birth_date", "date"),),
    absence_kinds=(K.IDENTITY_UNKNOWN,))
HR_SNAPSHOT = SnapshotSource(
    HR, StagedColumns({"id_number": "id", "name": "name", "unit_code": "uscc", "status": "one of:EMPLOYED|RETIRED|LEFT",
                       "effective_date": "date", "rank": "text100"}, optional=frozenset({"rank"})),
    EmploymentUpdated, key=("id_number",), view="partner_employment",
    values=("name", "unit_code", "status", "effective_date", "rank"), casts=(("effective_date", "date"),))
FINANCE_SNAPSHOT = SnapshotSource(
    FINANCE, StagedColumns({"id_number": "id", "name": "name", "unit_code": "uscc", "period": "period",
                            "gross_amount": "amount"}),
    PayrollPaid, key=("id_number", "unit_code"), view="partner_payroll",
    values=("unit_code", "name", "gross_amount"), by_period=True,
    absence_kinds=(K.UNPAID_POSTING, K.HEADCOUNT_INCONSISTENT))
INSURANCE_SNAPSHOT = SnapshotSource(
    INSURANCE, StagedColumns({"id_number": "id", "name": "name", "employer_code": "uscc", "period": "period",
                              "base_amount": "amount", "status": "one of:ACTIVE|SUSPENDED|TERMINATED"}),
    ContributionRecorded, key=("id_number",), view="partner_insurance",
    values=("name", "employer_code", "period", "base_amount", "status"), by_period=True, keeps_newer=True,
    absence_kinds=(K.INSURANCE_MISSING,))

SNAPSHOTS = {s.name: s for s in (POLICE_SNAPSHOT, HR_SNAPSHOT, FINANCE_SNAPSHOT, INSURANCE_SNAPSHOT)}
SOURCES = tuple(SNAPSHOTS)
