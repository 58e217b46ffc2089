"""partner_payroll without the (unit_code, period) index

Nothing looks payroll lines up by unit: the 三数一致 report scans one period, the connectors and `hub compare` go by
person (the primary key's prefix). The index doubled the cost of writing a month's snapshot (200k lines).

Revision ID: 0005
Revises: 0004
"""
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('partner_payroll', schema=None) as batch_op:
        batch_op.drop_index('ix_partner_payroll_unit_period')


def downgrade() -> None:
    with op.batch_alter_table('partner_payroll', schema=None) as batch_op:
        batch_op.create_index('ix_partner_payroll_unit_period', ['unit_code', 'period'], unique=False)
