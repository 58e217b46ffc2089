"""Personal data hardening (issue 12, items 1-5): the access log records lookups that found nobody

`access_log.outcome`: NULL for a read (a person was returned); NOT_FOUND or OUT_OF_SCOPE for a lookup that answered
"no such person" (docs/access.md, "No membership oracle").

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.drop_column('outcome')
