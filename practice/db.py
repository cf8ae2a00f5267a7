"""Engines, schema migrations and the bulk-write helpers shared by the importer.

SQLite (the default, one file) and PostgreSQL (a multi-location practice) run the same code;
the few dialect differences live here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, func, select, text
from sqlalchemy.exc import OperationalError

from practice import config
from practice.models import Import

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Imports wait this long for another import's write lock before giving up (seconds).
LOCK_TIMEOUT_S = 120
# PostgreSQL advisory-lock key that serialises imports (any constant; "HEAD" in ASCII).
IMPORT_LOCK_KEY = 0x48454144
# Rows converted to Python values at a time by bulk_insert (bounds the memory of a big import).
BULK_CHUNK_ROWS = 50_000


def create_engine_for(url: str | None = None) -> Engine:
    """An engine for `url` (default: config.database_url()) with Headway's connection settings."""
    url = url or config.database_url()
    if url.startswith("sqlite"):
        return _create_sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True)


def _create_sqlite_engine(url: str) -> Engine:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": LOCK_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _set_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, issue BEGIN so that imports can BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the importing writer
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={LOCK_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; survives process crashes
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _alembic_config(conn: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = conn
    return cfg


def upgrade_schema(engine: Engine) -> None:
    """Create the schema, or upgrade an existing database in place, to the newest revision."""
    with engine.connect() as conn:
        if current_revision(conn) == head_revision():
            return
    # Several processes may start on a new or older database at once: migrate under the same
    # lock imports take, and look again once it is held.
    with import_transaction(engine) as conn:
        if current_revision(conn) != head_revision():
            command.upgrade(_alembic_config(conn), "head")


def current_revision(conn: Connection) -> str | None:
    """The schema revision the database is at (None for an empty database)."""
    return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    """The newest schema revision this code knows."""
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


def has_imports(conn: Connection) -> bool:
    """True once anything has been imported into the database."""
    return bool(conn.execute(select(func.count()).select_from(Import)).scalar_one())


@contextmanager
def import_transaction(engine: Engine) -> Iterator[Connection]:
    """One all-or-nothing transaction that holds the import lock for its whole length.

    SQLite: BEGIN IMMEDIATE takes the write lock up front (waiting up to LOCK_TIMEOUT_S for
    another import), so two imports never interleave while readers carry on (WAL).
    PostgreSQL: a transaction-scoped advisory lock does the same.
    """
    with engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn:
        try:
            transaction = conn.begin()
        except OperationalError as exc:
            if "locked" in str(exc).lower():
                raise DatabaseBusy(
                    f"another import is still writing after {LOCK_TIMEOUT_S} s of waiting; "
                    "nothing was written: try again in a few minutes"
                ) from exc
            raise
        with transaction:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK_KEY})
            yield conn


class DatabaseBusy(Exception):
    """Another import held the write lock for longer than LOCK_TIMEOUT_S; nothing was written."""


def next_ids(conn: Connection, table: str, count: int) -> range:
    """`count` fresh primary keys for `table`; the caller holds the import lock."""
    start = conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")).scalar_one()  # noqa: S608 (table is ours)
    return range(int(start) + 1, int(start) + 1 + count)


def bulk_insert(conn: Connection, table: str, frame: pd.DataFrame) -> None:
    """Insert every row of `frame` (columns named as in `table`) in one bulk operation.

    PostgreSQL gets COPY (about 10x executemany); SQLite an executemany in the open transaction.
    Rows are converted to Python values BULK_CHUNK_ROWS at a time, so that a million rows
    never exist as Python objects all at once.
    """
    if frame.empty:
        return
    columns = list(frame.columns)
    chunks = (
        _python_rows(frame.iloc[start : start + BULK_CHUNK_ROWS])
        for start in range(0, len(frame), BULK_CHUNK_ROWS)
    )
    if conn.dialect.name == "postgresql":
        _copy_rows(conn, table, columns, chunks)
        return
    placeholders = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608
    for rows in chunks:
        conn.exec_driver_sql(sql, rows)


def bulk_update(conn: Connection, table: str, frame: pd.DataFrame) -> None:
    """Update rows of `table` by `id` with every other column of `frame`."""
    if frame.empty:
        return
    columns = [c for c in frame.columns if c != "id"]
    assignments = ", ".join(f"{c} = :{c}" for c in columns)
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    conn.execute(text(f"UPDATE {table} SET {assignments} WHERE id = :id"), records)  # noqa: S608


def delete_ids(conn: Connection, table: str, ids: Sequence[int], column: str = "id") -> None:
    """Delete the rows of `table` whose `column` is in `ids`, in bounded batches."""
    for start in range(0, len(ids), 10_000):
        batch = [int(i) for i in ids[start : start + 10_000]]
        marks = ", ".join(f":p{i}" for i in range(len(batch)))
        params = {f"p{i}": value for i, value in enumerate(batch)}
        conn.execute(text(f"DELETE FROM {table} WHERE {column} IN ({marks})"), params)  # noqa: S608


def _python_rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Rows as tuples of plain Python values, NaN/NA as None (drivers reject numpy scalars)."""
    columns = [_python_values(frame.iloc[:, i]) for i in range(frame.shape[1])]
    return list(zip(*columns, strict=True))


def _python_values(column: pd.Series) -> np.ndarray:
    """A column as an object array of Python values with None where it is NaN, NA or NaT."""
    values = column.to_numpy(dtype=object, copy=True)
    missing = column.isna().to_numpy()
    if missing.any():
        values[missing] = None
    return values


def _copy_rows(
    conn: Connection, table: str, columns: list[str], chunks: Iterable[list[tuple[Any, ...]]]
) -> None:
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor:
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with cursor.copy(statement) as copy:
            for rows in chunks:
                for row in rows:
                    copy.write_row(row)


def reset_sequences(conn: Connection, tables: Sequence[str]) -> None:
    """Move PostgreSQL id sequences past the ids the importer assigned itself."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            )
        )


def describe_url(url: str) -> str:
    """The database URL without its password, for messages and logs."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


__all__ = [
    "DatabaseBusy",
    "bulk_insert",
    "bulk_update",
    "create_engine_for",
    "delete_ids",
    "describe_url",
    "has_imports",
    "import_transaction",
    "next_ids",
    "reset_sequences",
    "upgrade_schema",
]
