"""Bulk import of a registry from the CSV files of contract section 5 (`hub import DIR`).

All-or-nothing: every file is read and every row validated first; any bad row is reported with file, line and
reason and nothing is written. A clean load is written in one transaction together with its versions, outbox
events and one operation-log entry; then the quota, leadership and retirement checks run on what was loaded.
Legacy data may already be over quota: it is accepted and OVER_QUOTA / LEADERSHIP_OVER_QUOTA are opened.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

from sqlalchemy import select

from hub.adapters.bulk import bulk_insert
from hub.adapters.database import Database
from hub.adapters.jsonutil import dumps
from hub.adapters.orm import (
    LeaderQuotaRow,
    LeaderQuotaVersionRow,
    OutboxRow,
    PersonRow,
    PersonVersionRow,
    PostingRow,
    QuotaRow,
    QuotaVersionRow,
    UnitRow,
    UnitVersionRow,
)
from hub.adapters.outbox import UPDATES_TOPIC, cloud_event
from hub.domain.identifiers import InvalidIdentifier, parse_id_number, parse_unit_code
from hub.domain.registry import Person, Unit
from hub.domain.vocabulary import LeaderRank, QuotaCategory, UnitStatus
from hub.service_layer import registry_checks
from hub.service_layer.mismatches import MismatchBook, MismatchTally
from hub.service_layer.reconcile import partner_known_ids, reconcile_persons
from hub.service_layer.unit_of_work import UnitOfWork

FILES = {
    "units.csv": ["code", "name", "kind", "level", "region_code", "parent_code", "funding"],
    "quotas.csv": ["unit_code", "category", "approved"],
    "leader_quotas.csv": ["unit_code", "rank", "approved"],
    "persons.csv": ["id_number", "name", "gender", "birth_date", "education"],
    "postings.csv": ["id_number", "unit_code", "category", "leader_rank", "start_date"],
}

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class RowError:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass
class ImportReport:
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    mismatches: MismatchTally = field(default_factory=MismatchTally)


class ImportRejected(Exception):
    """The files had bad rows; nothing was written."""

    def __init__(self, report: ImportReport):
        super().__init__(f"{len(report.errors)} bad rows; nothing imported")
        self.report = report


def _parse_date(raw: str, what: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except (ValueError, AttributeError):
        raise ValueError(f"{what} {raw!r} is not a date YYYY-MM-DD") from None


def _parse_count(raw: str) -> int:
    try:
        n = int(raw.strip())
    except (ValueError, AttributeError):
        raise ValueError(f"approved {raw!r} is not a whole number") from None
    if n < 0:
        raise ValueError(f"approved {n} must be zero or more")
    return n


def _read(path: Path, report: ImportReport):
    """Yield (line, row dict) for a CSV file; header problems are reported as line 1."""
    name = path.name
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in FILES[name] if c not in header]
        if missing:
            report.errors.append(RowError(name, 1, f"header lacks column(s): {', '.join(missing)}"))
            return
        reader.fieldnames = header
        for row in reader:
            if None in row:
                report.errors.append(RowError(name, reader.line_num, "more fields than the header has"))
                continue
            yield reader.line_num, {k: (v or "").strip() for k, v in row.items()}


@dataclass
class _Loaded:
    units: list[Unit] = field(default_factory=list)
    quotas: list[tuple[str, str, int]] = field(default_factory=list)
    leader_quotas: list[tuple[str, str, int]] = field(default_factory=list)
    persons: list[Person] = field(default_factory=list)
    postings: list[tuple[str, str, str, str | None, date]] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)


def _validate(db: Database, directory: Path, report: ImportReport, progress: Progress | None) -> _Loaded:
    present = [n for n in FILES if (directory / n).is_file()]
    if not present:
        report.errors.append(RowError(str(directory), 0, f"no registry CSV files found (expected any of {', '.join(FILES)})"))
        return _Loaded()
    out = _Loaded()
    for n in present:
        out.digests[n] = hashlib.sha256((directory / n).read_bytes()).hexdigest()
    err = report.errors.append

    with db.read_session() as s:
        known_units = set(s.execute(select(UnitRow.code)).scalars())
        known_persons = set(s.execute(select(PersonRow.id_number)).scalars())
        posted = set(s.execute(select(PostingRow.id_number).where(PostingRow.active)).scalars())
        known_quotas = {tuple(r) for r in s.execute(select(QuotaRow.unit_code, QuotaRow.category))}
        known_leader_quotas = {tuple(r) for r in s.execute(select(LeaderQuotaRow.unit_code, LeaderQuotaRow.rank))}

    # units
    file_units: dict[str, int] = {}
    parents: list[tuple[int, Unit]] = []
    if "units.csv" in present:
        for line, r in _read(directory / "units.csv", report):
            try:
                u = Unit.new(code=r["code"], name=r["name"], kind=r["kind"], level=r["level"],
                             region_code=r["region_code"], funding=r["funding"], parent_code=r["parent_code"] or None)
            except ValueError as e:
                err(RowError("units.csv", line, str(e)))
                continue
            if u.code in known_units:
                err(RowError("units.csv", line, f"unit {u.code} is already in the registry"))
                continue
            if u.code in file_units:
                err(RowError("units.csv", line, f"unit {u.code} appears twice (first on line {file_units[u.code]})"))
                continue
            file_units[u.code] = line
            out.units.append(u)
            parents.append((line, u))
    all_units = known_units | set(file_units)
    for line, u in parents:
        if u.parent_code and u.parent_code not in all_units:
            err(RowError("units.csv", line, f"parent unit {u.parent_code} is unknown"))
    out.units = _parents_first(out.units, known_units, report, file_units)

    def unit_ref(file: str, line: int, raw: str) -> str | None:
        try:
            code = parse_unit_code(raw)
        except InvalidIdentifier as e:
            err(RowError(file, line, str(e)))
            return None
        if code not in all_units:
            err(RowError(file, line, f"unknown unit {code}"))
            return None
        return code

    for fname, vocab, what, known, target in (
        ("quotas.csv", QuotaCategory, "category", known_quotas, out.quotas),
        ("leader_quotas.csv", LeaderRank, "rank", known_leader_quotas, out.leader_quotas),
    ):
        if fname not in present:
            continue
        seen: dict[tuple[str, str], int] = {}
        col = "category" if fname == "quotas.csv" else "rank"
        for line, r in _read(directory / fname, report):
            code = unit_ref(fname, line, r["unit_code"])
            try:
                value = vocab.parse(r[col], f"quota {what}" if what == "category" else "leader rank")
                approved = _parse_count(r["approved"])
            except ValueError as e:
                err(RowError(fname, line, str(e)))
                continue
            if code is None:
                continue
            key = (code, value.value)
            if key in known:
                err(RowError(fname, line, f"{what} {value.value} of unit {code} is already set in the registry"))
            elif key in seen:
                err(RowError(fname, line, f"{what} {value.value} of unit {code} appears twice (first on line {seen[key]})"))
            else:
                seen[key] = line
                target.append((code, value.value, approved))

    # persons
    file_persons: dict[str, tuple[int, Person]] = {}
    if "persons.csv" in present:
        for line, r in _read(directory / "persons.csv", report):
            try:
                birth = _parse_date(r["birth_date"], "birth date") if r["birth_date"] else None
                p = Person.new(id_number=r["id_number"], name=r["name"], gender=r["gender"] or None,
                               birth_date=birth, education=r["education"] or None)
            except ValueError as e:
                err(RowError("persons.csv", line, str(e)))
                continue
            if p.id_number in known_persons:
                err(RowError("persons.csv", line, f"person {p.id_number} is already in the registry"))
            elif p.id_number in file_persons:
                err(RowError("persons.csv", line, f"person {p.id_number} appears twice (first on line {file_persons[p.id_number][0]})"))
            else:
                file_persons[p.id_number] = (line, p)
                out.persons.append(p)
            if progress and line % 5000 == 0:
                progress("validate persons", line, 0)

    # postings
    if "postings.csv" in present:
        posted_in_file: dict[str, int] = {}
        for line, r in _read(directory / "postings.csv", report):
            try:
                idn = parse_id_number(r["id_number"]).value
            except InvalidIdentifier as e:
                err(RowError("postings.csv", line, str(e)))
                continue
            code = unit_ref("postings.csv", line, r["unit_code"])
            try:
                cat = QuotaCategory.parse(r["category"], "quota category")
                rank = LeaderRank.parse(r["leader_rank"], "leader rank") if r["leader_rank"] else None
                start = _parse_date(r["start_date"], "start date")
            except ValueError as e:
                err(RowError("postings.csv", line, str(e)))
                continue
            if idn not in known_persons and idn not in file_persons:
                err(RowError("postings.csv", line, f"unknown person {idn}"))
                continue
            if idn in posted:
                err(RowError("postings.csv", line, f"person {idn} is posted twice: already holds an active posting in the registry"))
                continue
            if idn in posted_in_file:
                err(RowError("postings.csv", line, f"person {idn} is posted twice (first on line {posted_in_file[idn]})"))
                continue
            birth = file_persons[idn][1].birth_date if idn in file_persons else parse_id_number(idn).birth_date
            if start < birth:
                err(RowError("postings.csv", line, f"start date {start} is before the person's birth date {birth}"))
                continue
            posted_in_file[idn] = line
            if code is None:
                continue
            out.postings.append((idn, code, cat.value, rank.value if rank else None, start))
            if progress and line % 5000 == 0:
                progress("validate postings", line, 0)
    return out


def _parents_first(units: list[Unit], known: set[str], report: ImportReport, lines: dict[str, int]) -> list[Unit]:
    """Order units so every parent is inserted before its children; report cycles."""
    by_code = {u.code: u for u in units}
    done = set(known)
    ordered: list[Unit] = []
    visiting: set[str] = set()

    def visit(u: Unit) -> None:
        if u.code in done:
            return
        if u.code in visiting:
            report.errors.append(RowError("units.csv", lines[u.code], f"unit {u.code} is its own ancestor (parent cycle)"))
            done.add(u.code)
            return
        visiting.add(u.code)
        if u.parent_code in by_code:
            visit(by_code[u.parent_code])
        visiting.discard(u.code)
        done.add(u.code)
        ordered.append(u)

    for u in units:
        visit(u)
    return ordered


def import_registry(db: Database, directory: Path, *, actor: str = "cli", progress: Progress | None = None,
                    today: date | None = None) -> ImportReport:
    """Validate and load the registry CSVs in ``directory``; raises ImportRejected (nothing written) on bad rows."""
    directory = Path(directory)
    report = ImportReport()
    loaded = _validate(db, directory, report, progress)
    if report.errors:
        raise ImportRejected(report)

    with UnitOfWork(db, actor=actor) as uow:
        now, s = uow.now, uow.session
        day = today or now.date()
        events: list[tuple[str, str | None, dict]] = []

        def ev(key: str, type_: str, subject: str, data: dict) -> None:
            events.append((UPDATES_TOPIC, key, cloud_event(type=type_, subject=subject, data=data, now=now)))

        step = lambda stage, n, total: progress and progress(stage, n, total)  # noqa: E731
        step("units", 0, len(loaded.units))
        bulk_insert(s, UnitRow.__table__, ["code", "name", "kind", "level", "region_code", "parent_code", "funding", "status", "established_on"],
                    ((u.code, u.name, u.kind.value, u.level.value, u.region_code, u.parent_code, u.funding.value, UnitStatus.ACTIVE.value, day) for u in loaded.units))
        bulk_insert(s, UnitVersionRow.__table__, ["unit_code", "valid_from", "name", "kind", "level", "region_code", "parent_code", "funding", "status", "document_number", "recorded_at"],
                    ((u.code, day, u.name, u.kind.value, u.level.value, u.region_code, u.parent_code, u.funding.value, UnitStatus.ACTIVE.value, "import", now) for u in loaded.units))
        for u in loaded.units:
            ev(u.code, "gov.registry.unit.created", u.code, {"code": u.code, "name": u.name, "kind": u.kind.value, "level": u.level.value,
               "region_code": u.region_code, "parent_code": u.parent_code, "funding": u.funding.value, "status": "ACTIVE"})
        step("units", len(loaded.units), len(loaded.units))

        for table, vtable, col, rows, type_ in (
            (QuotaRow, QuotaVersionRow, "category", loaded.quotas, "gov.registry.quota.changed"),
            (LeaderQuotaRow, LeaderQuotaVersionRow, "rank", loaded.leader_quotas, "gov.registry.leader_quota.changed"),
        ):
            bulk_insert(s, table.__table__, ["unit_code", col, "approved", "document_number", "effective_date"],
                        ((c, v, n, "import", day) for c, v, n in rows))
            bulk_insert(s, vtable.__table__, ["unit_code", col, "approved", "document_number", "valid_from", "recorded_at"],
                        ((c, v, n, "import", day, now) for c, v, n in rows))
            for c, v, n in rows:
                ev(c, type_, c, {"unit_code": c, col: v, "approved": n, "document_number": "import", "effective_date": day.isoformat()})

        total = len(loaded.persons)
        step("persons", 0, total)
        bulk_insert(s, PersonRow.__table__, ["id_number", "name", "gender", "birth_date", "education"],
                    ((p.id_number, p.name, p.gender.value, p.birth_date, p.education.value if p.education else None) for p in loaded.persons))
        bulk_insert(s, PersonVersionRow.__table__, ["id_number", "valid_from", "name", "gender", "birth_date", "education", "recorded_at"],
                    ((p.id_number, day, p.name, p.gender.value, p.birth_date, p.education.value if p.education else None, now) for p in loaded.persons))
        for i, p in enumerate(loaded.persons, 1):
            ev(p.id_number, "gov.registry.person.created", p.id_number,
               {"id_number": p.id_number, "name": p.name, "gender": p.gender.value, "birth_date": p.birth_date.isoformat(),
                "education": p.education.value if p.education else None})
            if i % 20000 == 0:
                step("persons", i, total)
        step("persons", total, total)

        total = len(loaded.postings)
        step("postings", 0, total)
        bulk_insert(s, PostingRow.__table__, ["id_number", "unit_code", "category", "leader_rank", "start_date", "active"],
                    ((i, u, c, r, d, True) for i, u, c, r, d in loaded.postings))
        ids = dict(s.execute(select(PostingRow.id_number, PostingRow.id).where(PostingRow.active)).all()) if loaded.postings else {}
        for n, (idn, unit, cat, rank, start) in enumerate(loaded.postings, 1):
            pid = ids[idn]
            ev(str(pid), "gov.registry.posting.started", idn,
               {"posting_id": pid, "id_number": idn, "unit_code": unit, "category": cat, "leader_rank": rank,
                "start_date": start.isoformat(), "end_date": None, "end_reason": None, "active": True})
            if n % 20000 == 0:
                step("postings", n, total)
        step("postings", total, total)

        step("outbox", 0, len(events))
        bulk_insert(s, OutboxRow.__table__, ["topic", "key", "value", "created_at"],
                    ((t, k, dumps(e), now) for t, k, e in events))
        step("outbox", len(events), len(events))

        report.counts = {"units": len(loaded.units), "quotas": len(loaded.quotas), "leader_quotas": len(loaded.leader_quotas),
                         "persons": len(loaded.persons), "postings": len(loaded.postings), "events": len(events)}
        uow.record("registry.import", "import", str(directory), after={"counts": report.counts, "files": loaded.digests})

        step("checks", 0, 1)
        book = MismatchBook(uow, report.mismatches)
        touched_units = {u for _, u, *_ in loaded.postings} | {c for c, *_ in loaded.quotas} | {c for c, *_ in loaded.leader_quotas}
        registry_checks.recheck_unit_quotas(uow, book, touched_units or set())
        registry_checks.recheck_retirement(uow, book, day, {p[0] for p in loaded.postings} if len(loaded.postings) < 5000 else None)
        # Reconciliation runs both ways: imported persons the partners already report on are re-checked now.
        reconcile_persons(uow, book, partner_known_ids(uow, {p.id_number for p in loaded.persons} | {p[0] for p in loaded.postings}))
        step("checks", 1, 1)
        uow.commit()
    return report
