"""Schema versioning: the Alembic revisions build exactly the models' schema, in place."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from practice import db
from practice.models import Base


def test_migrations_produce_the_schema_the_models_describe(engine: Engine) -> None:
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert differences == []


def test_upgrade_is_a_no_op_on_a_current_database_and_keeps_its_rows(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO therapists (id, name) VALUES (1, 'Jo Park')"))
    db.upgrade_schema(engine)
    with engine.connect() as conn:
        assert db.current_revision(conn) == db.head_revision()
        assert conn.execute(text("SELECT name FROM therapists")).scalar_one() == "Jo Park"


def test_sqlite_connections_use_wal_and_enforce_foreign_keys(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    assert "sessions" in inspect(sqlite_engine).get_table_names()
