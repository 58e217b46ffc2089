"""Monthly full comparison (全库比对): a department's snapshot for one period against the registry.

The snapshot (contract section 6) is the source's complete truth for the period. In one transaction it replaces
the source's partner view for that period, re-checks every affected person with the same rules as the streaming
path (``reconcile_persons``), and raises or resolves the absence kinds only a complete snapshot can show:
IDENTITY_UNKNOWN (police), UNPAID_POSTING and HEADCOUNT_INCONSISTENT (finance), INSURANCE_MISSING (insurance).

Re-running the same file changes nothing and publishes nothing (the run's id is derived from the file, so the
mismatches it touched already name it). A run killed mid-way committed nothing; re-running it gives the state of
one clean run.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import sys
import uuid
from collections import defaultdict, namedtuple
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from pydantic import ValidationError
from sqlalchemy import delete, func, select, text

from hub.contract.inbound import ContributionRecorded, EmploymentUpdated, IdentityUpdated, PayrollPaid, describe
from hub.adapters import csv_safe
from hub.adapters.bulk import any_of, bulk_insert
from hub.adapters.database import Database
from hub.adapters.jsonutil import dumps
from hub.adapters.text_files import UTF8, decode
from hub.adapters.orm import (
    ComparisonRow,
    MismatchRow,
    NonEstablishmentRow,
    PartnerEmploymentRow,
    PartnerIdentityRow,
    PartnerInsuranceRow,
    PartnerPayrollRow,
    PersonRow,
    PostingRow,
    QuotaRow,
    UnitRow,
)
from hub.domain.registry import FISCAL_FUNDING, headcount_consistent, headcount_judged
from hub.domain.reconciliation import FINANCE, HR, INSURANCE, POLICE
from hub.domain.vocabulary import MismatchKind as K
from hub.service_layer.mismatches import MismatchBook, MismatchTally
from hub.service_layer.partner_events import verify_identities
from hub.service_layer.reconcile import GLOBAL_LOCK_KEY, reconcile_persons
from hub.service_layer.unit_of_work import UnitOfWork

SOURCES = (POLICE, HR, FINANCE, INSURANCE)
COLUMNS = {
    POLICE: (("id_number", "name", "gender", "birth_date", "status"), ("photo_sha256",)),
    HR: (("id_number", "name", "unit_code", "status", "effective_date"), ("rank",)),
    FINANCE: (("id_number", "name", "unit_code", "period", "gross_amount"), ()),
    INSURANCE: (("id_number", "name", "employer_code", "period", "base_amount", "status"), ()),
}
MODELS = {POLICE: IdentityUpdated, HR: EmploymentUpdated, FINANCE: PayrollPaid, INSURANCE: ContributionRecorded}
# A validated row as kept for the comparison: a plain tuple of the model's values (a model instance per row would
# cost several times the memory across 200k rows).
RECORDS = {src: namedtuple(f"{src.title()}Record", required + optional) for src, (required, optional) in COLUMNS.items()}
ABSENCE_KINDS = {POLICE: (K.IDENTITY_UNKNOWN,), FINANCE: (K.UNPAID_POSTING, K.HEADCOUNT_INCONSISTENT),
                 INSURANCE: (K.INSURANCE_MISSING,), HR: ()}
STAGED_SOURCES = SOURCES  # sources whose snapshots PostgreSQL compares with set operations
RECHECK_BLOCK = 20000  # persons re-checked together (the general path: every changed person)
CLASSES_FROM = 1000  # re-checking more persons than this: judge signature classes first (PostgreSQL)
PERIOD = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])\Z")  # ASCII digits only; \Z: no trailing newline

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class CompareReport:
    comparison_id: str
    source: str
    period: str
    rows: int = 0
    bad_rows: list[RowError] = field(default_factory=list)
    tally: MismatchTally = field(default_factory=MismatchTally)
    still_open: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    # "staged": PostgreSQL set operations (staged_compare, staged_views); "classes": rows read in Python, persons
    # re-checked by signature class (finding_classes); "general": row by row in Python
    method: str = "general"
    encoding: str = UTF8  # the snapshot file's (hub.adapters.text_files)

    def summary(self) -> dict:
        kinds = sorted(set(self.tally.opened) | set(self.tally.resolved) | set(self.still_open) | set(self.tally.updated))
        return {"comparison_id": self.comparison_id, "source": self.source, "period": self.period,
                "encoding": self.encoding, "rows": self.rows,
                "bad_rows": len(self.bad_rows), "seconds": round(self.seconds, 3), "method": self.method,
                "by_kind": {k: {"opened": self.tally.opened.get(k, 0), "updated": self.tally.updated.get(k, 0),
                                "resolved": self.tally.resolved.get(k, 0), "still_open": self.still_open.get(k, 0)}
                            for k in kinds}}


class CompareRejected(Exception):
    """The snapshot had bad rows (and --skip-bad-rows was not given): nothing was changed."""

    def __init__(self, report: CompareReport, message: str | None = None):
        super().__init__(message or f"{len(report.bad_rows)} bad rows; nothing changed")
        self.report = report


def _explain(e: ValidationError) -> str:
    return "; ".join(describe(err, "row") for err in e.errors()[:3])


def check_row(source: str, row: dict[str, str], line: int):
    """Validate one row with the source's event model: (record, None) or (None, RowError)."""
    required, optional = COLUMNS[source]
    data = {k: v.strip() for k, v in row.items() if k in required or (k in optional and v and v.strip())}
    try:
        return MODELS[source].model_validate(data), None
    except ValidationError as e:
        return None, RowError(line, _explain(e))
    except ValueError as e:
        return None, RowError(line, str(e))


