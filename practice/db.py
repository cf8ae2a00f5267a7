"""Engines, schema migrations and the bulk-write helpers shared by the importer.

SQLite (the default, one file) and PostgreSQL (a multi-location practice) run the same code;
the few dialect differences live here and nowhere else.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    CompoundSelect,
    Connection,
    Date,
    Engine,
    Float,
    Integer,
    MetaData,
    Select,
    Table,
    Text,
    bindparam,
    cast,
    create_engine,
    delete,
    event,
    exists,
    false,
    func,
    insert,
    inspect,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import DBAPIError, OperationalError

from practice import config
from practice.models import Base, Import

_T = TypeVar("_T")
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Imports wait this long for another import's write lock before giving up (seconds).
LOCK_TIMEOUT_S = 120
# PostgreSQL advisory-lock key that serialises imports (any constant; "HEAD" in ASCII).
IMPORT_LOCK_KEY = 0x48454144
# Rows converted to Python values at a time by bulk_insert (bounds the memory of a big import).
BULK_CHUNK_ROWS = 50_000
# Ids per DELETE ... WHERE id IN (...) statement (SQLite allows 32,766 bound parameters).
DELETE_CHUNK_IDS = 10_000
# The BEGIN each `sqlite_begin` execution option issues (SQLAlchemy leaves BEGIN to us).
SQLITE_BEGIN = {"DEFERRED": "BEGIN DEFERRED", "IMMEDIATE": "BEGIN IMMEDIATE"}
# Columns read back as datetime64 by read_frame, whichever database stored them.
DATE_COLUMNS = ("intake_date", "session_date", "first_date", "last_date", "diary_date")


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
    # The driver's `timeout` is SQLite's busy timeout: a writer waits this long for the lock.
    engine = create_engine(url, connect_args={"timeout": LOCK_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _set_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, issue BEGIN so that imports can BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the importing writer
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; survives process crashes
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(SQLITE_BEGIN[mode])

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


# SQLite's extended code for a write refused because another connection committed since this
# transaction first read (WAL mode): reported at once, without waiting for the lock.
SQLITE_BUSY_SNAPSHOT = 517
STALE_READ_ATTEMPTS = 3


def run_transaction(engine: Engine, work: Callable[[Connection], _T]) -> _T:
    """`work(conn)` in one transaction, run again (up to STALE_READ_ATTEMPTS times) when SQLite
    refuses its write because another connection wrote after its read.

    A short transaction that reads and then writes (a sign-in, a session's activity) starts
    deferred so that it never waits behind an import just to read; SQLite then refuses its
    first write at once ("database is locked", SQLITE_BUSY_SNAPSHOT) if anyone committed in
    between, and the whole transaction, rolled back, is simply run again. `work` must have no
    effect outside the connection. Every other error, and PostgreSQL, passes straight through.
    """
    attempt = 1
    while True:
        try:
            with engine.begin() as conn:
                return work(conn)
        except OperationalError as exc:
            stale = getattr(exc.orig, "sqlite_errorcode", None) == SQLITE_BUSY_SNAPSHOT
            if not stale or attempt == STALE_READ_ATTEMPTS:
                raise
            attempt += 1


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
                conn.execute(select(func.pg_advisory_xact_lock(IMPORT_LOCK_KEY)))
            yield conn


class DatabaseBusy(Exception):
    """Another import held the write lock for longer than LOCK_TIMEOUT_S; nothing was written."""


def table_of(model: type[Base]) -> Table:
    """The Core table behind a model class (what insert/update/delete are built on)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def next_ids(conn: Connection, model: type[Base], count: int) -> range:
    """`count` fresh primary keys for `model`'s table; the caller holds the import lock."""
    table = table_of(model)
    start = conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    return range(int(start) + 1, int(start) + 1 + count)


def bulk_insert(conn: Connection, model: type[Base], frame: pd.DataFrame) -> None:
    """Insert every row of `frame` (columns named as in `model`) in one bulk operation.

    Dates may come as datetime64 or `datetime.date`, JSON columns as dicts. PostgreSQL:
    when one statement shows that every foreign key's referenced rows exist
    (`_keys_fill_their_ranges`, the usual case), COPY straight into the table with the
    per-row key triggers off; otherwise COPY into a temporary staging table, every foreign
    key checked in one statement, then one `INSERT ... SELECT` (`_insert_staged`).
    SQLite: Core's insert statement, compiled once and run by the driver as one
    executemany in the open transaction, a large batch's secondary indexes built after it
    (`_indexes_built_after`). (Letting SQLAlchemy convert each row's parameters cost a
    third more CPU time per import at 100,000 sessions; the rows are converted here
    instead, column by column.) Rows are converted BULK_CHUNK_ROWS at a time, so that a
    million rows never exist as Python objects at once.
    """
    if frame.empty:
        return
    table = table_of(model)
    columns = [c.name for c in table.c if c.name in frame.columns]
    unknown = sorted(set(frame.columns) - set(columns))
    if unknown:
        raise ValueError(f"{table.name} has no column(s) {', '.join(map(str, unknown))}")
    if conn.dialect.name == "postgresql":
        if _keys_fill_their_ranges(conn, table, frame):
            with _triggers_off(conn):
                copy_rows(conn, table, columns, frame)
        else:
            _insert_staged(conn, table, frame[columns])
        return
    compiled = insert(table).compile(dialect=conn.dialect, column_keys=columns)
    assert list(compiled.positiontup or []) == columns  # rows are positional, in this order
    with _indexes_built_after(conn, table, len(frame)):
        for start in range(0, len(frame), BULK_CHUNK_ROWS):
            rows = _driver_rows(frame.iloc[start : start + BULK_CHUNK_ROWS][columns], table, conn)
            conn.exec_driver_sql(str(compiled), rows)


@contextmanager
def _indexes_built_after(conn: Connection, table: Table, rows: int) -> Iterator[None]:
    """SQLite: for a batch at least as large as the table, its secondary indexes are dropped
    before the rows go in and built again after, in the same transaction.

    Building an index once from sorted keys costs less than growing it row by row in key
    order that is random (dates, techniques): at a million sessions a third less CPU time.
    DDL is transactional in SQLite, so an error or a killed process rolls the drop back
    with the rows, and readers (WAL) keep seeing the committed table and its indexes until
    the commit. The unique constraints stay in place and check every row as before.
    PostgreSQL is left alone: dropping an index there locks out every reader until commit.
    """
    indexes = [index for index in table.indexes if not index.unique]
    if conn.dialect.name != "sqlite" or not indexes:
        yield
        return
    stored = conn.execute(select(func.count()).select_from(table)).scalar_one()
    present = {index["name"] for index in inspect(conn).get_indexes(table.name)}
    deferred = [index for index in indexes if index.name in present] if rows >= stored else []
    for index in deferred:
        index.drop(conn)
    yield
    for index in deferred:
        index.create(conn)


class MissingKeys(Exception):
    """Rows about to be written refer to rows that do not exist (a bug, never bad input)."""


def _keys_fill_their_ranges(conn: Connection, table: Table, frame: pd.DataFrame) -> bool:
    """PostgreSQL: True when, for every foreign key, each id from the lowest to the highest
    value `frame` holds exists in the referenced table (so every value does), by one query.

    Counting the referenced ids between the two bounds is one index range scan per key,
    instead of a staging table and an anti-join over every row; the importer's own ids are
    contiguous, so this holds unless rows were deleted (an undo), and then the staged path
    checks each value.
    """
    counts, spans = [], []
    for key in table.foreign_keys:
        if key.parent.name not in frame:
            continue
        values = frame[key.parent.name].dropna()
        if values.empty:
            continue
        low, high = int(values.min()), int(values.max())
        target = key.column
        found = select(func.count()).select_from(target.table).where(target.between(low, high))
        counts.append(found.scalar_subquery())
        spans.append(high - low + 1)
    if not counts:
        return True
    return list(conn.execute(select(*counts)).one()) == spans


def _insert_staged(conn: Connection, table: Table, frame: pd.DataFrame) -> None:
    """PostgreSQL: COPY into a staging table, check the keys set-based, INSERT ... SELECT.

    PostgreSQL checks a foreign key with one query per inserted row (its RI triggers), which
    cost most of an import's time. The keys are checked here instead with one anti-join per
    key, all in one statement, and the rows are moved with the triggers off (replication
    role "replica"), where the role may do so. Every writer of practice data holds the
    import lock (`import_transaction`), so no referenced row can vanish between the check
    and the commit. A role that may not set the replication role gets the triggers' checks.
    """
    stage = Table(
        f"_stage_{table.name}",
        MetaData(),
        *(Column(name, table.c[name].type) for name in frame.columns),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )
    stage.create(conn)
    copy_rows(conn, stage, list(frame.columns), frame)
    missing = conn.execute(_missing_keys(table, stage)).all() if table.foreign_keys else []
    if missing:
        shown = "; ".join(f"{column} {value}" for column, value in missing)
        raise MissingKeys(f"{table.name}: rows refer to rows that do not exist ({shown})")
    with _triggers_off(conn):
        conn.execute(insert(table).from_select(list(frame.columns), select(*stage.c)))
    stage.drop(conn)


def _missing_keys(table: Table, stage: Table) -> CompoundSelect[str, str] | Select[str, str]:
    """One statement: (column, value) of staged keys no referenced row has (at most 10)."""
    checks = []
    for key in table.foreign_keys:
        if key.parent.name not in stage.c:
            continue
        value, target = stage.c[key.parent.name], key.column
        checks.append(
            select(literal(key.parent.name), cast(value, Text)).where(
                value.is_not(None), ~exists().where(target == value)
            )
        )
    if not checks:
        return select(literal(""), literal("")).where(false())
    return union_all(*checks).limit(10) if len(checks) > 1 else checks[0].limit(10)


@contextmanager
def _triggers_off(conn: Connection) -> Iterator[None]:
    """Triggers (and so PostgreSQL's per-row key checks) off for the block, where allowed."""
    try:
        with conn.begin_nested():
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != "42501":  # insufficient_privilege
            raise
        yield
        return
    yield
    # Only when the block succeeded: after an error the transaction rolls back, and SET LOCAL
    # with it.
    conn.exec_driver_sql("SET LOCAL session_replication_role = origin")


def bulk_update(conn: Connection, model: type[Base], frame: pd.DataFrame) -> None:
    """Update rows of `model`'s table by `id` with every other column of `frame` (executemany).

    Dates may come as datetime64 or `datetime.date`; missing values are written as NULL.
    """
    if frame.empty:
        return
    table = table_of(model)
    columns = [c for c in frame.columns if c != "id"]
    # A bound parameter may not share its name with a column of the SET clause: prefix them.
    statement = (
        update(table)
        .where(table.c.id == bindparam("_id"))
        .values({column: bindparam(f"_{column}") for column in columns})
    )
    names = [f"_{name}" for name in frame.columns]
    rows = zip(*(_python_values(_model_values(frame[c], table)) for c in frame), strict=True)
    conn.execute(statement, [dict(zip(names, row, strict=True)) for row in rows])


def delete_ids(conn: Connection, model: type[Base], ids: Sequence[int], column: str = "id") -> None:
    """Delete the rows of `model`'s table whose `column` is in `ids`, in bounded batches."""
    target = table_of(model).c[column]
    for start in range(0, len(ids), DELETE_CHUNK_IDS):
        batch = [int(i) for i in ids[start : start + DELETE_CHUNK_IDS]]
        conn.execute(delete(target.table).where(target.in_(batch)))


def read_frame(conn: Connection, statement: Select[*tuple[Any, ...]]) -> pd.DataFrame:
    """A query's rows as a frame, date columns as datetime64 on either dialect."""
    frame = pd.read_sql(statement, conn)
    for column in DATE_COLUMNS:
        if column in frame:
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    return frame


def _driver_rows(frame: pd.DataFrame, table: Table, conn: Connection) -> list[tuple[Any, ...]]:
    """Rows as tuples of values the driver takes as they are, None where a value is missing.

    Dates become ISO text on SQLite (what SQLAlchemy's Date type stores there) and
    `datetime.date` on PostgreSQL; JSON columns become JSON text; numpy scalars, which the
    drivers reject, become Python values.
    """
    columns = []
    for name in frame.columns:
        column, kind = frame[name], table.c[name].type
        if isinstance(kind, Date):
            column = _date_values(column, iso_text=conn.dialect.name == "sqlite")
        elif isinstance(kind, JSON):
            column = column.map(json.dumps, na_action="ignore")
        columns.append(_python_values(column))
    return list(zip(*columns, strict=True))


def _model_values(column: pd.Series, table: Table) -> pd.Series:
    """Dates of a Date column as `datetime.date`, what SQLAlchemy's Date type binds."""
    if isinstance(table.c[column.name].type, Date):
        return _date_values(column, iso_text=False)
    return column


def _date_values(column: pd.Series, *, iso_text: bool) -> pd.Series:
    dates = pd.to_datetime(column)
    values = dates.dt.strftime("%Y-%m-%d") if iso_text else dates.dt.date
    return pd.Series(values, index=column.index, dtype=object).where(dates.notna(), None)


def _python_values(column: pd.Series) -> np.ndarray:
    """A column as an object array of Python values with None where it is NaN, NA or NaT."""
    values = column.to_numpy(dtype=object, copy=True)
    missing = column.isna().to_numpy()
    if missing.any():
        values[missing] = None
    return values


def copy_rows(conn: Connection, table: Table, columns: list[str], frame: pd.DataFrame) -> None:
    """PostgreSQL's COPY FROM STDIN of `frame`'s rows into `columns` of `table`.

    The one COPY path. The rows go as CSV that pyarrow writes BULK_CHUNK_ROWS at a time
    (a fraction of the time of handing the driver one Python tuple per row); a missing
    value is an unquoted empty field (NULL), an empty text a quoted one. The statement is
    composed by psycopg from quoted identifiers, never from pasted text.
    """
    from psycopg import sql as psql  # PostgreSQL's driver, loaded only when it is used

    driver = conn.connection.driver_connection
    assert driver is not None
    statement = psql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        psql.Identifier(table.name), psql.SQL(", ").join(map(psql.Identifier, columns))
    )
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for start in range(0, len(frame), BULK_CHUNK_ROWS):
            chunk = _arrow_rows(frame.iloc[start : start + BULK_CHUNK_ROWS][columns], table)
            sink = pa.BufferOutputStream()
            pacsv.write_csv(chunk, sink, options)
            copy.write(memoryview(sink.getvalue()))


