"""The report catalogue's building blocks (统计报表): a report declares its name, title, purpose, parameters and
columns and has one query function; ``run`` checks who asks, parses the parameters and runs the query.

A query runs on a read session, on PostgreSQL and SQLite alike (SQLAlchemy Core; anything database-specific is
computed in Python from plain rows). It sees the caller's scope through ``ReportContext``: a district ADMIN
(token with a region) sees its district only, MONITOR sees ID numbers masked, and every person a report lists is a
person read (access log, field ``Report.<name>``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

from sqlalchemy import select

from hub.adapters.orm import UnitRow
from hub.domain.identifiers import InvalidIdentifier, mask_id_number, parse_id_number, parse_unit_code
from hub.domain.vocabulary import Role
from hub.domain.workflows import Caller  # who asks: a token's principal, or the operator at the command line
from hub.domain.calendar import office_today

ALL_ROLES = frozenset(Role)
OFFICE = frozenset({Role.ADMIN, Role.AUDITOR, Role.ORGANIZATION})
OFFICE_AND_MONITOR = OFFICE | {Role.MONITOR}
PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
YEARS = (1900, 2199)  # dates and periods a report accepts: far from date.min/max, so day arithmetic never overflows
REGION = re.compile(r"^\d{6}$")


class ReportError(ValueError):
    """Bad report name or parameters, or a caller who may not read the report: a clear message, nothing runs."""


class ReportForbidden(ReportError):
    pass


def _parse_int(p: "Param", raw: str):
    try:
        n = int(str(raw).strip())
    except ValueError:
        raise ReportError(f"parameter {p.name}: {raw!r} is not a whole number") from None
    if p.min is not None and n < p.min or p.max is not None and n > p.max:
        raise ReportError(f"parameter {p.name}: {n} is outside {p.min}..{p.max}")
    return n


def _parse_period(p: "Param", raw: str):
    raw = str(raw).strip()
    if not PERIOD.match(raw):
        raise ReportError(f"parameter {p.name}: {raw!r} must be YYYY-MM")
    if not YEARS[0] <= int(raw[:4]) <= YEARS[1]:
        raise ReportError(f"parameter {p.name}: {raw!r} is outside the years {YEARS[0]}..{YEARS[1]}")
    return raw


def _parse_date(p: "Param", raw: str):
    try:
        d = date.fromisoformat(str(raw).strip())
    except ValueError:
        raise ReportError(f"parameter {p.name}: {raw!r} must be a date YYYY-MM-DD") from None
    if not YEARS[0] <= d.year <= YEARS[1]:
        raise ReportError(f"parameter {p.name}: {raw!r} is outside the years {YEARS[0]}..{YEARS[1]}")
    return d


def _parse_unit(p: "Param", raw: str):
    try:
        return parse_unit_code(str(raw))
    except InvalidIdentifier as e:
        raise ReportError(f"parameter {p.name}: {e}") from None


def _parse_region(p: "Param", raw: str):
    raw = str(raw).strip()
    if not REGION.match(raw):
        raise ReportError(f"parameter {p.name}: {raw!r} must be a six-digit division code")
    return raw


def _parse_choice(p: "Param", raw: str):
    raw = str(raw).strip()
    if raw not in p.choices:
        raise ReportError(f"parameter {p.name}: {raw!r} is not one of {', '.join(p.choices)}")
    return raw


PARSERS: dict[str, Callable] = {"int": _parse_int, "period": _parse_period, "date": _parse_date, "unit": _parse_unit,
                                "region": _parse_region, "choice": _parse_choice}


@dataclass(frozen=True)
class Param:
    """A report parameter: ``type`` is int, period (YYYY-MM), date, unit (unified social credit code), region
    (six-digit division code) or choice; ``default`` None and ``required`` False: the parameter is optional."""

    name: str
    type: str
    help: str
    default: Any = None
    required: bool = False
    min: int | None = None
    max: int | None = None
    choices: tuple[str, ...] = ()

    def parse(self, raw):
        return PARSERS[self.type](self, raw)

    def describe(self) -> dict:
        d = {"name": self.name, "type": self.type, "help": self.help, "required": self.required,
             "default": self.default() if callable(self.default) else self.default}
        if self.type == "int":
            d.update(min=self.min, max=self.max)
        if self.choices:
            d["choices"] = list(self.choices)
        return d


@dataclass(frozen=True)
class Column:
    key: str  # the CSV header and GraphQL column name
    label: str  # Chinese label for printed pages and tables
    person: bool = False  # holds a citizen ID number: masked for MONITOR, a person read otherwise


@dataclass(frozen=True)
class Report:
    name: str
    title: str  # "中文 English"
    purpose: str  # one line
    columns: tuple[Column, ...]
    query: Callable[["ReportContext"], list[list]]
    params: tuple[Param, ...] = ()
    roles: frozenset[Role] = OFFICE_AND_MONITOR
    district_scoped: bool = True  # a district ADMIN sees its district's rows only
    workbook: tuple[str, ...] = ()  # reports run with the same parameters into the same XLSX workbook

    @property
    def person_level(self) -> bool:
        return any(c.person for c in self.columns)

    def describe(self) -> dict:
        return {"name": self.name, "title": self.title, "purpose": self.purpose,
                "params": [p.describe() for p in self.params], "columns": [c.key for c in self.columns],
                "roles": sorted(r.value for r in self.roles), "personLevel": self.person_level}

    def parse_params(self, raw: dict | None) -> dict:
        raw = dict(raw or {})
        known = {p.name for p in self.params}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ReportError(f"report {self.name} has no parameter {', '.join(unknown)}"
                              f" (parameters: {', '.join(sorted(known)) or 'none'})")
        out = {}
        for p in self.params:
            value = raw.get(p.name)
            if value is None or value == "":
                if p.required:
                    raise ReportError(f"report {self.name} needs parameter {p.name} ({p.help})")
                out[p.name] = p.default() if callable(p.default) else p.default
            else:
                out[p.name] = p.parse(value)
        return out


@dataclass
class ReportTable:
    name: str
    title: str
    columns: list[str]
    labels: list[str]
    rows: list[list]
    params: dict
    generated_on: date


@dataclass
class ReportContext:
    session: Any
    params: dict
    today: date
    caller: Caller
    region: str | None = None  # the caller's district (district ADMIN), else None
    person_reads: list[str] = field(default_factory=list)
    calendar: Any = None  # hub.domain.calendar.WorkingCalendar (turnaround in working days)

    @property
    def masked(self) -> bool:
        return self.caller.role is Role.MONITOR

    def units(self, *, active_only: bool = True, region: str | None = None):
        """A select of the unit rows this report may show: the caller's district, the ``region`` parameter."""
        q = select(UnitRow)
        if active_only:
            q = q.where(UnitRow.status == "ACTIVE")
        for r in (self.region, region):
            if r:
                q = q.where(UnitRow.region_code == r)
        return q

    def unit_codes(self, **kw):
        return self.units(**kw).with_only_columns(UnitRow.code)

    def unit_names(self, codes) -> dict[str, str]:
        """Unit code → name for ``codes`` (read in chunks: SQLite limits bound parameters)."""
        codes, out = sorted(codes), {}
        for i in range(0, len(codes), 5000):
            out.update(self.session.execute(select(UnitRow.code, UnitRow.name)
                                            .where(UnitRow.code.in_(codes[i:i + 5000]))).all())
        return out

    def people_select(self, *columns, region: str | None = None, as_of: date | None = None):
        """A select of ``columns`` over who holds a slot — an active posting, or with ``as_of`` a posting running on
        that day — joined to the person (PersonRow) and the unit (UnitRow), in the units this report may show."""
        from sqlalchemy import or_

        from hub.adapters.orm import PersonRow, PostingRow

        q = (select(*columns).select_from(PostingRow)
             .join(PersonRow, PersonRow.id_number == PostingRow.id_number)
             .join(UnitRow, UnitRow.code == PostingRow.unit_code))
        if as_of is None:
            q = q.where(PostingRow.active, UnitRow.status == "ACTIVE")
        else:
            q = q.where(PostingRow.start_date <= as_of, or_(PostingRow.end_date.is_(None), PostingRow.end_date > as_of))
        for r in (self.region, region):
            if r:
                q = q.where(UnitRow.region_code == r)
        return q

    def unit_rows(self, **kw) -> list[UnitRow]:
        return list(self.session.execute(self.units(**kw).order_by(UnitRow.code)).scalars())


