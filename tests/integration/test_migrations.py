"""Migrations run from empty on SQLite and PostgreSQL, and the models match the migrated schema."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from hub.adapters.database import connect, current_revision, migrate
from hub.adapters.orm import Base


def test_migrated_schema_matches_the_models(db_url):
    db = connect(db_url)
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
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
