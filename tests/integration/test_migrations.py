"""Migrations run from empty on SQLite and PostgreSQL, and the models match the migrated schema."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

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
