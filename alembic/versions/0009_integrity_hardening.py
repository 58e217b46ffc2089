"""Limits and integrity (issue 12, items 9-12): keyed audit chains

The operation log's head records which key signs the chain (``key_id``, NULL: unkeyed SHA-256 as before). The
access log gets a chain of its own: ``access_log_seals`` (one link per batch of reads, a MAC over the previous link
and the batch's rows), its head ``access_chain_head``, and ``access_log.seal_seq`` naming each row's link. Rows
written before this revision have no link (they stay readable, outside the chain).

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('audit_chain_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_id', sa.String(length=16), nullable=True))
    op.create_table('access_chain_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', BigId, nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=True),
    sa.CheckConstraint('id = 1', name=op.f('ck_access_chain_head_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_chain_head'))
    )
    op.create_table('access_log_seals',
    sa.Column('seq', BigId, autoincrement=False, nullable=False),
    sa.Column('at', sa.String(length=32), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_access_log_seals'))
    )
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seal_seq', sa.BigInteger(), nullable=True))
        batch_op.create_index('ix_access_log_seal_seq', ['seal_seq'], unique=False)
    op.bulk_insert(sa.table('access_chain_head', sa.column('id', sa.Integer), sa.column('seq', sa.BigInteger),
                            sa.column('hash', sa.String)), [{'id': 1, 'seq': 0, 'hash': '0' * 64}])


def downgrade() -> None:
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.drop_index('ix_access_log_seal_seq')
        batch_op.drop_column('seal_seq')
    op.drop_table('access_log_seals')
    op.drop_table('access_chain_head')
    with op.batch_alter_table('audit_chain_head', schema=None) as batch_op:
        batch_op.drop_column('key_id')
