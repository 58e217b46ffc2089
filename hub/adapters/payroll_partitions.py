"""The finance view's partitions (PostgreSQL): ``partner_payroll`` is partitioned by period (migration 0006).

A period's first complete snapshot becomes a partition of its own: the lines are copied into a new table, which is
attached in one step (its primary key built by one sort) instead of 200k insertions into an index holding every
earlier month. Lines of a period without a partition — streamed before the period's first snapshot — live in the
DEFAULT partition until that snapshot splits them off into a partition of their own, so the DEFAULT partition
stays small. Everything else — the connectors' upserts, later corrections of a period, the readers — goes through
``partner_payroll`` and never needs to know. SQLite has the plain table.

Locks: attaching or splitting off takes an ACCESS EXCLUSIVE lock on the DEFAULT partition (and on the new table)
until the caller commits; readers of the view wait that long. Writers take the reconciliation locks before they
touch a partner view (``reconcile.lock_persons``), so a comparison, which holds the global one, never waits for a
writer that waits for it. A reader that holds the DEFAULT partition longer than ``LOCK_TIMEOUT_MS`` makes the
comparison write its lines into the view row by row instead (``attach`` returns False).
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

PARENT = "partner_payroll"
DEFAULT = "partner_payroll_default"
COLUMNS = ("id_number", "unit_code", "period", "name", "gross_amount", "paid", "event_id", "updated_at")
LOCK_TIMEOUT_MS = 5000
_GAVE_WAY = ("55P03", "40P01")  # lock_not_available, deadlock_detected: safe to undo to the savepoint and go on
_PERIOD = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])\Z")
_NAME = re.compile(r"partner_payroll_(default|[0-9]{4}_[0-9]{2})\Z")


def partition_name(period: str) -> str:
    """``partner_payroll_2026_10`` for ``2026-10``."""
    if not _PERIOD.match(period or ""):
        raise ValueError(f"period {period!r} must be YYYY-MM")
    return f"{PARENT}_{period.replace('-', '_')}"


def is_partition(table_name: str) -> bool:
    """A table that is one of the finance view's partitions (schema comparisons leave those out)."""
    return bool(_NAME.match(table_name or ""))


def partitioned(session: Session) -> bool:
    return session.execute(text("SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass(:t)"),
                           {"t": PARENT}).scalar() is True


def has_partition(session: Session, period: str) -> bool:
    """Whether the period's partition is attached (its table alone, not yet or no longer attached, is not one)."""
    return session.execute(text("SELECT EXISTS (SELECT 1 FROM pg_class WHERE oid = to_regclass(:t) AND relispartition)"),
                           {"t": partition_name(period)}).scalar()


def attach(session: Session, period: str) -> bool:
    """Attach the period's table, which holds the period's lines and the view's primary key; False (nothing
    changed) when the DEFAULT partition stays locked by others for ``LOCK_TIMEOUT_MS``.

    A CHECK constraint spares PostgreSQL the scan of the new table; it still looks through the DEFAULT partition
    for lines of the period (there are none: the caller moved or never had them)."""
    name = partition_name(period)
    saved = session.execute(text("SELECT current_setting('lock_timeout')")).scalar()
    session.execute(text("SAVEPOINT attach_partition"))
    try:
        session.execute(text(f"SET LOCAL lock_timeout = {int(LOCK_TIMEOUT_MS)}"))
        session.execute(text(f"ALTER TABLE {name} ADD CONSTRAINT {name}_period CHECK (period = '{period}')"))
        session.execute(text(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES IN ('{period}')"))
        session.execute(text(f"ALTER TABLE {name} DROP CONSTRAINT {name}_period"))  # the partition bound says it
    except OperationalError as e:
        if getattr(e.orig, "sqlstate", None) not in _GAVE_WAY:
            raise
        session.execute(text("ROLLBACK TO SAVEPOINT attach_partition"))  # the lock timeout goes back with it
        session.execute(text("RELEASE SAVEPOINT attach_partition"))
        return False
    session.execute(text("SELECT set_config('lock_timeout', :v, true)"), {"v": saved})
    session.execute(text("RELEASE SAVEPOINT attach_partition"))
    return True


def split_off(session: Session, period: str) -> bool:
    """Move the period's lines out of the DEFAULT partition into a partition of their own (the period's first
    snapshot does it before comparing); False (nothing changed) when the DEFAULT partition stays locked."""
    name = partition_name(period)
    cols = ", ".join(COLUMNS)
    session.execute(text("SAVEPOINT split_off"))
    session.execute(text(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
    session.execute(text(f"INSERT INTO {name} ({cols}) SELECT {cols} FROM {DEFAULT} WHERE period = :p"), {"p": period})
    session.execute(text(f"ALTER TABLE {name} ADD PRIMARY KEY (id_number, unit_code, period)"))
    session.execute(text(f"DELETE FROM {DEFAULT} WHERE period = :p"), {"p": period})
    if not attach(session, period):
        session.execute(text("ROLLBACK TO SAVEPOINT split_off"))
        session.execute(text("RELEASE SAVEPOINT split_off"))
        return False
    session.execute(text("RELEASE SAVEPOINT split_off"))
    return True


def written_to(session: Session, period: str) -> str:
    """The table that holds the period's lines: its partition, the DEFAULT partition, or the plain table."""
    if not partitioned(session):
        return PARENT
    return partition_name(period) if has_partition(session, period) else DEFAULT


def include_name(name, type_, parent_names) -> bool:
    """Alembic's ``include_name``: the partitions are not in the models (they are the one table's parts)."""
    return not (type_ == "table" and is_partition(name))