def read_snapshot(source: str, period: str, path: Path, progress: Progress | None = None, *,
                  content: str | None = None) -> tuple[list, list[RowError]]:
    """Validate every row (of ``content``, the file's decoded text, when given); returns (valid records, bad rows)."""
    required, optional = COLUMNS[source]
    errors: list[RowError] = []
    records: list = []
    record = RECORDS[source]
    seen: dict[tuple, int] = {}
    csv.field_size_limit(sys.maxsize)  # an over-long field is a bad row (the file is in memory already), not a crash
    if content is None:
        content = decode(path.read_bytes(), path.name).text
    with io.StringIO(content, newline="") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in required if c not in header]
        if missing:
            return [], [RowError(1, f"header lacks column(s): {', '.join(missing)} (a {source} snapshot has {', '.join(required + optional)})")]
        reader.fieldnames = header
        try:
            for row in reader:
                line = reader.line_num
                if None in row:
                    errors.append(RowError(line, "more fields than the header has"))
                    continue
                if None in row.values():
                    errors.append(RowError(line, "fewer fields than the header has"))
                    continue
                rec, error = check_row(source, row, line)
                if error:
                    errors.append(error)
                    continue
                if source in (FINANCE, INSURANCE) and rec.period != period:
                    errors.append(RowError(line, f"period {rec.period} is not the compared period {period}"))
                    continue
                key = (rec.id_number, rec.unit_code) if source == FINANCE else (rec.id_number,)
                if key in seen:
                    what = f"person {rec.id_number}" + (f" with unit {rec.unit_code}" if source == FINANCE else "")
                    errors.append(RowError(line, f"duplicate {what} (first on line {seen[key]})"))
                    continue
                seen[key] = line
                records.append(record(*(getattr(rec, c) for c in record._fields)))
                if progress and line % 20000 == 0:
                    progress("validate", line, 0)
        except csv.Error as e:  # e.g. a stray quote the csv module cannot recover from
            raise ValueError(f"{path.name}, line {reader.line_num}: unreadable CSV ({e})") from None
    return records, errors


