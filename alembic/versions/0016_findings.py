"""Supervision findings (issue 17, contract section 11): findings (整改事项) of audits, inspections and the hub's own
checks, and their steps to closing (销号)

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
SOURCES = "'AUDIT', 'INSPECTION', 'HUB'"
CATEGORIES = ("'UNAUTHORIZED_INSTITUTION', 'OVER_QUOTA_HIRING', 'OVER_LEADER_POSITIONS', 'MIXED_USE', "
              "'UNAUTHORIZED_QUOTA_INCREASE', 'FALSE_HEADCOUNT', 'IRREGULAR_DEPARTMENTS', 'INSTITUTION_BEYOND_MANDATE', "
              "'GHOST_PAYROLL'")
STATUSES = "'OPEN', 'RECTIFYING', 'VERIFIED', 'CLOSED'"
RECOMMENDATIONS = ("'RETURN_FUNCTIONS', 'RESTRUCTURE', 'ABSORB_EXCESS', 'CORRECT_POSTINGS', 'REDUCE_POSITIONS', "
                   "'ADJUST_DEPARTMENTS', 'RECOVER_FUNDS', 'OTHER'")
ACTIONS = "'RECORDED', 'PROGRESS', 'VERIFIED', 'REOPENED', 'CLOSED', 'DEADLINE_CHANGED', 'OVERDUE'"
LIVE_CONDITION = "closed_at IS NULL AND condition_key IS NOT NULL"


def upgrade() -> None:
    op.create_table('findings',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('unit_code', sa.String(length=18), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=True),
    sa.Column('recommendation', sa.Text(), nullable=False),
    sa.Column('recommendation_kind', sa.String(length=32), nullable=True),
    sa.Column('responsible_party', sa.String(length=200), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('condition_key', sa.String(length=200), nullable=True),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('overdue_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint(f"source IN ({SOURCES})", name=op.f('ck_findings_source_allowed')),
    sa.CheckConstraint(f"category IN ({CATEGORIES})", name=op.f('ck_findings_category_allowed')),
    sa.CheckConstraint(f"status IN ({STATUSES})", name=op.f('ck_findings_status_allowed')),
    sa.CheckConstraint(f"recommendation_kind IS NULL OR recommendation_kind IN ({RECOMMENDATIONS})",
                       name=op.f('ck_findings_recommendation_kind_allowed')),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_findings_unit_code_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_findings'))
    )
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.create_index('ix_findings_unit_status', ['unit_code', 'status'], unique=False)
        batch_op.create_index('ix_findings_status_deadline', ['status', 'deadline'], unique=False)
        batch_op.create_index('ix_findings_live_condition', ['condition_key'], unique=True,
                              postgresql_where=sa.text(LIVE_CONDITION), sqlite_where=sa.text(LIVE_CONDITION))

    op.create_table('finding_steps',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('finding_id', BigId, nullable=False),
    sa.Column('action', sa.String(length=24), nullable=False),
    sa.Column('status_before', sa.String(length=16), nullable=True),
    sa.Column('status_after', sa.String(length=16), nullable=False),
    sa.Column('deadline_before', sa.Date(), nullable=True),
    sa.Column('deadline_after', sa.Date(), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint(f"action IN ({ACTIONS})", name=op.f('ck_finding_steps_action_allowed')),
    sa.ForeignKeyConstraint(['finding_id'], ['findings.id'], name=op.f('fk_finding_steps_finding_id_findings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finding_steps'))
    )
    with op.batch_alter_table('finding_steps', schema=None) as batch_op:
        batch_op.create_index('ix_finding_steps_finding', ['finding_id', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('finding_steps', schema=None) as batch_op:
        batch_op.drop_index('ix_finding_steps_finding')
    op.drop_table('finding_steps')
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.drop_index('ix_findings_live_condition', postgresql_where=sa.text(LIVE_CONDITION),
                            sqlite_where=sa.text(LIVE_CONDITION))
        batch_op.drop_index('ix_findings_status_deadline')
        batch_op.drop_index('ix_findings_unit_status')
    op.drop_table('findings')