def _arrow_rows(frame: pd.DataFrame, table: Table) -> pa.Table:
    """`frame` as Arrow columns typed for `table`'s columns, null where a value is missing."""
    arrays = []
    for name in frame.columns:
        column, kind = frame[name], table.c[name].type
        if isinstance(kind, Date):
            days = pd.to_datetime(column).to_numpy("datetime64[D]")
            array = pa.array(days, pa.date32(), from_pandas=True)
        elif isinstance(kind, JSON):
            array = pa.array(
                column.map(json.dumps, na_action="ignore"), pa.string(), from_pandas=True
            )
        elif isinstance(kind, Integer):
            array = pa.array(pd.array(column, dtype="Int64"), pa.int64())
        elif isinstance(kind, Boolean):
            array = pa.array(column, pa.bool_(), from_pandas=True)
        elif isinstance(kind, Float):
            array = pa.array(pd.to_numeric(column), pa.float64(), from_pandas=True)
        else:
            array = pa.array(_python_values(column), from_pandas=True)
        arrays.append(array)
    return pa.Table.from_arrays(arrays, names=list(frame.columns))


def reset_sequences(conn: Connection, models: Sequence[type[Base]]) -> None:
    """Move PostgreSQL id sequences past the ids the importer assigned itself."""
    if conn.dialect.name != "postgresql":
        return
    for model in models:
        table = table_of(model)
        highest = select(func.coalesce(func.max(table.c.id), 0)).scalar_subquery()
        sequence = func.pg_get_serial_sequence(table.name, "id")
        conn.execute(select(func.setval(sequence, highest + 1, False)))


def describe_url(url: str) -> str:
    """The database URL without its password, for messages and logs."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


__all__ = [
    "DatabaseBusy",
    "MissingKeys",
    "bulk_insert",
    "bulk_update",
    "copy_rows",
    "create_engine_for",
    "delete_ids",
    "describe_url",
    "has_imports",
    "import_transaction",
    "next_ids",
    "read_frame",
    "reset_sequences",
    "table_of",
    "upgrade_schema",
]
