"""Bulk import of a registry from the CSV files of contract section 5 (`hub import DIR`).

All-or-nothing: every file is read and every row validated first; any bad row is reported with file, line and
reason and nothing is written. A clean load is written in one transaction together with its versions, outbox
events and one operation-log entry; then the quota, leadership and retirement checks run on what was loaded.
Legacy data may already be over quota: it is accepted and OVER_QUOTA / LEADERSHIP_OVER_QUOTA are opened.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

from sqlalchemy import text, select

from hub.adapters.bulk import bulk_insert
from hub.adapters.csv_rows import CsvRows, UnreadableCsv
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
from hub.contract.cloudevents import cloud_event_format, cloud_event_template, event_ids, json_string, slot
from hub.contract.topics import UPDATES_TOPIC
from hub.adapters.text_files import XLSX, UnreadableText, decode, workbook_csv
from hub.domain.identifiers import IdNumberChecks, InvalidIdentifier, parse_id_number, parse_unit_code
from hub.domain.registry import Person, Unit, leader_rank_fits_grade
from hub.domain.vocabulary import Education, LeaderRank, QuotaCategory, UnitStatus
from hub.domain.workflows import NAME_MAX, bounded
from hub.service_layer import registry_checks
from hub.service_layer.mismatches import MismatchBook, MismatchTally
from hub.service_layer.reconcile import lock_persons, partner_known_ids, reconcile_persons
from hub.service_layer.registry_changes import person_data, posting_data, unit_data
from hub.service_layer.unit_of_work import UnitOfWork

FILES = {
    "units.csv": ["code", "name", "kind", "level", "region_code", "parent_code", "funding"],
    "quotas.csv": ["unit_code", "category", "approved"],
    "leader_quotas.csv": ["unit_code", "rank", "approved"],
    "persons.csv": ["id_number", "name", "gender", "birth_date", "education"],
    "postings.csv": ["id_number", "unit_code", "category", "leader_rank", "start_date"],
}

# Columns a file may have (issue 19: 机构规格, 参公, 事业单位分类, 派出机构); empty when absent.
OPTIONAL = {"units.csv": ["grade", "civil_service_managed", "classification", "dispatched"]}
_TRUE, _FALSE = ("true", "1", "yes", "是"), ("false", "0", "no", "否", "")

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class BadImportRow:
    """A row of an import file that was not imported (or a whole file: line 0, a header problem: line 1) and why."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass
class ImportReport:
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[BadImportRow] = field(default_factory=list)
    mismatches: MismatchTally = field(default_factory=MismatchTally)
    encodings: dict[str, str] = field(default_factory=dict)  # file name -> encoding read (hub.adapters.text_files)


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


def _read(path: Path, report: ImportReport, loaded: "_Loaded"):
    """Yield (line, [stripped value of each FILES column, then each OPTIONAL one]) for a CSV file, read by the one
    CSV policy (``hub.adapters.csv_rows``); header problems are reported as line 1, rows with more or fewer fields
    than the header as bad rows.

    The file's text is the one ``_validate`` decoded (UTF-8 or GB18030); an undecodable file yields nothing.
    """
    name = path.name
    content = loaded.texts.pop(name, None)
    if content is None:
        return
    try:
        rows = CsvRows(content, name, FILES[name], OPTIONAL.get(name, ()))
    except UnreadableCsv as e:
        report.errors.append(BadImportRow(name, 1, str(e).removeprefix(f"{name}, line 1: ")))
        return
    del content
    if rows.missing:
        report.errors.append(BadImportRow(name, 1, f"header lacks column(s): {', '.join(rows.missing)}"))
        return
    try:
        for line, values, problem in rows:
            if problem:
                report.errors.append(BadImportRow(name, line, problem))
                continue
            yield line, values
    except UnreadableCsv as e:
        report.errors.append(BadImportRow(name, rows.line, str(e).removeprefix(f"{name}, line {rows.line}: ")))