def run_compare(db: Database, *, source: str, period: str, path: Path, skip_bad_rows: bool = False,
                actor: str = "cli", progress: Progress | None = None, comparison_id: str | None = None,
                staged: bool = True, expected_sha256: str | None = None) -> CompareReport:
    """Compare a snapshot file; raises CompareRejected (nothing changed) on bad rows unless ``skip_bad_rows``.

    On PostgreSQL a snapshot is staged with COPY and compared with set operations (``staged_compare`` for finance,
    ``staged_views`` for the others); a file the stager declines is read in Python and, when many persons changed,
    only those whose signature class can have findings are re-checked (``finding_classes``: "classes");
    ``staged=False`` forces the plain general path (all must agree; the tests compare them).
    ``expected_sha256``: the digest of the file when it was checked (``startComparison``); other bytes — the file
    was replaced since, e.g. by a symbolic link out of the comparison directory — are not compared (REJECTED).
    """
    import time

    started = time.perf_counter()
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r} (allowed: {', '.join(SOURCES)})")
    if not PERIOD.match(period or ""):
        raise ValueError(f"period {period!r} must be YYYY-MM")
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path} is not a file")
    raw = path.read_bytes()
    decoded = decode(raw, path.name)  # UTF-8 or GB18030; UnreadableText (a ValueError) with line and byte otherwise
    digest = hashlib.sha256(raw).hexdigest()
    cid = comparison_id or str(uuid.uuid4())
    report = CompareReport(cid, source, period, encoding=decoded.encoding)
    _record_start(db, cid, source, period, path, digest, actor, comparison_id is not None)
    if expected_sha256 is not None and digest != expected_sha256:
        message = f"{path.name} changed after the comparison was started; start it again"
        _record_end(db, cid, "REJECTED", report, message)
        raise ValueError(message)
    run_id = f"compare:{source}:{period}:{digest[:16]}"

    def finish(uow: UnitOfWork) -> None:
        """Close the run inside its transaction: summary, operation log, comparison row, commit."""
        report.still_open = _still_open(uow)
        report.seconds = time.perf_counter() - started
        uow.record("compare.run", "comparison", cid, after={
            "source": source, "period": period, "file": path.name, "sha256": digest, "rows": report.rows,
            "bad_rows": len(report.bad_rows), "opened": report.tally.opened, "resolved": report.tally.resolved})
        uow.session.execute(ComparisonRow.__table__.update().where(ComparisonRow.id == cid).values(
            status="SUCCEEDED", finished_at=uow.now, summary=dumps(report.summary())))
        uow.commit()

    try:
        if db.is_postgres and source in STAGED_SOURCES and staged:
            if source == FINANCE:
                from hub.service_layer.staged_compare import run_staged
            else:
                from hub.service_layer.staged_views import run_staged_view as run_staged
            if run_staged(db, report, raw=decoded.utf8(raw), run_id=run_id, skip_bad_rows=skip_bad_rows, actor=actor,
                          progress=progress, finish=finish):
                return report
        records, errors = read_snapshot(source, period, path, progress, content=decoded.text)
        report.rows, report.bad_rows = len(records), errors
        if errors and not skip_bad_rows:
            raise CompareRejected(report)
        with UnitOfWork(db, actor=actor) as uow:
            if uow.is_postgres:
                uow.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": GLOBAL_LOCK_KEY})
            book = MismatchBook(uow, report.tally)
            step = progress or (lambda *a: None)
            step("apply snapshot", 0, 3)
            affected = _replace_partner_view(uow, source, period, records, run_id)
            step("apply snapshot", 1, 3)
            if uow.is_postgres and staged and len(affected) > CLASSES_FROM:
                from hub.service_layer.finding_classes import judge_among

                affected = judge_among(uow, affected)  # only persons whose signature class can have findings
                report.method = "classes"
            ordered = sorted(affected)
            for i in range(0, len(ordered), RECHECK_BLOCK):  # a block at a time: memory of one block's views
                block = ordered[i:i + RECHECK_BLOCK]
                reconcile_persons(uow, book, block, caused_by={p: [run_id] for p in block})
                if len(ordered) > RECHECK_BLOCK:
                    uow.session.flush()
                    uow.flush()
            step("apply snapshot", 2, 3)
            _absences(uow, book, source, period, records, run_id)
            step("apply snapshot", 3, 3)
            finish(uow)
        return report
    except CompareRejected as e:
        _record_end(db, cid, "REJECTED", report, str(e))
        raise
    except Exception as e:
        _record_end(db, cid, "FAILED", report, repr(e))
        raise


