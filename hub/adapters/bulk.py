"""Fast bulk inserts: PostgreSQL COPY, executemany elsewhere."""

from __future__ import annotations

from typing import Iterable

from sqlalchemy import Table
from sqlalchemy.orm import Session


def bulk_insert(session: Session, table: Table, columns: list[str], rows: Iterable[tuple], *, chunk: int = 5000) -> int:
    """Insert tuples (in ``columns`` order) into ``table`` inside the session's transaction; returns the count.

    ``rows`` may be any iterable (a generator streams: nothing is materialised). On PostgreSQL the rows go through
    one ``COPY … FROM STDIN`` in text format, formatted here in blocks of ``chunk`` rows: str, None, bool, int,
    date and datetime directly (the same text psycopg would send), any other type through psycopg's text dumper.
    Elsewhere: executemany in batches of ``chunk``.
    """
    conn = session.connection()
    n = 0
    if conn.dialect.name == "postgresql":
        from datetime import date, datetime

        from psycopg.adapt import PyFormat

        raw = conn.connection.dbapi_connection
        cols = ", ".join(f'"{c}"' for c in columns)
        tabs = len(columns) - 1
        escape = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
        encoding = raw.info.encoding
        dumpers: dict = {}

        class Memo(dict):
            """Text of repeated values (the import's day and timestamp, birth dates…), made once each."""

            def __init__(self, text):
                self.text = text

            def __missing__(self, v):
                if len(self) >= 100_000:
                    self.clear()
                t = self[v] = self.text(v)
                return t

        def other(v) -> str:
            """psycopg's own text for a value of any other type, escaped for COPY."""
            cls = v.__class__
            d = dumpers.get(cls)
            if d is None:
                d = dumpers[cls] = raw.adapters.get_dumper(cls, PyFormat.TEXT)(cls, raw)
            b = d.upgrade(v, PyFormat.TEXT).dump(v)
            return "\\N" if b is None else bytes(b).decode(encoding).translate(escape)

        # COPY text of non-str values; none holds a tab, newline or backslash ("\\N" for None aside).
        text_of = {bool: {True: "t", False: "f"}.__getitem__, int: int.__repr__,
                   date: Memo(date.isoformat).__getitem__, datetime: Memo(datetime.isoformat).__getitem__}
        get = text_of.get

        with raw.cursor() as cur:
            with cur.copy(f'COPY "{table.name}" ({cols}) FROM STDIN') as copy:
                lines: list[str] = []
                for r in rows:
                    line = "\t".join([v if v.__class__ is str else "\\N" if v is None else get(v.__class__, other)(v) for v in r])
                    # Escape only when a str value needs it: any tab beyond the separators, a newline, or a
                    # backslash beyond those of the NULL markers.
                    if line.count("\t") != tabs or "\n" in line or "\r" in line or line.count("\\") != r.count(None):
                        line = "\t".join([v.translate(escape) if v.__class__ is str else "\\N" if v is None else get(v.__class__, other)(v)
                                          for v in r])
                    lines.append(line)
                    if len(lines) >= chunk:
                        lines.append("")
                        copy.write("\n".join(lines))
                        n += len(lines) - 1
                        lines = []
                if lines:
                    lines.append("")
                    copy.write("\n".join(lines))
                    n += len(lines) - 1
        return n
    stmt = table.insert()
    batch: list[dict] = []
    for r in rows:
        batch.append(dict(zip(columns, r)))
        if len(batch) >= chunk:
            conn.execute(stmt, batch)
            n += len(batch)
            batch = []
    if batch:
        conn.execute(stmt, batch)
        n += len(batch)
    return n


_UPSERTS: dict[tuple, object] = {}


def _upsert_statement(dialect: str, table: Table, key: tuple[str, ...], cols: tuple[str, ...]):
    """One cached INSERT … ON CONFLICT statement per (dialect, table, key, columns): compiled once, then
    executed with many parameter sets (SQLAlchemy batches them; psycopg never re-parses a new query text)."""
    k = (dialect, table.name, key, cols)
    stmt = _UPSERTS.get(k)
    if stmt is None:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = insert(table)
        if cols:
            stmt = stmt.on_conflict_do_update(index_elements=list(key), set_={c: getattr(stmt.excluded, c) for c in cols})
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
        _UPSERTS[k] = stmt
    return stmt


_NoneType = type(None)


def _quoted(v: str) -> str:
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def array_param(values: list):
    """A PostgreSQL array parameter for ``CAST(:p AS type[])``: the array's text literal, built here, when every
    value is a str, int, bool, date or datetime (or None); otherwise the list itself, for psycopg to adapt.

    psycopg adapts a list of str element by element in Python (a regex search and often a regex substitution per
    element); one ``str.replace`` pass per element here is several times cheaper, and a literal the server casts
    means the same values.
    """
    from datetime import date, datetime

    kinds = {v.__class__ for v in values}
    kinds.discard(_NoneType)
    if not kinds:
        return "{" + ",".join(["NULL"] * len(values)) + "}"
    if len(kinds) != 1:
        return values
    kind = kinds.pop()
    if kind is str:
        strs = [v for v in values if v is not None] if None in values else values
        probe = "".join(strs)
        if '"' in probe or "\\" in probe:
            q = _quoted
            return "{" + ",".join([q(v) if v is not None else "NULL" for v in values]) + "}"
        if strs is values:  # nothing to escape and no NULL: one join
            return '{"' + '","'.join(values) + '"}'
        return "{" + ",".join(['"' + v + '"' if v is not None else "NULL" for v in values]) + "}"
    if kind is bool:
        return "{" + ",".join(["NULL" if v is None else "t" if v else "f" for v in values]) + "}"
    if kind is int:
        return "{" + ",".join(["NULL" if v is None else str(v) for v in values]) + "}"
    if kind is datetime or kind is date:
        memo: dict = {}
        out = []
        for v in values:
            if v is None:
                out.append("NULL")
                continue
            t = memo.get(v)
            if t is None:
                t = memo[v] = '"' + v.isoformat() + '"'
            out.append(t)
        return "{" + ",".join(out) + "}"
    return values