@dataclass
class _Loaded:
    units: list[Unit] = field(default_factory=list)
    quotas: list[tuple[str, str, int]] = field(default_factory=list)
    leader_quotas: list[tuple[str, str, int]] = field(default_factory=list)
    # (id_number, name, gender, birth_date, education or None)
    persons: list[tuple[str, str, str, date, str | None]] = field(default_factory=list)
    # (id_number, unit_code, category, leader_rank or None, start_date)
    postings: list[tuple[str, str, str, str | None, date]] = field(default_factory=list)
    digests: dict[str, str] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)  # file name -> decoded text, until read


def _workbook(directory: Path, name: str) -> Path:
    """``units.xlsx`` for ``units.csv``: the Excel workbook a file may come as instead."""
    return directory / f"{name.removesuffix('.csv')}.xlsx"


def _validate(db: Database, directory: Path, report: ImportReport, progress: Progress | None) -> _Loaded:
    present = [n for n in FILES if (directory / n).is_file() or _workbook(directory, n).is_file()]
    if not present:
        report.errors.append(BadImportRow(str(directory), 0, f"no registry CSV files found (expected any of {', '.join(FILES)}, "
                                                         "or .xlsx workbooks of the same names)"))
        return _Loaded()
    out = _Loaded()
    err = report.errors.append
    for n in present:
        path = directory / n if (directory / n).is_file() else _workbook(directory, n)
        raw = path.read_bytes()
        out.digests[path.name] = hashlib.sha256(raw).hexdigest()
        try:
            if path.suffix == ".xlsx":
                out.texts[n], report.encodings[path.name] = workbook_csv(raw, path.name), XLSX
                continue
            decoded = decode(raw, n)
        except UnreadableText as e:
            err(BadImportRow(path.name, e.line, str(e).removeprefix(f"{path.name}: line {e.line}, ")))
            continue
        del raw
        out.texts[n], report.encodings[n] = decoded.text, decoded.encoding

    with db.read_session() as s:
        known_units = set(s.execute(select(UnitRow.code)).scalars())
        known_grades = dict(s.execute(select(UnitRow.code, UnitRow.grade).where(UnitRow.grade.is_not(None))).all())
        known_persons = set(s.execute(select(PersonRow.id_number)).scalars())
        posted = set(s.execute(select(PostingRow.id_number).where(PostingRow.active)).scalars())
        known_quotas = {tuple(r) for r in s.execute(select(QuotaRow.unit_code, QuotaRow.category))}
        known_leader_quotas = {tuple(r) for r in s.execute(select(LeaderQuotaRow.unit_code, LeaderQuotaRow.rank))}

    # units
    file_units: dict[str, int] = {}
    parents: list[tuple[int, Unit]] = []
    if "units.csv" in present:
        for line, (code, name, kind, level, region_code, parent_code, funding, grade, managed, classification,
                   dispatched) in _read(directory / "units.csv", report, out):
            try:
                if managed.lower() not in _TRUE + _FALSE:
                    raise ValueError(f"civil_service_managed {managed!r} is not true or false")
                u = Unit.new(code=code, name=name, kind=kind, level=level,
                             region_code=region_code, funding=funding, parent_code=parent_code or None,
                             grade=grade or None, civil_service_managed=managed.lower() in _TRUE,
                             classification=classification or None, dispatched=dispatched or None)
            except ValueError as e:
                err(BadImportRow("units.csv", line, str(e)))
                continue
            if u.code in known_units:
                err(BadImportRow("units.csv", line, f"unit {u.code} is already in the registry"))
                continue
            if u.code in file_units:
                err(BadImportRow("units.csv", line, f"unit {u.code} appears twice (first on line {file_units[u.code]})"))
                continue
            file_units[u.code] = line
            out.units.append(u)
            parents.append((line, u))
    all_units = known_units | set(file_units)
    grades = {**known_grades, **{u.code: u.grade.value for u in out.units if u.grade}}
    for line, u in parents:
        if u.parent_code and u.parent_code not in all_units:
            err(BadImportRow("units.csv", line, f"parent unit {u.parent_code} is unknown"))
    out.units = _parents_first(out.units, known_units, report, file_units)

    def unit_ref(file: str, line: int, raw: str) -> str | None:
        try:
            code = parse_unit_code(raw)
        except InvalidIdentifier as e:
            err(BadImportRow(file, line, str(e)))
            return None
        if code not in all_units:
            err(BadImportRow(file, line, f"unknown unit {code}"))
            return None
        return code

    for fname, vocab, what, known, target in (
        ("quotas.csv", QuotaCategory, "category", known_quotas, out.quotas),
        ("leader_quotas.csv", LeaderRank, "rank", known_leader_quotas, out.leader_quotas),
    ):
        if fname not in present:
            continue
        seen: dict[tuple[str, str], int] = {}
        for line, (unit_code, raw_value, raw_approved) in _read(directory / fname, report, out):
            code = unit_ref(fname, line, unit_code)
            try:
                value = vocab.parse(raw_value, f"quota {what}" if what == "category" else "leader rank")
                approved = _parse_count(raw_approved)
            except ValueError as e:
                err(BadImportRow(fname, line, str(e)))
                continue
            if code is None:
                continue
            if what == "rank" and approved > 0 and not leader_rank_fits_grade(grades.get(code), value):
                err(BadImportRow(fname, line, f"a {value.value} position does not fit unit {code} of grade {grades[code]} (机构规格)"))
                continue
            key = (code, value.value)
            if key in known:
                err(BadImportRow(fname, line, f"{what} {value.value} of unit {code} is already set in the registry"))
            elif key in seen:
                err(BadImportRow(fname, line, f"{what} {value.value} of unit {code} appears twice (first on line {seen[key]})"))
            else:
                seen[key] = line
                target.append((code, value.value, approved))

    # persons and postings: the hot loops. Plainly valid rows take quick, memoised checks; any row that does not
    # is run through the domain's own parsers (Person.new, parse_id_number, _Vocab.parse, _parse_date), which
    # decide and give the error message, so verdicts and messages are those of the domain.
    ids = IdNumberChecks()
    educations = frozenset(e.value for e in Education)
    categories = frozenset(c.value for c in QuotaCategory)
    ranks = frozenset(r.value for r in LeaderRank)
    file_persons: dict[str, tuple[int, date]] = {}  # id_number → (line, birth date)
    if "persons.csv" in present:
        persons = out.persons
        for line, (raw_id, name, gender, raw_birth, education) in _read(directory / "persons.csv", report, out):
            v = raw_id.upper()
            quick = ids.check(v)
            if (quick is not None and name and len(name) <= NAME_MAX and name.isprintable() and (not gender or gender == quick[2])
                    and (not raw_birth or raw_birth == quick[1]) and (not education or education in educations)):
                p = (v, name, quick[2], quick[0], education or None)
            else:
                try:
                    birth = _parse_date(raw_birth, "birth date") if raw_birth else None
                    person = Person.new(id_number=raw_id, name=name, gender=gender or None,
                                        birth_date=birth, education=education or None)
                    bounded(person.name, "person's name", NAME_MAX)  # the registry keeps 100 characters
                except ValueError as e:
                    err(BadImportRow("persons.csv", line, str(e)))
                    continue
                p = (person.id_number, person.name, person.gender.value, person.birth_date,
                     person.education.value if person.education else None)
            idn = p[0]
            if idn in known_persons:
                err(BadImportRow("persons.csv", line, f"person {idn} is already in the registry"))
            elif idn in file_persons:
                err(BadImportRow("persons.csv", line, f"person {idn} appears twice (first on line {file_persons[idn][0]})"))
            else:
                file_persons[idn] = (line, p[3])
                persons.append(p)
            if progress and line % 5000 == 0:
                progress("validate persons", line, 0)

    if "postings.csv" in present:
        posted_in_file: dict[str, int] = {}
        units_seen: dict[str, str] = {}  # raw unit code → known unit code
        dates: dict[str, date] = {}  # raw start date → date
        postings = out.postings
        for line, (raw_id, raw_unit, raw_category, raw_rank, raw_start) in _read(directory / "postings.csv", report, out):
            idn = raw_id.upper()
            if idn not in file_persons:  # else validated on its persons.csv line
                if ids.check(idn) is None:
                    try:
                        idn = parse_id_number(raw_id).value
                    except InvalidIdentifier as e:
                        err(BadImportRow("postings.csv", line, str(e)))
                        continue
            code = units_seen.get(raw_unit)
            if code is None:
                code = unit_ref("postings.csv", line, raw_unit)
                if code is not None:
                    units_seen[raw_unit] = code
            try:
                cat = raw_category if raw_category in categories else QuotaCategory.parse(raw_category, "quota category").value
                if not raw_rank:
                    rank = None
                else:
                    rank = raw_rank if raw_rank in ranks else LeaderRank.parse(raw_rank, "leader rank").value
                start = dates.get(raw_start)
                if start is None:
                    start = dates[raw_start] = _parse_date(raw_start, "start date")
            except ValueError as e:
                err(BadImportRow("postings.csv", line, str(e)))
                continue
            if rank and code is not None and not leader_rank_fits_grade(grades.get(code), rank):
                err(BadImportRow("postings.csv", line, f"a {rank} leader does not fit unit {code} of grade {grades[code]} (机构规格)"))
                continue
            if idn not in known_persons and idn not in file_persons:
                err(BadImportRow("postings.csv", line, f"unknown person {idn}"))
                continue
            if idn in posted:
                err(BadImportRow("postings.csv", line, f"person {idn} is posted twice: already holds an active posting in the registry"))
                continue
            if idn in posted_in_file:
                err(BadImportRow("postings.csv", line, f"person {idn} is posted twice (first on line {posted_in_file[idn]})"))
                continue
            if idn in file_persons:
                birth = file_persons[idn][1]
            else:  # a person already in the registry
                quick = ids.check(idn)
                birth = quick[0] if quick is not None else parse_id_number(idn).birth_date
            if start < birth:
                err(BadImportRow("postings.csv", line, f"start date {start} is before the person's birth date {birth}"))
                continue
            posted_in_file[idn] = line
            if code is None:
                continue
            postings.append((idn, code, cat, rank, start))
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
            report.errors.append(BadImportRow("units.csv", lines[u.code], f"unit {u.code} is its own ancestor (parent cycle)"))
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