def age_on(birth: date, on: date) -> int:
    """Full years of age on ``on``."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def share(part: int, whole: int) -> float:
    """``part`` as a percentage of ``whole``, one decimal (0.0 when there is no whole)."""
    return round(100.0 * part / whole, 1) if whole else 0.0


def _mask(value):
    if not isinstance(value, str):
        return value
    try:
        return mask_id_number(parse_id_number(value).value)
    except InvalidIdentifier:
        return value


def run(report: Report, session, raw_params: dict | None, *, caller: Caller, today: date | None = None,
        calendar=None) -> tuple[ReportTable, list[str]]:
    """Run ``report`` for ``caller``: (the table, the ID numbers it shows unmasked, to be logged as person reads)."""
    if caller.role not in report.roles:
        raise ReportForbidden(f"role {caller.role.value} may not read report {report.name}")
    params = report.parse_params(raw_params)
    region = caller.region_code if caller.role is Role.ADMIN and report.district_scoped else None
    if calendar is None:
        from hub.adapters.calendar_file import load_calendar

        calendar = load_calendar(None)
    ctx = ReportContext(session=session, params=params, today=today or office_today(), caller=caller, region=region,
                        calendar=calendar)
    rows = [list(r) for r in report.query(ctx)]
    person_cols = [i for i, c in enumerate(report.columns) if c.person]
    reads: list[str] = []
    for row in rows:
        for i in person_cols:
            if ctx.masked:
                row[i] = _mask(row[i])
            elif row[i]:
                reads.append(row[i])
    return (ReportTable(name=report.name, title=report.title, columns=[c.key for c in report.columns],
                        labels=[c.label for c in report.columns], rows=rows, params=params,
                        generated_on=ctx.today), reads)
