"""Stage a snapshot CSV in PostgreSQL: one ``COPY`` into a table, then the row checks as set operations.

The table is a temporary one with text columns, or a regular table typed like the finance view that becomes the
period's partition of it (``stage(..., types=...)``).

The staged checks are a fast filter, not a second validator: a row the SQL below accepts is one the Python models
(``hub.contract.inbound``) accept unchanged — canonical already, no surrounding white space, upper-case identifiers
with right check characters. Every row the SQL flags goes back to the Python models, which decide and word the
error (or give the normalised values when the row was fine after all). tests/integration/test_compare_staged.py
checks the two agree on corrupted rows of every class.

Line numbers: the table's ``line`` is the physical line of the row (header = 1). That holds when no field spans
lines, which ``stage()`` checks (it gives up — returns None — and the caller reads the file in Python otherwise:
quoted line breaks, quotes inside unquoted fields, ragged rows, blank lines but at the end, a ``\\.`` line, a
repeated column or one missing). Wholly quoted fields (``"张伟"``, ``"a ""b"" c"``) and columns the source does
not have (ignored) are fine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session

from hub.adapters.csv_rows import CsvRows, UnreadableCsv
from hub.domain.identifiers import ID_CHECK_CHARS, ID_WEIGHTS, USCC_ALPHABET, USCC_WEIGHTS

TABLE = "snapshot_stage"

# Characters Python's str.strip() removes that a canonical value must not start or end with.
_SPACE = r"[\s\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\x1c-\x1f]"


def _id_ok(col: str) -> str:
    """GB 11643: 17 digits and the check character, and a real birth date (year ≥ 1). Nested CASEs fix the order."""
    total = " + ".join(f"(ascii(substr({col}, {i + 1}, 1)) - 48) * {w}" for i, w in enumerate(ID_WEIGHTS))
    y, m, d = (f"substr({col}, 7, 4)::int", f"substr({col}, 11, 2)::int", f"substr({col}, 13, 2)::int")
    return (f"(CASE WHEN {col} ~ '^[0-9]{{17}}[0-9X]$' THEN"
            f" (CASE WHEN {y} >= 1 AND {m} BETWEEN 1 AND 12 AND {d} >= 1 THEN"
            f" {d} <= extract(day FROM make_date({y}, {m}, 1) + interval '1 month - 1 day')"
            f" AND substr('{ID_CHECK_CHARS}', (({total}) % 11) + 1, 1) = substr({col}, 18, 1) ELSE false END)"
            f" ELSE false END)")


def _uscc_ok(col: str) -> str:
    """GB 32100: 18 characters of the code alphabet, the last the check character."""
    value = lambda i: f"(strpos('{USCC_ALPHABET}', substr({col}, {i + 1}, 1)) - 1)"  # noqa: E731
    total = " + ".join(f"{value(i)} * {w}" for i, w in enumerate(USCC_WEIGHTS))
    return (f"(CASE WHEN {col} ~ '^[{USCC_ALPHABET}]{{18}}$' THEN"
            f" substr('{USCC_ALPHABET}', ((31 - ({total}) % 31) % 31) + 1, 1) = substr({col}, 18, 1) ELSE false END)")


_AMOUNT = re.compile(r"-?[0-9]{1,12}(\.[0-9]{1,4})?")  # hub.contract.inbound.Amount, matched whole

def _date_ok(col: str) -> str:
    """hub.contract.inbound.IsoDate: YYYY-MM-DD and a real date (year ≥ 1). Nested CASEs fix the order."""
    y, m, d = (f"substr({col}, 1, 4)::int", f"substr({col}, 6, 2)::int", f"substr({col}, 9, 2)::int")
    return (f"(CASE WHEN {col} ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$' THEN"
            f" (CASE WHEN {y} >= 1 AND {m} BETWEEN 1 AND 12 AND {d} >= 1 THEN"
            f" {d} <= extract(day FROM make_date({y}, {m}, 1) + interval '1 month - 1 day') ELSE false END)"
            f" ELSE false END)")


CHECKS = {
    "id": _id_ok,
    "uscc": _uscc_ok,
    "name": lambda c: f"(char_length({c}) BETWEEN 1 AND 100)",
    "period": lambda c: f"({c} ~ '^[0-9]{{4}}-(0[1-9]|1[0-2])$')",
    "date": _date_ok,
    "sha256": lambda c: f"({c} ~ '^[0-9a-fA-F]{{64}}$')",
    "text100": lambda c: f"(char_length({c}) <= 100 AND {c} !~ '^{_SPACE}|{_SPACE}$')",
}
# Checks against the row's ID number (valid when the row is accepted: its ID number is checked too).
_ID_CHECKS = {
    "gender": lambda c, idc: f"({c} = CASE WHEN substr({idc}, 17, 1) IN ('1', '3', '5', '7', '9') THEN 'M' ELSE 'F' END)",
    "birth_date": lambda c, idc: f"({c} = substr({idc}, 7, 4) || '-' || substr({idc}, 11, 2) || '-' || substr({idc}, 13, 2))",
}


# A line whose quotes are all canonical: each field unquoted without a quote, or wholly quoted with inner quotes
# doubled (no line break inside). PostgreSQL's COPY and Python's csv module read such a line alike; they differ on
# a quote inside an unquoted field (`a"b,c"d` is one field to COPY, two to csv).
_FIELD = rb'(?:[^",\r\n]*|"(?:[^"\r\n]|"")*")'
_CSV_LINE = re.compile(_FIELD + rb"(?:," + _FIELD + rb")*\r?")


@dataclass(frozen=True)
class StagedColumns:
    """What each column of a source's snapshot is, for the staged checks.

    A kind is a key of ``CHECKS``, ``gender`` or ``birth_date`` (as the row's ID number says), ``amount``, or
    ``one of:A|B|C`` (a vocabulary). ``optional`` columns may be missing from the file or empty."""

    kinds: dict[str, str]  # column -> kind
    optional: frozenset[str] = frozenset()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.kinds)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c for c in self.kinds if c not in self.optional)


def stage(session: Session, raw: bytes, columns: StagedColumns, *, table: str = TABLE,
          types: dict[str, str] | None = None, extra: str = "") -> int | None:
    """COPY the CSV bytes into a new table ``table(line, <columns>[, extra])``; returns the data row count.

    By default the table is the temporary ``snapshot_stage`` with text columns, dropped at commit or rollback.
    With ``types`` (SQL type per column) it is a regular table of the caller's — a partition-to-be; a value that
    does not fit its type makes the COPY fail, and then nothing is left behind and None is returned.
    Returns None (nothing staged) when the file is not one the fast path can number lines for; the caller then
    reads it in Python. Must run inside the caller's transaction.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if b'"' in raw and not all(_CSV_LINE.fullmatch(line) for line in raw.split(b"\n") if b'"' in line):
        return None  # a quoted field spans lines, or a quote sits inside an unquoted field: the csv module decides
    first, _, body = raw.partition(b"\n")
    if b"\r" in first.removesuffix(b"\r"):  # the csv module sees a line break inside the header line
        return None
    try:
        header = CsvRows(first.decode("utf-8"), "header", ()).header  # the one CSV policy's header
        body.decode("utf-8")
    except (UnicodeDecodeError, UnreadableCsv):  # UnreadableCsv: e.g. bare CR line ends (one long "line")
        return None
    # Columns the source does not have are staged as ``_extra_N`` and ignored, as the csv reader ignores them (in a
    # temporary table only: a partition-to-be has exactly the view's columns).
    unknown = [h for h in header if h not in columns.names]
    if len(set(header)) != len(header) or not set(columns.required) <= set(header) or (unknown and types is not None):
        return None
    nl = b"\r\n" if body.endswith(b"\r\n") else b"\n"
    while body.endswith(nl + nl):  # blank lines at the end: nothing to the csv reader, an empty row to COPY
        body = body[:-len(nl)]
    lines = body.count(b"\n") + (0 if not body or body.endswith(b"\n") else 1)
    if (b"\n\n" in body or b"\n\r\n" in body or body.startswith((b"\n", b"\r")) or b"\n\\." in b"\n" + body
            or b"\r" in body.replace(b"\r\n", b"")):  # blank lines, COPY's end marker, lone CRs: the csv module decides
        return None
    file_columns = [c if c in columns.names else f"_extra_{i}" for i, c in enumerate(header)]
    cols = ", ".join(f'"{c}"' for c in file_columns)
    temp = types is None
    if temp:
        session.execute(text(f"DROP TABLE IF EXISTS {table}"))
    raw_conn = session.connection().connection.dbapi_connection
    with raw_conn.cursor() as cur:
        cur.execute("SAVEPOINT snapshot_copy")
        try:
            # every column of the source (optional ones the file lacks stay empty)
            order = [c for c in (types or {}) if c in columns.names] + [c for c in columns.names if c not in (types or {})]
            cur.execute(  # the columns in the order of ``types`` (a partition-to-be's layout), the line number last
                f"CREATE {'TEMP ' if temp else ''}TABLE {table} ("
                + ", ".join(f'"{c}" {(types or {}).get(c, "text")}' for c in order + [c for c in file_columns if c not in order])
                + (f", {extra}" if extra else "")
                + ", line bigint GENERATED ALWAYS AS IDENTITY (START WITH 2))" + (" ON COMMIT DROP" if temp else ""))
            # FORCE_NULL: a quoted empty field is empty like an unquoted one (the models see no difference)
            with cur.copy(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv, FORCE_NULL ({cols}))") as copy:
                view = memoryview(body)
                for i in range(0, len(view), 1 << 20):
                    copy.write(view[i:i + (1 << 20)])
            cur.execute(f"SELECT count(*) FROM {table}")
            staged = cur.fetchone()[0]
            if staged != lines:
                raise ValueError("rows and lines differ")
        except Exception:  # ragged rows, values too long for ``types`` and the like: the Python reader words those
            cur.execute("ROLLBACK TO SAVEPOINT snapshot_copy")
            return None
        cur.execute("RELEASE SAVEPOINT snapshot_copy")
    return staged


def _literal(v: str) -> str:
    return "'" + v.replace("'", "''") + "'"


def _accepted(columns: StagedColumns) -> str:
    """The SQL condition a canonical row meets. Values the registry already holds (a person's ID number and name,
    a unit's code) and the compared period are canonical by construction; anything else is checked in full."""
    out = []
    idc = next(f's."{c}"' for c, k in columns.kinds.items() if k == "id")
    for c, kind in columns.kinds.items():
        col = f's."{c}"'
        if kind == "amount":  # few distinct values: checked once each in Python (flagged), here a lookup
            out.append(f"({col} IS NOT NULL AND NOT ({col} = ANY(CAST(:bad_{c} AS text[]))))")
            continue
        if kind.startswith("one of:"):
            full = f"({col} IN ({', '.join(_literal(v) for v in kind.removeprefix('one of:').split('|'))}))"
        elif kind in _ID_CHECKS:
            full = _ID_CHECKS[kind](col, idc)
        else:
            full = f"coalesce({CHECKS[kind](col)}, false)"
        if c in columns.optional:  # empty (NULL) or a canonical value; white space only is the models' to judge
            out.append(f"({col} IS NULL OR coalesce({full}, false))")
        elif kind == "id":
            out.append(f"(p.id_number IS NOT NULL OR {full})")
        elif kind == "uscc":
            out.append(f"(u.code IS NOT NULL OR {full})")
        elif kind == "name":
            out.append(f"({col} = p.name OR ({full} AND {col} !~ '^{_SPACE}|{_SPACE}$'))")
        elif kind == "period":
            out.append(f"({col} = :period OR {full})")
        else:
            out.append(full)
    return " AND ".join(f"coalesce({x}, false)" for x in out)  # a NULL (empty field) is never accepted


def flagged(session: Session, columns: StagedColumns, period: str, *, table: str = TABLE) -> list[tuple]:
    """The rows the staged checks did not accept: (line, values by column), for the Python models to judge."""
    cols = ", ".join(f'coalesce(s."{c}", \'\')' for c in columns.names)
    idc = next(c for c, k in columns.kinds.items() if k == "id")
    unit = next((c for c, k in columns.kinds.items() if k == "uscc"), None)
    joins = f'LEFT JOIN persons p ON p.id_number = s."{idc}"'
    joins += f' LEFT JOIN units u ON u.code = s."{unit}"' if unit else ""
    params: dict = {"period": period}
    for c, kind in columns.kinds.items():
        if kind == "amount":
            values = session.execute(text(f'SELECT DISTINCT "{c}" FROM {table} WHERE "{c}" IS NOT NULL')).scalars()
            params[f"bad_{c}"] = [v for v in values if not _AMOUNT.fullmatch(v)]
    return [tuple(r) for r in session.execute(text(
        f"SELECT s.line, {cols} FROM {table} s {joins} WHERE NOT ({_accepted(columns)}) ORDER BY s.line"), params)]


def settle(session: Session, columns: StagedColumns, fixed: list[tuple], bad_lines: list[int], *,
           table: str = TABLE) -> None:
    """Record the Python verdicts: ``fixed`` rows (line, normalised values) are rewritten, ``bad_lines`` dropped."""
    if bad_lines:
        session.execute(text(f"DELETE FROM {table} WHERE line = ANY(:lines)"), {"lines": bad_lines})
    if fixed:
        sets = ", ".join(f'"{c}" = v."{c}"' for c in columns.names)
        arrays = ", ".join(f"CAST(:c{i} AS text[])" for i in range(len(columns.names)))
        names = ", ".join(f'"{c}"' for c in columns.names)
        session.execute(text(
            f"UPDATE {table} AS s SET {sets} FROM unnest(CAST(:lines AS bigint[]), {arrays}) AS v(line, {names})"
            f" WHERE s.line = v.line"),
            {"lines": [f[0] for f in fixed],
             **{f"c{i}": [_text(f[1][i]) for f in fixed] for i in range(len(columns.names))}})


def _text(v):
    """A model's normalised value as the staged text (dates as YYYY-MM-DD)."""
    return v.isoformat() if isinstance(v, date) else v
