"""Migrations run from empty on SQLite and PostgreSQL, and the models match the migrated schema."""

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from hub.adapters import database
from hub.adapters.database import connect, current_revision, migrate
from hub.adapters.orm import Base
from hub.adapters.payroll_partitions import include_name


def test_migrated_schema_matches_the_models(db_url):
    db = connect(db_url)
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
        diff = compare_metadata(ctx, Base.metadata)
    db.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_migrations_run_from_empty_and_are_repeatable(tmp_path, pg_url):
    for url in (f"sqlite:///{tmp_path / 'empty.sqlite3'}", pg_url):
        migrate(url)
        migrate(url)  # idempotent
        assert current_revision(url) is not None
        db = connect(url)
        tables = set(inspect(db.engine).get_table_names())
        db.dispose()
        assert {"units", "quotas", "leader_quotas", "persons", "postings", "mismatches", "outbox",
                "operation_log", "unit_versions", "person_versions", "api_tokens"} <= tables


def test_the_recorded_schema_revision_is_alembics_head_and_an_older_database_is_upgraded(tmp_path):
    from alembic.script import ScriptDirectory

    from hub.adapters.database import SCHEMA_REVISION, alembic_config

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    assert ScriptDirectory.from_config(alembic_config(url)).get_current_head() == SCHEMA_REVISION
    migrate(url, "0004")  # an older hub's database: the quick check must not take it for current
    assert current_revision(url) == "0004"
    migrate(url)
    assert current_revision(url) == SCHEMA_REVISION


@pytest.fixture
def empty_pg_url(pg_available):
    if not pg_available:
        pytest.skip("PostgreSQL not reachable")
    from tests.conftest import _admin_engine, _pg_url

    name = f"hub_mig_{uuid.uuid4().hex[:10]}"
    eng = _admin_engine()
    with eng.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield _pg_url(name)
    with eng.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    eng.dispose()


def test_payroll_partitions_upgrade_and_downgrade_keep_every_line(empty_pg_url):
    """0006 makes partner_payroll a table partitioned by period (PostgreSQL), the lines already there each in their
    period's partition; downgrading folds the partitions back into one table."""
    from alembic import command

    from hub.adapters.database import alembic_config
    from hub.adapters.payroll_partitions import attach, partitioned

    url = empty_pg_url
    migrate(url, "0005")
    db = connect(url)
    line = "INSERT INTO partner_payroll VALUES (:i, '91330100MA27XXXX0X', :p, '张伟', '1.00', true, 'e', now())"
    with db.engine.begin() as c:
        for i, p in (("330108199001010011", "2026-08"), ("330108199001010011", "2026-09"), ("330108199001010022", "2026-09")):
            c.execute(text(line), {"i": i, "p": p})
    db.dispose()
    migrate(url)
    db = connect(url)
    with db.session() as s:
        assert partitioned(s)
        s.execute(text("CREATE TABLE partner_payroll_2026_10 (LIKE partner_payroll INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
        s.execute(text(line.replace("partner_payroll", "partner_payroll_2026_10")), {"i": "330108199001010011", "p": "2026-10"})
        assert attach(s, "2026-10")
        s.execute(text(line), {"i": "330108199001010022", "p": "2026-11"})  # no partition: the default one
        s.commit()
        where = sorted(s.execute(text("SELECT period, tableoid::regclass::text FROM partner_payroll")).all())
    assert where == [("2026-08", "partner_payroll_2026_08"), ("2026-09", "partner_payroll_2026_09"),
                     ("2026-09", "partner_payroll_2026_09"), ("2026-10", "partner_payroll_2026_10"),
                     ("2026-11", "partner_payroll_default")]
    db.dispose()
    command.downgrade(alembic_config(url), "0005")
    db = connect(url)
    with db.session() as s:
        assert not partitioned(s)
        assert sorted(s.execute(text("SELECT period FROM partner_payroll")).scalars()) == \
            ["2026-08", "2026-09", "2026-09", "2026-10", "2026-11"]
        assert s.execute(text("SELECT count(*) FROM pg_class WHERE relname LIKE 'partner_payroll_%' AND relkind = 'r'")).scalar() == 0
    db.dispose()
    migrate(url)
    assert current_revision(url) == database.SCHEMA_REVISION


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_0014_carries_existing_data_over(backend, tmp_path, request):
    """Issue 19's migration on a registry at 0011: persons keep their education (now the full-time one, degrees
    unknown), units keep theirs (grade and classification unknown, not 参公), postings and open mismatches stay as
    they were; the new kinds, columns and tables are usable."""
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}" if backend == "sqlite" else request.getfixturevalue("empty_pg_url")
    migrate(url, "0011")
    db = connect(url)
    with db.engine.begin() as c:
        c.execute(text("INSERT INTO units (code, name, kind, level, region_code, funding, status) VALUES "
                       "('11330100000000001X', '杭州市测试局', 'GOVERNMENT_ORGAN', 'CITY', '330100', 'FULL', 'ACTIVE')"))
        c.execute(text("INSERT INTO persons (id_number, name, gender, birth_date, education) VALUES "
                       "('330108199001010011', '张伟', 'M', '1990-01-01', 'MASTER')"))
        c.execute(text("INSERT INTO postings (id_number, unit_code, category, leader_rank, start_date, active) VALUES "
                       "('330108199001010011', '11330100000000001X', 'ADMINISTRATIVE', 'SECTION_CHIEF', '2020-01-01', true)"))
        c.execute(text("INSERT INTO mismatches (id, kind, subject, unit_code, source, status, details, caused_by, detected_at,"
                       " updated_at) VALUES ('m1', 'OVER_QUOTA', '11330100000000001X', '11330100000000001X', 'registry',"
                       " 'OPEN', '{}', '[]', '2026-01-01', '2026-01-01')"))
    db.dispose()
    migrate(url)
    assert current_revision(url) == database.SCHEMA_REVISION
    db = connect(url)
    with db.engine.begin() as c:
        assert c.execute(text("SELECT name, education, degree, in_service_education, in_service_degree FROM persons")).one() == \
            ("张伟", "MASTER", None, None, None)
        assert c.execute(text("SELECT leader_rank, active FROM postings")).one() == ("SECTION_CHIEF", True)
        assert c.execute(text("SELECT name, grade, civil_service_managed, classification, dispatched FROM units")).one() == \
            ("杭州市测试局", None, False, None, None)
        c.execute(text("UPDATE units SET grade = 'DIVISION', dispatched = 'SUBDISTRICT_OFFICE'"))
        assert c.execute(text("SELECT count(*) FROM non_establishment_staff")).scalar() == 0
        assert c.execute(text("SELECT count(*) FROM retirement_decisions")).scalar() == 0
        assert c.execute(text("SELECT count(*) FROM internal_departments")).scalar() == 0
        assert c.execute(text("SELECT kind, status FROM mismatches")).one() == ("OVER_QUOTA", "OPEN")
        c.execute(text("UPDATE persons SET degree = 'MASTER', in_service_degree = 'DOCTOR'"))
        c.execute(text("INSERT INTO mismatches (id, kind, subject, unit_code, source, status, details, caused_by, detected_at,"
                       " updated_at) VALUES ('m2', 'LEADER_RANK_CONFLICT', '330108199001010011', '11330100000000001X', 'hr',"
                       " 'OPEN', '{}', '[]', '2026-01-01', '2026-01-01')"))
    db.dispose()
