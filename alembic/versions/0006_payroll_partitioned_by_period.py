"""partner_payroll partitioned by period (PostgreSQL)

A month's finance snapshot is ~200k new lines. Written into one table they are 200k primary-key insertions into an
index that holds every earlier month; as a partition of their own they are a plain append plus one sorted index
build, attached in one step (hub/adapters/payroll_partitions.py). Lines of periods without a partition — the
lines there were before this revision, lines streamed before a period's first snapshot — live in the DEFAULT
partition; the lines there already get a partition per period. SQLite keeps the plain table.

Revision ID: 0006
Revises: 0005
"""
import re

from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE partner_payroll RENAME TO partner_payroll_before_0006")
    op.execute("ALTER INDEX pk_partner_payroll RENAME TO partner_payroll_before_0006_pkey")
    op.execute("CREATE TABLE partner_payroll (LIKE partner_payroll_before_0006 INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
               " PARTITION BY LIST (period)")
    op.execute("ALTER TABLE partner_payroll ADD CONSTRAINT pk_partner_payroll PRIMARY KEY (id_number, unit_code, period)")
    op.execute("CREATE TABLE partner_payroll_default PARTITION OF partner_payroll DEFAULT")
    # Every period already there gets its partition, so the DEFAULT one starts empty (attaching a later period's
    # partition looks through it under an exclusive lock).
    periods = [r[0] for r in bind.exec_driver_sql("SELECT DISTINCT period FROM partner_payroll_before_0006")]
    for period in periods:
        if re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", period):
            op.execute(f"CREATE TABLE partner_payroll_{period.replace('-', '_')} PARTITION OF partner_payroll"
                       f" FOR VALUES IN ('{period}')")
    op.execute("INSERT INTO partner_payroll SELECT * FROM partner_payroll_before_0006")
    op.execute("DROP TABLE partner_payroll_before_0006")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    bind = op.get_bind()
    parts = [r[0] for r in bind.exec_driver_sql(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'partner_payroll'::regclass AND c.relname <> 'partner_payroll_default'")]
    for name in parts:  # fold every period's partition back into the one table
        op.execute(f'ALTER TABLE partner_payroll DETACH PARTITION "{name}"')
        op.execute(f'INSERT INTO partner_payroll_default SELECT id_number, unit_code, period, name, gross_amount, paid,'
                   f' event_id, updated_at FROM "{name}"')
        op.execute(f'DROP TABLE "{name}"')
    op.execute("ALTER TABLE partner_payroll DETACH PARTITION partner_payroll_default")
    op.execute("DROP TABLE partner_payroll")
    op.execute("ALTER TABLE partner_payroll_default RENAME TO partner_payroll")
    op.execute("ALTER INDEX partner_payroll_default_pkey RENAME TO pk_partner_payroll")
