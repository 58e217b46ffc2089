"""Feed lag (issue 16, report feed-health): when an applied partner event was sent — its CloudEvent `time`, or the
Kafka record's timestamp when the event has none — kept next to when the hub applied it. Events applied before this
revision have no sent time (NULL) and count in no lag.

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('applied_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('applied_events', schema=None) as batch_op:
        batch_op.drop_column('sent_at')
