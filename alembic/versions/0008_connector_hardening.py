"""Connector hardening (issue 12, items 6-8): the topic id each stored consumer offset belongs to

A broker that lost its data (the embedded Tansu keeps topics in memory) re-creates a topic with a new id; an
offset stored under the old id points into a log that no longer exists. NULL for offsets stored before.

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('consumer_offsets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('topic_id', sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('consumer_offsets', schema=None) as batch_op:
        batch_op.drop_column('topic_id')
