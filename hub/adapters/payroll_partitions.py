"""The finance view's partitions (PostgreSQL): ``partner_payroll`` is partitioned by period (migration 0006).

A period's first complete snapshot becomes a partition of its own: the lines are appended to a new table, which
is attached in one step (its primary-key index built by one sort) instead of 200k insertions into an index holding
every earlier month. Everything else — the connectors' upserts, later corrections of a period, the readers —
goes through ``partner_payroll`` and never needs to know: PostgreSQL routes rows to the period's partition, or to
the DEFAULT partition for periods without one. SQLite has the plain table.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.orm import Session

PARENT = "partner_payroll"
DEFAULT = "partner_payroll_default"
_NAME = re.compile(r"partner_payroll_(default|[0-9]{4}_[0-9]{2})\Z")


def partition_name(period: str) -> str:
    """``partner_payroll_2026_10`` for ``2026-10`` (the period is checked as YYYY-MM before it gets here)."""
    return f"{PARENT}_{period.replace('-', '_')}"


def is_partition(table_name: str) -> bool:
    """A table that is one of the finance view's partitions (schema comparisons leave those out)."""
    return bool(_NAME.match(table_name or ""))


def partitioned(session: Session) -> bool:
    return session.execute(text("SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass(:t)"),
                           {"t": PARENT}).scalar() is True


def has_partition(session: Session, period: str) -> bool:
    return session.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": partition_name(period)}).scalar()


def attach(session: Session, period: str) -> None:
    """Attach the period's table: PostgreSQL checks its rows are of the period and that the DEFAULT partition holds
    none, and builds its share of the primary key. Readers of the view wait for the caller's commit from here."""
    name = partition_name(period)
    session.execute(text(f"ALTER TABLE {PARENT} ATTACH PARTITION \"{name}\" FOR VALUES IN ('{period}')"))


def written_to(session: Session, period: str) -> str:
    """The table that holds the period's lines: its partition, the DEFAULT partition, or the plain table."""
    if not partitioned(session):
        return PARENT
    return partition_name(period) if has_partition(session, period) else DEFAULT


def include_name(name, type_, parent_names) -> bool:
    """Alembic's ``include_name``: the partitions are not in the models (they are the one table's parts)."""
    return not (type_ == "table" and is_partition(name))