def _posting_ids(session, n: int) -> list[int] | None:
    """On PostgreSQL, ``n`` new ids drawn from the postings' id sequence, in order (what COPY would have drawn).

    Knowing them up front saves reading every new posting back to learn its id. None elsewhere: there the ids
    are read back after the insert.
    """
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return None
    if not n:
        return []
    with conn.connection.dbapi_connection.cursor() as cur:
        cur.execute("SELECT pg_get_serial_sequence('postings', 'id')")
        seq = cur.fetchone()[0]
        cur.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", (seq, n))
        return sorted(r[0] for r in cur.fetchall())


def import_registry(db: Database, directory: Path, *, actor: str = "cli", progress: Progress | None = None,
                    today: date | None = None, committed: Callable[[], None] | None = None) -> ImportReport:
    """Validate and load the registry CSVs in ``directory``; raises ImportRejected (nothing written) on bad rows.
    ``committed`` is called the moment the import is committed (what follows, PostgreSQL's ANALYZE, can take seconds:
    a Ctrl-C there must not be told that nothing was imported)."""
    directory = Path(directory)
    report = ImportReport()
    loaded = _validate(db, directory, report, progress)
    if report.errors:
        workbooks = {f"{n.removesuffix('.xlsx')}.csv": n for n, e in report.encodings.items() if e == XLSX}
        report.errors = [BadImportRow(workbooks.get(e.file, e.file), e.line, e.reason) for e in report.errors]
        raise ImportRejected(report)
    units, quotas, leader_quotas, persons, postings = (loaded.units, loaded.quotas, loaded.leader_quotas,
                                                       loaded.persons, loaded.postings)
    events = len(units) + len(quotas) + len(leader_quotas) + len(persons) + len(postings)

    with UnitOfWork(db, actor=actor) as uow:
        now, s = uow.now, uow.session
        day = today or uow.today
        # The reconciliation locks first, before any row is written (the order every writer keeps: no deadlocks
        # with connectors, which lock a person and then write the person's row or partner views).
        touched_persons = {p[0] for p in persons} | {p[0] for p in postings}
        lock_persons(uow, sorted(touched_persons))
        step = lambda stage, n, total: progress and progress(stage, n, total)  # noqa: E731
        # Every large table is streamed from generators straight into bulk_insert (COPY on PostgreSQL).

        step("units", 0, len(units))
        params = ["grade", "civil_service_managed", "classification", "dispatched"]
        par = lambda u: (u.grade and u.grade.value, u.civil_service_managed, u.classification and u.classification.value,  # noqa: E731
                         u.dispatched and u.dispatched.value)
        bulk_insert(s, UnitRow.__table__, list(_UNIT_COLUMNS), (_unit_values(u, day) for u in units))
        bulk_insert(s, UnitVersionRow.__table__, ["unit_code", "valid_from", "name", "kind", "level", "region_code", "parent_code", "funding", "status", "document_number", "recorded_at", *params],
                    ((u.code, day, u.name, u.kind.value, u.level.value, u.region_code, u.parent_code, u.funding.value, UnitStatus.ACTIVE.value, "import", now, *par(u)) for u in units))
        for table, vtable, col, rows in ((QuotaRow, QuotaVersionRow, "category", quotas),
                                         (LeaderQuotaRow, LeaderQuotaVersionRow, "rank", leader_quotas)):
            bulk_insert(s, table.__table__, ["unit_code", col, "approved", "document_number", "effective_date"],
                        ((c, v, n, "import", day) for c, v, n in rows))
            bulk_insert(s, vtable.__table__, ["unit_code", col, "approved", "document_number", "valid_from", "recorded_at"],
                        ((c, v, n, "import", day, now) for c, v, n in rows))
        step("units", len(units), len(units))

        step("persons", 0, len(persons))
        bulk_insert(s, PersonRow.__table__, ["id_number", "name", "gender", "birth_date", "education"], persons)
        bulk_insert(s, PersonVersionRow.__table__, ["id_number", "valid_from", "name", "gender", "birth_date", "education", "recorded_at"],
                    ((i, day, n, g, b, e, now) for i, n, g, b, e in persons))
        step("persons", len(persons), len(persons))

        step("postings", 0, len(postings))
        posting_ids = _posting_ids(s, len(postings))
        if posting_ids is not None:
            bulk_insert(s, PostingRow.__table__, ["id", "id_number", "unit_code", "category", "leader_rank", "start_date", "active"],
                        ((pid, i, u, c, r, d, True) for pid, (i, u, c, r, d) in zip(posting_ids, postings)))
        else:
            bulk_insert(s, PostingRow.__table__, ["id_number", "unit_code", "category", "leader_rank", "start_date", "active"],
                        ((i, u, c, r, d, True) for i, u, c, r, d in postings))
            by_person = dict(s.execute(select(PostingRow.id_number, PostingRow.id).where(PostingRow.active)).all()) if postings else {}
            posting_ids = [by_person[p[0]] for p in postings]
        step("postings", len(postings), len(postings))

        step("outbox", 0, events)
        bulk_insert(s, OutboxRow.__table__, ["topic", "key", "value", "created_at"],
                    _event_rows(loaded, posting_ids, day, now, lambda n: step("outbox", n, events)))
        step("outbox", events, events)

        report.counts = {"units": len(units), "quotas": len(quotas), "leader_quotas": len(leader_quotas),
                         "persons": len(persons), "postings": len(postings), "events": events}
        uow.record("registry.import", "import", str(directory), after={"counts": report.counts, "files": loaded.digests})

        step("checks", 0, 1)
        touched_units = {p[1] for p in postings} | {c for c, *_ in quotas} | {c for c, *_ in leader_quotas}
        retiring = {p[0] for p in postings} if len(postings) < 5000 else None
        # The loaded rows are written: let them go before the checks load what they need.
        del persons, postings
        loaded.persons, loaded.postings = [], []
        book = MismatchBook(uow, report.mismatches)
        registry_checks.recheck_unit_quotas(uow, book, touched_units)
        registry_checks.recheck_retirement(uow, book, day, retiring)
        registry_checks.recheck_mixed_categories(uow, book, touched_units)
        # Reconciliation runs both ways: imported persons the partners already report on are re-checked now.
        reconcile_persons(uow, book, partner_known_ids(uow, touched_persons), locked=True)
        step("checks", 1, 1)
        uow.commit()
    if committed:
        committed()
    if db.is_postgres:  # a bulk load: give the planner statistics now rather than when autovacuum comes by
        with db.engine.connect() as c:
            c.execute(text("ANALYZE units, quotas, persons, postings"))
            c.commit()
    return report


