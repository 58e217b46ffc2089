"""The mismatch lists' order (newest first: detected_at DESC, id): an index on detected_at, so that a page of
`mismatches` (compiled or general path) reads the newest rows first — PostgreSQL scans it backwards and sorts only
rows with the same detected_at by id (incremental sort) — instead of sorting the caller's whole scope.

Revision ID: 0018
Revises: 0017
"""
from alembic import op


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_mismatches_detected_at', 'mismatches', ['detected_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_mismatches_detected_at', table_name='mismatches')