def snapshot_file(directory: Path, given: str) -> Path | None:
    """The file ``given`` names under ``directory`` (relative to it, or absolute inside it), or None when it names
    nothing readable there: a missing file, a `..` component, a NUL, a path outside the directory, a symbolic link
    (anywhere along the path) that leads out of it, or a directory. Callers answer every None alike, so a refusal
    does not tell whether something exists outside the directory."""
    if not given or "\x00" in given or ".." in Path(given).parts:
        return None
    try:
        base = directory.resolve(strict=True)
        target = (base / given).resolve(strict=True)  # follows every symbolic link
    except (OSError, RuntimeError, ValueError):  # missing, a link loop, unreadable
        return None
    if not target.is_relative_to(base) or not target.is_file():
        return None
    return target


def _record_start(db, cid, source, period, path, digest, actor, exists: bool) -> None:
    with UnitOfWork(db, actor=actor) as uow:
        if exists and uow.session.get(ComparisonRow, cid) is not None:
            uow.session.execute(ComparisonRow.__table__.update().where(ComparisonRow.id == cid).values(
                status="RUNNING", file_sha256=digest))
        else:
            uow.session.add(ComparisonRow(id=cid, source=source, period=period, file_name=str(path), file_sha256=digest,
                                          status="RUNNING", actor=actor, started_at=uow.now))
        uow.commit()


def _record_end(db, cid, status, report: CompareReport, error: str) -> None:
    with UnitOfWork(db, actor="system") as uow:
        uow.session.execute(ComparisonRow.__table__.update().where(ComparisonRow.id == cid).values(
            status=status, finished_at=uow.now, error=error[:2000],
            summary=dumps({**report.summary(), "errors": [str(e) for e in report.bad_rows[:200]]})))
        uow.commit()


def _replace_partner_view(uow: UnitOfWork, source: str, period: str, records: list, run_id: str) -> set[str]:
    """Make the snapshot the source's view for the period; returns every person whose view changed.

    Only the rows that changed, came or went are rewritten (and their persons re-checked), as the staged paths
    do: a snapshot repeating the view leaves its rows, and the findings of their persons, as they were."""
    if source == POLICE:
        changed = _rewrite_changed(uow, PartnerIdentityRow, ("name", "gender", "birth_date", "status", "photo_sha256"),
                                   records, run_id)
        verify_identities(uow, {r.id_number: {"name": r.name, "status": r.status, "photo_sha256": r.photo_sha256} for r in records})
        return changed
    if source == HR:
        return _rewrite_changed(uow, PartnerEmploymentRow, ("name", "unit_code", "status", "effective_date", "rank"),
                                records, run_id)
    if source == INSURANCE:
        # one (latest) record per person: a newer period's record stays
        s = uow.session
        newer = set(s.execute(select(PartnerInsuranceRow.id_number).where(PartnerInsuranceRow.period > period)).scalars())
        return _rewrite_changed(uow, PartnerInsuranceRow, ("name", "employer_code", "period", "base_amount", "status"),
                                [r for r in records if r.id_number not in newer], run_id,
                                scope=PartnerInsuranceRow.period <= period)
    s, now = uow.session, uow.now
    # Finance: only persons whose lines for the period changed are rewritten and re-checked.
    old: dict[str, set] = defaultdict(set)
    for idn, unit, name, gross, paid in s.execute(select(
            PartnerPayrollRow.id_number, PartnerPayrollRow.unit_code, PartnerPayrollRow.name,
            PartnerPayrollRow.gross_amount, PartnerPayrollRow.paid).where(PartnerPayrollRow.period == period)):
        old[idn].add((unit, name, gross, bool(paid)))
    new: dict[str, set] = defaultdict(set)
    for r in records:
        new[r.id_number].add((r.unit_code, r.name, r.gross_amount, True))
    changed = {i for i in old.keys() | new.keys() if old.get(i) != new.get(i)}
    ordered = sorted(changed)
    for part in (ordered[i:i + 900] for i in range(0, len(ordered), 900)):
        s.execute(delete(PartnerPayrollRow).where(PartnerPayrollRow.period == period, any_of(s, PartnerPayrollRow.id_number, part)))
    bulk_insert(s, PartnerPayrollRow.__table__, ["id_number", "unit_code", "period", "name", "gross_amount", "paid", "event_id", "updated_at"],
                ((r.id_number, r.unit_code, period, r.name, r.gross_amount, True, run_id, now) for r in records if r.id_number in changed))
    return changed