_UNIT_COLUMNS = ("code", "name", "kind", "level", "region_code", "parent_code", "funding", "status", "established_on",
                 "grade", "civil_service_managed", "classification", "dispatched")


def _unit_values(u: Unit, day: date) -> tuple:
    """An imported unit's row, in ``_UNIT_COLUMNS`` order (inserted, and the unit.created event's data)."""
    return (u.code, u.name, u.kind.value, u.level.value, u.region_code, u.parent_code, u.funding.value,
            UnitStatus.ACTIVE.value, day, u.grade and u.grade.value, u.civil_service_managed,
            u.classification and u.classification.value, u.dispatched and u.dispatched.value)


def _event_rows(loaded: _Loaded, posting_ids: list[int], day: date, now: datetime, progress: Callable[[int], None]):
    """Outbox rows (topic, key, value, created_at), one CloudEvent per created unit, quota, leader quota, person
    and posting, in that order; the values are exactly ``dumps(cloud_event(...))``, made from templates."""
    ids = event_ids()
    topic = UPDATES_TOPIC
    tmpl = cloud_event_template(type="gov.registry.unit.created", now=now)
    for u in loaded.units:  # the registry's one builder, over the row as inserted
        data = unit_data(SimpleNamespace(abolished_on=None, **dict(zip(_UNIT_COLUMNS, _unit_values(u, day)))))
        yield topic, u.code, tmpl % (dumps(data), next(ids), json_string(u.code)), now
    effective = day.isoformat()
    for col, rows, type_ in (("category", loaded.quotas, "gov.registry.quota.changed"),
                             ("rank", loaded.leader_quotas, "gov.registry.leader_quota.changed")):
        tmpl = cloud_event_template(type=type_, now=now)
        for c, v, n in rows:
            data = {"unit_code": c, col: v, "approved": n, "document_number": "import", "effective_date": effective}
            yield topic, c, tmpl % (dumps(data), next(ids), json_string(c)), now
    done = len(loaded.units) + len(loaded.quotas) + len(loaded.leader_quotas)

    # Persons and postings, by the hundred thousand: the registry's one builder, over a row as inserted whose
    # per-row values are slots, gives the data's JSON once; each event fills in its values' JSON (the columns an
    # import leaves out are null). Every value but a name is a validated ID number, unit code, vocabulary value,
    # date or number, which JSON writes between quotes as it is (or as null).
    quoted = {None: "null"}
    json_of = lambda v: quoted.get(v) or quoted.setdefault(v, f'"{v}"')  # noqa: E731
    dates: dict[date, str] = {}
    iso = lambda d: dates.get(d) or dates.setdefault(d, f'"{d.isoformat()}"')  # noqa: E731
    fmt = cloud_event_format(type="gov.registry.person.created", now=now, slots=5, data_json=dumps(person_data(
        SimpleNamespace(id_number=slot(0), name=slot(1), gender=slot(2), birth_date=slot(3), education=slot(4),
                        degree=None, in_service_education=None, in_service_degree=None, verified_name=None,
                        identity_status=None, photo_sha256=None))))
    for n, (idn, name, gender, birth, education) in enumerate(loaded.persons, done + 1):
        q = f'"{idn}"'
        yield topic, idn, fmt.format(next(ids), q, q, json_string(name), json_of(gender), iso(birth), json_of(education)), now
        if n % 20000 == 0:
            progress(n)
    done += len(loaded.persons)
    posting = posting_data(SimpleNamespace(id=slot(0), id_number=slot(1), unit_code=slot(2), category=slot(3),
                                           leader_rank=slot(4), start_date=slot(5), end_date=None, end_reason=None,
                                           active=True))
    posting["form_number"] = None  # no approval form: not a workflow step
    fmt = cloud_event_format(type="gov.registry.posting.started", now=now, slots=6, data_json=dumps(posting))
    for n, (pid, (idn, unit, category, rank, start)) in enumerate(zip(posting_ids, loaded.postings), done + 1):
        q = f'"{idn}"'
        yield topic, str(pid), fmt.format(next(ids), q, pid, q, json_of(unit), json_of(category), json_of(rank), iso(start)), now
        if n % 20000 == 0:
            progress(n)
