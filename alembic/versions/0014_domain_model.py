"""The registry as an establishment officer knows it (issue 19): unit grade (机构规格), 参公,
classification and dispatched bodies; mismatch kinds of the new rules; education and
degree apart, full-time and in-service; flexible retirement decisions; the non-establishment staff register (编外).

Existing data is carried over: a person's education stays their (full-time) education, degrees start unknown.

Revision ID: 0014
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0011'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
OLD_KINDS = ('IDENTITY_UNKNOWN', 'NAME_MISMATCH', 'DECEASED_ACTIVE', 'GHOST_PAYROLL', 'PAYROLL_UNIT_MISMATCH',
             'DOUBLE_PAYROLL', 'UNPAID_POSTING', 'INSURANCE_EMPLOYER_MISMATCH', 'INSURANCE_MISSING', 'HR_STATUS_CONFLICT',
             'HR_UNIT_MISMATCH', 'RETIREMENT_DUE', 'OVER_QUOTA', 'LEADERSHIP_OVER_QUOTA', 'HEADCOUNT_INCONSISTENT')
NEW_KINDS = OLD_KINDS + ('LEADER_RANK_CONFLICT', 'MIXED_CATEGORY', 'UNAPPROVED_DEPARTMENT')
EDUCATION = "'DOCTORATE', 'MASTER', 'BACHELOR', 'COLLEGE', 'SECONDARY', 'OTHER'"
DEGREES = "'DOCTOR', 'MASTER', 'BACHELOR'"


def _kinds(values) -> str:
    return "kind IN (" + ", ".join(f"'{v}'" for v in values) + ")"


GRADES = "'BUREAU', 'DEPUTY_BUREAU', 'DIVISION', 'DEPUTY_DIVISION', 'SECTION', 'DEPUTY_SECTION'"
CLASSES = "'PUBLIC_WELFARE_1', 'PUBLIC_WELFARE_2', 'ADMINISTRATIVE_FUNCTIONS', 'BUSINESS'"
DISPATCHED = "'SUBDISTRICT_OFFICE', 'DEVELOPMENT_ZONE'"


def upgrade() -> None:
    for table in ('units', 'unit_versions'):  # existing units: grade and classification unknown, not 参公, not dispatched
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('grade', sa.String(length=16), nullable=True))
            batch_op.add_column(sa.Column('civil_service_managed', sa.Boolean(), nullable=False, server_default=sa.false()))
            batch_op.add_column(sa.Column('classification', sa.String(length=32), nullable=True))
            batch_op.add_column(sa.Column('dispatched', sa.String(length=32), nullable=True))
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_units_grade_allowed'), f"grade IS NULL OR grade IN ({GRADES})")
        batch_op.create_check_constraint(op.f('ck_units_classification_allowed'),
                                         f"classification IS NULL OR classification IN ({CLASSES})")
        batch_op.create_check_constraint(op.f('ck_units_dispatched_allowed'), f"dispatched IS NULL OR dispatched IN ({DISPATCHED})")
    with op.batch_alter_table('mismatches', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_mismatches_kind_allowed'), type_='check')
        batch_op.create_check_constraint(op.f('ck_mismatches_kind_allowed'), _kinds(NEW_KINDS))

    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('degree', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('in_service_education', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('in_service_degree', sa.String(length=16), nullable=True))
        batch_op.create_check_constraint(op.f('ck_persons_degree_allowed'), f"degree IS NULL OR degree IN ({DEGREES})")
        batch_op.create_check_constraint(op.f('ck_persons_in_service_education_allowed'),
                                         f"in_service_education IS NULL OR in_service_education IN ({EDUCATION})")
        batch_op.create_check_constraint(op.f('ck_persons_in_service_degree_allowed'),
                                         f"in_service_degree IS NULL OR in_service_degree IN ({DEGREES})")
    op.create_table('retirement_decisions',
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('retire_on', sa.Date(), nullable=False),
    sa.Column('document_number', sa.String(length=100), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('EARLY', 'DELAY')", name=op.f('ck_retirement_decisions_kind_allowed')),
    sa.ForeignKeyConstraint(['id_number'], ['persons.id_number'], name=op.f('fk_retirement_decisions_id_number_persons')),
    sa.PrimaryKeyConstraint('id_number', name=op.f('pk_retirement_decisions'))
    )
    op.create_table('non_establishment_staff',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('unit_code', sa.String(length=18), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('document_number', sa.String(length=100), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('CONTRACT', 'LABOUR_DISPATCH', 'SECONDMENT', 'TEMPORARY_POST', 'RETIREE_PENSION')",
                       name=op.f('ck_non_establishment_staff_kind_allowed')),
    sa.CheckConstraint('end_date IS NULL OR end_date >= start_date', name=op.f('ck_non_establishment_staff_end_after_start')),
    sa.CheckConstraint('(active AND end_date IS NULL) OR (NOT active AND end_date IS NOT NULL)',
                       name=op.f('ck_non_establishment_staff_active_iff_open')),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_non_establishment_staff_unit_code_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_non_establishment_staff'))
    )
    with op.batch_alter_table('non_establishment_staff', schema=None) as batch_op:
        batch_op.create_index('ix_non_establishment_staff_person', ['id_number'], unique=False)
        batch_op.create_index('uq_non_establishment_staff_one_active', ['id_number', 'unit_code'], unique=True,
                              postgresql_where=sa.text('active'), sqlite_where=sa.text('active'))
    op.create_table('internal_departments',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('unit_code', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('approved', sa.Boolean(), nullable=False),
    sa.Column('chief_positions', sa.Integer(), nullable=False),
    sa.Column('deputy_positions', sa.Integer(), nullable=False),
    sa.Column('document_number', sa.String(length=100), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('chief_positions >= 0 AND deputy_positions >= 0',
                       name=op.f('ck_internal_departments_positions_nonnegative')),
    sa.ForeignKeyConstraint(['unit_code'], ['units.code'], name=op.f('fk_internal_departments_unit_code_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_internal_departments'))
    )
    with op.batch_alter_table('internal_departments', schema=None) as batch_op:
        batch_op.create_index('uq_internal_departments_one_active', ['unit_code', 'name'], unique=True,
                              postgresql_where=sa.text('active'), sqlite_where=sa.text('active'))
    with op.batch_alter_table('person_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('degree', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('in_service_education', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('in_service_degree', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('internal_departments', schema=None) as batch_op:
        batch_op.drop_index('uq_internal_departments_one_active', postgresql_where=sa.text('active'), sqlite_where=sa.text('active'))
    op.drop_table('internal_departments')
    op.drop_table('retirement_decisions')
    with op.batch_alter_table('non_establishment_staff', schema=None) as batch_op:
        batch_op.drop_index('uq_non_establishment_staff_one_active', postgresql_where=sa.text('active'), sqlite_where=sa.text('active'))
        batch_op.drop_index('ix_non_establishment_staff_person')
    op.drop_table('non_establishment_staff')
    with op.batch_alter_table('person_versions', schema=None) as batch_op:
        batch_op.drop_column('in_service_degree')
        batch_op.drop_column('in_service_education')
        batch_op.drop_column('degree')
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_persons_in_service_degree_allowed'), type_='check')
        batch_op.drop_constraint(op.f('ck_persons_in_service_education_allowed'), type_='check')
        batch_op.drop_constraint(op.f('ck_persons_degree_allowed'), type_='check')
        batch_op.drop_column('in_service_degree')
        batch_op.drop_column('in_service_education')
        batch_op.drop_column('degree')
    with op.batch_alter_table('units', schema=None) as batch_op:
        for ck in ('ck_units_dispatched_allowed', 'ck_units_classification_allowed', 'ck_units_grade_allowed'):
            batch_op.drop_constraint(op.f(ck), type_='check')
    for table in ('unit_versions', 'units'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for col in ('dispatched', 'classification', 'civil_service_managed', 'grade'):
                batch_op.drop_column(col)
    added = ", ".join(f"'{k}'" for k in NEW_KINDS if k not in OLD_KINDS)
    op.execute(f"DELETE FROM mismatches WHERE kind IN ({added})")  # kinds the old schema cannot hold
    with op.batch_alter_table('mismatches', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_mismatches_kind_allowed'), type_='check')
        batch_op.create_check_constraint(op.f('ck_mismatches_kind_allowed'), _kinds(OLD_KINDS))