def _rewrite_changed(uow: UnitOfWork, row_type, values: tuple[str, ...], records: list, run_id: str, *,
                     scope=None) -> set[str]:
    """Rewrite the rows (one per person) of a partner view — those within ``scope`` — that differ from the records
    (``values``: the columns a record sets besides id_number); returns the persons whose row changed, came or went."""
    s = uow.session
    q = select(row_type.id_number, *(getattr(row_type, c) for c in values))
    if scope is not None:
        q = q.where(scope)
    old = {idn: tuple(rest) for idn, *rest in s.execute(q)}
    new = {r.id_number: tuple(getattr(r, c) for c in values) for r in records}
    changed = {i for i in old.keys() | new.keys() if old.get(i) != new.get(i)}
    ordered = sorted(changed)
    for part in (ordered[i:i + 900] for i in range(0, len(ordered), 900)):
        d = delete(row_type).where(any_of(s, row_type.id_number, part))
        s.execute(d if scope is None else d.where(scope))
    bulk_insert(s, row_type.__table__, ["id_number", *values, "event_id", "updated_at"],
                ((i, *new[i], run_id, uow.now) for i in ordered if i in new))
    return changed


def _absences(uow: UnitOfWork, book: MismatchBook, source: str, period: str, records: list, run_id: str) -> None:
    """Raise and resolve the kinds that speak of an absence, which only a complete snapshot shows."""
    s = uow.session
    by_kind: dict[K, dict[tuple[str, str], dict]] = {}
    if source == POLICE:
        known = {r.id_number for r in records}
        by_kind[K.IDENTITY_UNKNOWN] = {
            (idn, unit or ""): {"expected": "known to police", "found": "absent from the police snapshot", "period": period}
            for idn, unit in s.execute(select(PersonRow.id_number, PostingRow.unit_code).outerjoin(
                PostingRow, (PostingRow.id_number == PersonRow.id_number) & PostingRow.active))
            if idn not in known}
    elif source == FINANCE:
        paid_by_person = defaultdict(set)
        paid_by_unit = defaultdict(set)
        for r in records:
            paid_by_person[r.id_number].add(r.unit_code)
            paid_by_unit[r.unit_code].add(r.id_number)
        unpaid = {}
        actual: dict[str, int] = defaultdict(int)
        funding: dict[str, str] = {}
        for idn, unit, fund in s.execute(select(PostingRow.id_number, PostingRow.unit_code, UnitRow.funding)
                                         .join(UnitRow, UnitRow.code == PostingRow.unit_code).where(PostingRow.active)):
            actual[unit] += 1
            if fund == "FULL" and idn not in paid_by_person:
                unpaid[(idn, unit)] = {"expected": "a payroll line", "found": "no pay in the finance snapshot", "period": period}
        by_kind[K.UNPAID_POSTING] = unpaid
        approved = dict(s.execute(select(QuotaRow.unit_code, func.sum(QuotaRow.approved)).group_by(QuotaRow.unit_code)).all())
        for code, fund in s.execute(select(UnitRow.code, UnitRow.funding)):
            funding[code] = fund
        recognised = non_establishment_pairs(s)
        inconsistent = {}
        for code, fund in funding.items():
            if not headcount_judged(fund):
                continue
            paid_here = paid_by_unit.get(code, ())
            other = sum(1 for i in paid_here if (i, code) in recognised)
            a, n, p = int(approved.get(code) or 0), actual.get(code, 0), len(paid_here) - other
            if not headcount_consistent(a, n, p):
                inconsistent[(code, code)] = {"period": period, "approved": a, "actual": n, "paid": p,
                                              **({"paid_non_establishment": other} if other else {})}
        by_kind[K.HEADCOUNT_INCONSISTENT] = inconsistent
    elif source == INSURANCE:
        active = {r.id_number for r in records if r.status == "ACTIVE"}
        by_kind[K.INSURANCE_MISSING] = {
            (idn, unit): {"expected": "an ACTIVE contribution", "found": "none in the insurance snapshot", "period": period}
            for idn, unit in s.execute(select(PostingRow.id_number, PostingRow.unit_code).where(PostingRow.active))
            if idn not in active}
    for kind, found in by_kind.items():
        open_rows = {(r.subject, r.unit_code): r for r in book.open_rows(kind)}
        for (subject, unit), details in found.items():
            book.raise_(kind, subject=subject, unit_code=unit, source=source, details=details, caused_by=[run_id],
                        existing=open_rows.get((subject, unit)), lookup=False)
        for key, row in open_rows.items():
            if key not in found:
                book.resolve(row, caused_by=[run_id])


