"""Schema versioning: the Alembic revisions build exactly the models' schema, in place."""

from __future__ import annotations

from alembic import command
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


LINKED_ROWS = [
    "INSERT INTO imports (id, source, file_names, content_hash, started_at, status, rows_read,"
    " clients_added, clients_updated, sessions_added, sessions_updated, sessions_unchanged)"
    " VALUES (1, 'cli', 'a.csv', 'x', '2026-01-01 00:00:00', 'completed', 2, 1, 0, 2, 0, 0)",
    "INSERT INTO therapists (id, name) VALUES (1, 'Jo Park')",
    "INSERT INTO techniques (id, key, label) VALUES (1, 'heat', 'Heat'), (2, 'cupping', 'Cupping')",
    "INSERT INTO clients (id, client_code) VALUES (1, 'C1')",
    "INSERT INTO sessions (id, client_id, therapist_id, session_date, status, techniques)"
    " VALUES (1, 1, 1, '2026-01-05', 'attended', 'heat;cupping'),"
    " (2, 1, 1, '2026-01-12', 'attended', 'heat')",
    "INSERT INTO session_techniques (session_id, technique_id) VALUES (2, 1), (1, 2), (1, 1)",
]


def test_upgrade_from_0007_rebuilds_session_techniques_keeping_every_link(
    empty_engine: Engine,
) -> None:
    with empty_engine.begin() as conn:
        command.upgrade(db._alembic_config(conn), "0007")
        for statement in LINKED_ROWS:
            conn.execute(text(statement))
    db.upgrade_schema(empty_engine)
    with empty_engine.connect() as conn:
        assert db.current_revision(conn) == db.head_revision()
        links = conn.execute(
            text("SELECT session_id, technique_id FROM session_techniques ORDER BY 1, 2")
        ).all()
        assert [tuple(link) for link in links] == [(1, 1), (1, 2), (2, 1)]
        indexes = {index["name"] for index in inspect(conn).get_indexes("session_techniques")}
        assert indexes == {"ix_session_techniques_technique"}
        if conn.dialect.name == "sqlite":
            sql = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'session_techniques'"
            ).scalar_one()
            assert sql.rstrip().endswith("WITHOUT ROWID")
            # The cascade from sessions still reaches the rebuilt table.
            conn.exec_driver_sql("DELETE FROM sessions WHERE id = 1")
            left = conn.exec_driver_sql("SELECT session_id FROM session_techniques").all()
            assert [tuple(row) for row in left] == [(2,)]
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert differences == []
