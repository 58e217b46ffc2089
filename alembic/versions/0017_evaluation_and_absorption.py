"""Annual evaluation (年度评估) and over-quota absorption (超编消化), issue 17: the office's dynamic indicators per
year, the scores the joint evaluation group enters, each unit's result per year (which a hiring-plan cut may cite:
hiring_plans.evaluation_id), and the targets of each over-quota unit's absorption plan. The timeliness scorecards
are computed from existing tables and store nothing.

Revision ID: 0017
Revises: 0016
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
CATEGORIES = "'ADMINISTRATIVE', 'POLITICAL_LEGAL', 'PUBLIC_INSTITUTION', 'WORKER'"


def upgrade() -> None:
    op.create_table(
        'evaluation_indicators',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('max_score', sa.Integer(), nullable=False),
        sa.Column('scored_by', sa.String(length=20), nullable=False),
        sa.Column('created_by', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('max_score > 0 AND max_score <= 100', name=op.f('ck_evaluation_indicators_max_score_range')),
        sa.CheckConstraint("scored_by IN ('ADMIN', 'ORGANIZATION', 'FINANCE')",
                           name=op.f('ck_evaluation_indicators_scored_by_allowed')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_indicators')),
        sa.UniqueConstraint('year', 'code', name='uq_evaluation_indicators_year_code'),
    )
    op.create_table(
        'evaluation_scores',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('indicator_id', BigId, nullable=False),
        sa.Column('unit_code', sa.String(length=18), nullable=False),
        sa.Column('score', sa.Integer(), nullable=False),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('entered_by', sa.String(length=200), nullable=False),
        sa.Column('entered_role', sa.String(length=20), nullable=False),
        sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('score >= 0', name=op.f('ck_evaluation_scores_score_not_negative')),
        sa.ForeignKeyConstraint(['indicator_id'], ['evaluation_indicators.id'],
                                name=op.f('fk_evaluation_scores_indicator_id_evaluation_indicators')),
        sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_evaluation_scores_unit_code_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_scores')),
        sa.UniqueConstraint('indicator_id', 'unit_code', name='uq_evaluation_scores_indicator_unit'),
    )
    op.create_index('ix_evaluation_scores_unit', 'evaluation_scores', ['unit_code'])
    op.create_table(
        'evaluation_results',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('unit_code', sa.String(length=18), nullable=False),
        sa.Column('score', sa.Integer(), nullable=False),
        sa.Column('max_score', sa.Integer(), nullable=False),
        sa.Column('grade', sa.String(length=16), nullable=False),
        sa.Column('details', sa.Text(), nullable=False),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('decided_by', sa.String(length=200), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("grade IN ('EXCELLENT', 'GOOD', 'PASS', 'FAIL')", name=op.f('ck_evaluation_results_grade_allowed')),
        sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_evaluation_results_unit_code_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_results')),
        sa.UniqueConstraint('year', 'unit_code', name='uq_evaluation_results_year_unit'),
    )
    op.create_table(
        'absorption_targets',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('unit_code', sa.String(length=18), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=False),
        sa.Column('target_date', sa.Date(), nullable=False),
        sa.Column('remaining', sa.Integer(), nullable=False),
        sa.Column('baseline', sa.Integer(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('entered_by', sa.String(length=200), nullable=False),
        sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f'category IN ({CATEGORIES})', name=op.f('ck_absorption_targets_category_allowed')),
        sa.CheckConstraint('remaining >= 0 AND baseline > 0', name=op.f('ck_absorption_targets_counts_allowed')),
        sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_absorption_targets_unit_code_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_absorption_targets')),
        sa.UniqueConstraint('unit_code', 'category', 'target_date', name='uq_absorption_targets_unit_category_date'),
    )
    with op.batch_alter_table('hiring_plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('evaluation_id', BigId, nullable=True))
        batch_op.create_foreign_key(op.f('fk_hiring_plans_evaluation_id_evaluation_results'), 'evaluation_results',
                                    ['evaluation_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('hiring_plans', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_hiring_plans_evaluation_id_evaluation_results'), type_='foreignkey')
        batch_op.drop_column('evaluation_id')
    op.drop_table('absorption_targets')
    op.drop_table('evaluation_results')
    op.drop_index('ix_evaluation_scores_unit', table_name='evaluation_scores')
    op.drop_table('evaluation_scores')
    op.drop_table('evaluation_indicators')
