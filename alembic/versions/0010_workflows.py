"""Workflows (issue 13): the contract's unit kinds, district ADMIN tokens, hiring plans, onboardings and their steps,
approval forms, unit freezes, leader appointments, the document register, policy over-quota decisions

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
OLD_KINDS = ('PARTY_ORGAN', 'GOVERNMENT_ORGAN', 'MASS_ORGANIZATION', 'PUBLIC_INSTITUTION')
NEW_KINDS = ('PARTY_ORGAN', 'PEOPLES_CONGRESS', 'GOVERNMENT_ORGAN', 'CPPCC', 'SUPERVISORY_ORGAN', 'COURT',
             'PROCURATORATE', 'DEMOCRATIC_PARTY', 'MASS_ORGANIZATION', 'PUBLIC_INSTITUTION')
CATEGORIES = "'ADMINISTRATIVE', 'POLITICAL_LEGAL', 'PUBLIC_INSTITUTION', 'WORKER'"
STATUSES = "'IN_REVIEW', 'RETURNED', 'APPROVED', 'REJECTED', 'WITHDRAWN'"
ROUTES = ("'CIVIL_SERVICE_EXAM', 'SELECTED_GRADUATE', 'OPEN_SELECTION', 'TRANSFER_IN', 'OPEN_RECRUITMENT', "
          "'TALENT_INTRODUCTION', 'MILITARY_TRANSFER', 'POLICY_PLACEMENT'")
FORM_KINDS = "'ONBOARDING', 'DEPARTURE', 'TRANSFER', 'LEADER_APPOINTMENT', 'HIRING_PLAN'"


def _kinds(values) -> str:
    return "kind IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_units_kind_allowed'), type_='check')
        batch_op.create_check_constraint(op.f('ck_units_kind_allowed'), _kinds(NEW_KINDS))

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region_code', sa.String(length=6), nullable=True))
        batch_op.create_check_constraint(op.f('ck_api_tokens_region_only_for_admin'), "region_code IS NULL OR role = 'ADMIN'")

    op.create_table('hiring_plans',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('unit_code', sa.String(length=18), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('slots', sa.Integer(), nullable=False),
    sa.Column('approved_slots', sa.Integer(), nullable=True),
    sa.Column('filled', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('submitted_by', sa.String(length=200), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('form_number', sa.String(length=20), nullable=True),
    sa.CheckConstraint(f"category IN ({CATEGORIES})", name=op.f('ck_hiring_plans_category_allowed')),
    sa.CheckConstraint(f"status IN ({STATUSES})", name=op.f('ck_hiring_plans_status_allowed')),
    sa.CheckConstraint('slots > 0', name=op.f('ck_hiring_plans_slots_positive')),
    sa.CheckConstraint('approved_slots IS NULL OR (approved_slots >= 0 AND approved_slots <= slots)', name=op.f('ck_hiring_plans_approved_within_asked')),
    sa.CheckConstraint('filled >= 0 AND (approved_slots IS NULL OR filled <= approved_slots)', name=op.f('ck_hiring_plans_filled_within_approved')),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_hiring_plans_unit_code_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hiring_plans'))
    )
    with op.batch_alter_table('hiring_plans', schema=None) as batch_op:
        batch_op.create_index('ix_hiring_plans_unit_status', ['unit_code', 'status', 'category'], unique=False)

    op.create_table('onboardings',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('unit_code', sa.String(length=18), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('route', sa.String(length=32), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('education', sa.String(length=16), nullable=True),
    sa.Column('hiring_plan_id', BigId, nullable=True),
    sa.Column('required_reviews', sa.String(length=100), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('submitted_by', sa.String(length=200), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('posting_id', BigId, nullable=True),
    sa.Column('form_number', sa.String(length=20), nullable=True),
    sa.CheckConstraint(f"status IN ({STATUSES})", name=op.f('ck_onboardings_status_allowed')),
    sa.CheckConstraint(f"category IN ({CATEGORIES})", name=op.f('ck_onboardings_category_allowed')),
    sa.CheckConstraint(f"route IN ({ROUTES})", name=op.f('ck_onboardings_route_allowed')),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_onboardings_unit_code_units')),
    sa.ForeignKeyConstraint(['hiring_plan_id'], ['hiring_plans.id'], name=op.f('fk_onboardings_hiring_plan_id_hiring_plans')),
    sa.ForeignKeyConstraint(['posting_id'], ['postings.id'], name=op.f('fk_onboardings_posting_id_postings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_onboardings'))
    )
    with op.batch_alter_table('onboardings', schema=None) as batch_op:
        batch_op.create_index('ix_onboardings_unit_status', ['unit_code', 'status'], unique=False)
        batch_op.create_index('ix_onboardings_id_number', ['id_number'], unique=False)

    op.create_table('application_steps',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('application_id', BigId, nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['onboardings.id'], name=op.f('fk_application_steps_application_id_onboardings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_application_steps'))
    )
    with op.batch_alter_table('application_steps', schema=None) as batch_op:
        batch_op.create_index('ix_application_steps_application', ['application_id', 'id'], unique=False)

    op.create_table('approval_forms',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('unit_code', sa.String(length=18), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=True),
    sa.Column('issued_by', sa.String(length=200), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint(f"kind IN ({FORM_KINDS})", name=op.f('ck_approval_forms_kind_allowed')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_forms')),
    sa.UniqueConstraint('number', name=op.f('uq_approval_forms_number'))
    )
    with op.batch_alter_table('approval_forms', schema=None) as batch_op:
        batch_op.create_index('ix_approval_forms_id_number', ['id_number'], unique=False)

    op.create_table('unit_freezes',
    sa.Column('unit_code', sa.String(length=18), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('frozen_by', sa.String(length=200), nullable=False),
    sa.Column('frozen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_unit_freezes_unit_code_units')),
    sa.PrimaryKeyConstraint('unit_code', name=op.f('pk_unit_freezes'))
    )

    op.create_table('leader_appointments',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('posting_id', BigId, nullable=False),
    sa.Column('unit_code', sa.String(length=18), nullable=False),
    sa.Column('rank', sa.String(length=32), nullable=True),
    sa.Column('effective_date', sa.Date(), nullable=False),
    sa.Column('document_number', sa.String(length=100), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('checked_by', sa.String(length=200), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=200), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_by', sa.String(length=200), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('form_number', sa.String(length=20), nullable=True),
    sa.CheckConstraint("stage IN ('CHECKED', 'DECIDED', 'CONFIRMED')", name=op.f('ck_leader_appointments_stage_allowed')),
    sa.CheckConstraint("rank IS NULL OR rank IN ('DIVISION_CHIEF', 'DEPUTY_DIVISION_CHIEF', 'SECTION_CHIEF', 'DEPUTY_SECTION_CHIEF')", name=op.f('ck_leader_appointments_rank_allowed')),
    sa.ForeignKeyConstraint(['posting_id'], ['postings.id'], name=op.f('fk_leader_appointments_posting_id_postings')),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_leader_appointments_unit_code_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leader_appointments'))
    )
    with op.batch_alter_table('leader_appointments', schema=None) as batch_op:
        batch_op.create_index('ix_leader_appointments_open', ['id_number', 'stage'], unique=False)
        batch_op.create_index('ix_leader_appointments_unit', ['unit_code', 'stage', 'rank'], unique=False)

    op.create_table('documents',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('number', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('issuer', sa.String(length=200), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('COMMITTEE_MINUTES', 'REPLY', 'NOTICE', 'DECISION', 'APPOINTMENT', 'OTHER')", name=op.f('ck_documents_kind_allowed')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
    sa.UniqueConstraint('number', name=op.f('uq_documents_number'))
    )

    op.create_table('policy_overquota',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('unit_code', sa.String(length=18), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('slots', sa.Integer(), nullable=False),
    sa.Column('document_number', sa.String(length=100), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint(f"category IN ({CATEGORIES})", name=op.f('ck_policy_overquota_category_allowed')),
    sa.CheckConstraint('slots > 0', name=op.f('ck_policy_overquota_slots_positive')),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_policy_overquota_unit_code_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_overquota'))
    )
    with op.batch_alter_table('policy_overquota', schema=None) as batch_op:
        batch_op.create_index('ix_policy_overquota_unit', ['unit_code', 'category', 'deadline'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('policy_overquota', schema=None) as batch_op:
        batch_op.drop_index('ix_policy_overquota_unit')
    op.drop_table('policy_overquota')
    op.drop_table('documents')
    with op.batch_alter_table('leader_appointments', schema=None) as batch_op:
        batch_op.drop_index('ix_leader_appointments_unit')
        batch_op.drop_index('ix_leader_appointments_open')
    op.drop_table('leader_appointments')
    op.drop_table('unit_freezes')
    with op.batch_alter_table('approval_forms', schema=None) as batch_op:
        batch_op.drop_index('ix_approval_forms_id_number')
    op.drop_table('approval_forms')
    with op.batch_alter_table('application_steps', schema=None) as batch_op:
        batch_op.drop_index('ix_application_steps_application')
    op.drop_table('application_steps')
    with op.batch_alter_table('onboardings', schema=None) as batch_op:
        batch_op.drop_index('ix_onboardings_id_number')
        batch_op.drop_index('ix_onboardings_unit_status')
    op.drop_table('onboardings')
    with op.batch_alter_table('hiring_plans', schema=None) as batch_op:
        batch_op.drop_index('ix_hiring_plans_unit_status')
    op.drop_table('hiring_plans')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_api_tokens_region_only_for_admin'), type_='check')
        batch_op.drop_column('region_code')
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_units_kind_allowed'), type_='check')
        batch_op.create_check_constraint(op.f('ck_units_kind_allowed'), _kinds(OLD_KINDS))
