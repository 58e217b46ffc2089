"""Outbox rows the broker refused for good (issue: a refused row wedged the relay): ``refused_at`` and
``refused_reason``. A refused row is set aside — kept, not sent (``sent_at`` stays NULL) — and the relay goes on with
the rows after it; later rows of the same topic and key wait behind it (the contract's per-key order) until
`hub outbox retry` puts it back. ``ix_outbox_refused`` (partial: refused rows only, normally none) serves the relay's
check for rows waiting behind a refused one and `hub outbox refused`.

Revision ID: 0020
Revises: 0019
"""
import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refused_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('refused_reason', sa.Text(), nullable=True))
    op.create_index('ix_outbox_refused', 'outbox', ['topic', 'key', 'id'], unique=False,
                    postgresql_where=sa.text('refused_at IS NOT NULL'), sqlite_where=sa.text('refused_at IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_outbox_refused', table_name='outbox',
                  postgresql_where=sa.text('refused_at IS NOT NULL'), sqlite_where=sa.text('refused_at IS NOT NULL'))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('refused_reason')
        batch_op.drop_column('refused_at')