def any_of(session: Session, column, values):
    """``column IN values``: ``column = ANY(:array)`` on PostgreSQL — one parameter, a short query text, planned as
    an index scan — with the array passed as its text literal (see ``array_param``; for str, int, bool, date and
    datetime values); a plain IN list elsewhere."""
    bind = session.get_bind() if hasattr(session, "get_bind") else session  # a Session, or a Connection
    if bind.dialect.name == "postgresql":
        from sqlalchemy import any_, bindparam, cast
        from sqlalchemy.dialects.postgresql import ARRAY
        from sqlalchemy.types import NullType

        values = list(values)
        param = array_param(values)
        if isinstance(param, str):
            # An untyped parameter: the server reads the literal as the array type itself, so a custom plan sees
            # a constant array (a text parameter cast at run time would hide its length from the planner).
            return column == any_(cast(bindparam(None, param, type_=NullType()), ARRAY(column.type)))
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(list(values))


def any_of_param(column, name: str, postgres: bool):
    """``any_of`` for a statement built once and executed many times: ``column`` among the values passed at execution
    as parameter ``name`` (``any_of_value``), the same SQL as ``any_of``. A statement built per call is garbage the
    collector has to find (its expression objects refer to each other; docs/bench-streaming.md, session 12)."""
    if postgres:
        from sqlalchemy import any_, bindparam, cast
        from sqlalchemy.dialects.postgresql import ARRAY
        from sqlalchemy.types import NullType

        return column == any_(cast(bindparam(name, type_=NullType()), ARRAY(column.type)))
    from sqlalchemy import bindparam

    return column.in_(bindparam(name, expanding=True))


def any_of_value(values, postgres: bool):
    """The value of an ``any_of_param`` parameter."""
    return array_param(list(values)) if postgres else list(values)


def unnest_insert_sql(dialect, table: Table, rows: list[dict], key: tuple[str, ...] | None, update: bool, *,
                      keep: tuple[str, ...] = (), prefix: str = "p") -> tuple[str, dict]:
    """PostgreSQL: ``INSERT … SELECT * FROM unnest(arrays) [ON CONFLICT …]`` of ``rows`` and its parameters (named
    ``prefix`` + column number, so that several can share one statement as data-modifying CTEs). ``keep``: columns
    an existing row keeps on conflict (they are inserted for new keys only)."""
    cols = list(rows[0].keys())
    casts = ", ".join(f"CAST(:{prefix}{i} AS {table.c[c].type.compile(dialect=dialect)}[])" for i, c in enumerate(cols))
    sql = f'INSERT INTO "{table.name}" ({", ".join(chr(34) + c + chr(34) for c in cols)}) SELECT * FROM unnest({casts})'
    if key:
        rest = [c for c in cols if c not in key and c not in keep]
        target = ", ".join(f'"{k}"' for k in key)
        if update and rest:
            sql += f" ON CONFLICT ({target}) DO UPDATE SET " + ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in rest)
        else:
            sql += f" ON CONFLICT ({target}) DO NOTHING"
    return sql, {f"{prefix}{i}": array_param([r[c] for r in rows]) for i, c in enumerate(cols)}


def _pg_unnest_insert(session: Session, table: Table, rows: list[dict], key: tuple[str, ...] | None, update: bool,
                      keep: tuple[str, ...] = ()) -> None:
    """One statement for the whole batch: INSERT … SELECT * FROM unnest(arrays) [ON CONFLICT …] (PostgreSQL)."""
    from sqlalchemy import text

    sql, params = unnest_insert_sql(session.get_bind().dialect, table, rows, key, update, keep=keep)
    session.execute(text(sql), params)


def upsert(session: Session, table: Table, rows: list[dict], key: list[str], *, keep: tuple[str, ...] = ()) -> None:
    """INSERT … ON CONFLICT (key) DO UPDATE for PostgreSQL and SQLite; every row has the same keys and no two
    rows share a key. PostgreSQL: one statement over arrays; SQLite: one cached statement, executemany.
    ``keep``: columns an existing row keeps (set for new rows only)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        _pg_unnest_insert(session, table, rows, tuple(key), True, tuple(keep))
        return
    cols = tuple(c for c in rows[0].keys() if c not in key and c not in keep)
    session.execute(_upsert_statement(dialect, table, tuple(key), cols), rows)


def insert_rows(session: Session, table: Table, rows: list[dict]) -> None:
    """Plain INSERT of many rows (same keys each): one statement on PostgreSQL, executemany elsewhere."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        _pg_unnest_insert(session, table, rows, None, False)
    else:
        session.execute(table.insert(), rows)