# A pay line ``n`` (a snapshot's or the finance view's) paid outside the establishment: ``non_establishment_pairs``
# in SQL, for the staged comparison and the headcount query.
OUTSIDE = """(NOT EXISTS (SELECT 1 FROM postings a WHERE a.id_number = n.id_number AND a.active)
              AND EXISTS (SELECT 1 FROM non_establishment_staff ne WHERE ne.id_number = n.id_number
                                                                     AND ne.unit_code = n.unit_code AND ne.active))"""


def non_establishment_pairs(s) -> set[tuple[str, str]]:
    """(person, unit) whose pay from the unit is outside the establishment (三数一致 counts it apart): an active 编外
    entry of the unit (staff, or a retiree's pension) for a person without an active posting (``person_findings``
    does not call that pay a ghost). ``OUTSIDE`` says the same in SQL."""
    posted = select(PostingRow.id_number).where(PostingRow.active)
    return set(s.execute(select(NonEstablishmentRow.id_number, NonEstablishmentRow.unit_code)
                         .where(NonEstablishmentRow.active, NonEstablishmentRow.id_number.not_in(posted))).all())


def headcount_facts(s, units, period: str, today) -> dict[str, tuple[int, int, int, int]]:
    """The facts 三数一致 judges, per unit of ``units`` (rows): approved, actual, paid in ``period`` (finance's view) and
    paid outside the establishment — for ``headcountConsistency`` and the report; the domain judges them."""
    from hub.service_layer.establishment import establishments

    codes = [u.code for u in units]
    est = establishments(s, codes, today=today, leaders=False)
    paid, other = {}, {}
    for code, p, o in s.execute(text(
            f"SELECT n.unit_code, count(DISTINCT n.id_number) FILTER (WHERE NOT {OUTSIDE}),"
            f" count(DISTINCT n.id_number) FILTER (WHERE {OUTSIDE})"
            " FROM partner_payroll n WHERE n.period = :p AND n.paid GROUP BY n.unit_code"), {"p": period}):
        paid[code], other[code] = p, o
    return {c: (sum(est[c].approved.values()), sum(est[c].used.values()), paid.get(c, 0), other.get(c, 0)) for c in codes}


def _still_open(uow: UnitOfWork) -> dict[str, int]:
    return dict(uow.session.execute(select(MismatchRow.kind, func.count()).where(MismatchRow.status == "OPEN")
                                    .group_by(MismatchRow.kind)).all())


def export_roster(db: Database, *, period: str, for_: str, out) -> int:
    """Write the registry's roster for a partner: who should be paid (finance) or insured (insurance) by which unit."""
    if not PERIOD.match(period or ""):
        raise ValueError(f"period {period!r} must be YYYY-MM")
    if for_ not in (FINANCE, INSURANCE):
        raise ValueError("--for must be finance or insurance")
    w = csv_safe.writer(out)
    n = 0
    with db.read_session() as s:
        q = (select(PostingRow.id_number, PersonRow.name, PostingRow.unit_code, UnitRow.name, UnitRow.funding, PostingRow.category)
             .join(PersonRow, PersonRow.id_number == PostingRow.id_number).join(UnitRow, UnitRow.code == PostingRow.unit_code)
             .where(PostingRow.active).order_by(PostingRow.unit_code, PostingRow.id_number))
        if for_ == FINANCE:
            q = q.where(UnitRow.funding.in_(FISCAL_FUNDING))
            w.writerow(["id_number", "name", "unit_code", "unit_name", "funding", "category", "period"])
        else:
            w.writerow(["id_number", "name", "employer_code", "unit_name", "funding", "category", "period"])
        for row in s.execute(q.execution_options(yield_per=5000)):
            w.writerow([*row, period])
            n += 1
    return n
