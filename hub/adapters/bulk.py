"""Fast bulk inserts: PostgreSQL COPY, executemany elsewhere."""

from __future__ import annotations

from typing import Iterable

from sqlalchemy import Table
from sqlalchemy.orm import Session


def bulk_insert(session: Session, table: Table, columns: list[str], rows: Iterable[tuple], *, chunk: int = 5000) -> int:
    """Insert tuples (in ``columns`` order) into ``table`` inside the session's transaction; returns the count."""
    conn = session.connection()
    n = 0
    if conn.dialect.name == "postgresql":
        raw = conn.connection.dbapi_connection
        cols = ", ".join(f'"{c}"' for c in columns)
        with raw.cursor() as cur:
            with cur.copy(f'COPY "{table.name}" ({cols}) FROM STDIN') as copy:
                for r in rows:
                    copy.write_row(r)
                    n += 1
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


def upsert(session: Session, table: Table, rows: list[dict], key: list[str], *, chunk: int = 2000) -> None:
    """INSERT … ON CONFLICT (key) DO UPDATE for PostgreSQL and SQLite, in batches."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    cols = [c for c in rows[0].keys() if c not in key]
    for i in range(0, len(rows), chunk):
        stmt = insert(table).values(rows[i : i + chunk])
        if cols:
            stmt = stmt.on_conflict_do_update(index_elements=key, set_={c: getattr(stmt.excluded, c) for c in cols})
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=key)
        session.execute(stmt)
