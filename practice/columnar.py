"""Reading a query's rows straight into Arrow columns through an ADBC driver (PostgreSQL's binary
COPY, SQLite's C API), without the Python object per value a DB-API cursor makes.

`open_reader(engine)` reads over one consistent snapshot of the engine's database. It raises
`Unavailable` where the engine's URL cannot be read this way (an in-memory SQLite database,
another driver, a URL option libpq does not know) or a query fails: the caller then reads
through SQLAlchemy as before (`queries.fetch_in_snapshot`). Nothing here logs or raises a
driver's message, which could quote the URL and its password.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyarrow as pa
from sqlalchemy import Engine, Select
from sqlalchemy.engine import URL, Dialect

log = logging.getLogger(__name__)

# SQLite's driver guesses each column's type from its first batch of rows and fails on a later
# value of another type (a text column whose first 1,024 values are missing): one batch of
# every row lets it see every value before it decides.
SQLITE_BATCH_ROWS = 2**30
# Every read of one reader is one transaction (autocommit off: the driver issues BEGIN), so every
# query sees the same snapshot: SQLite's from the first read on, PostgreSQL's REPEATABLE READ
# (an import committing halfway through cannot pair new sessions with old clients).
_CONNECTION_OPTIONS = {
    "sqlite": {"adbc.connection.autocommit": "false"},
    "postgresql": {
        "adbc.connection.autocommit": "false",
        "adbc.connection.transaction.isolation_level": (
            "adbc.connection.transaction.isolation.repeatable_read"
        ),
    },
}


class Unavailable(Exception):
    """The Arrow reader cannot serve this engine or query; read through SQLAlchemy instead."""


class ArrowReader:
    """One ADBC connection inside one read transaction: `read_table(select)` -> pa.Table."""

    def __init__(self, connection: Any, dialect: Dialect) -> None:
        self._connection = connection
        self.dialect = dialect

    def read_table(self, statement: Select[Any]) -> pa.Table:
        """The rows of `statement`, which must bind no value, as one Arrow table."""
        import adbc_driver_manager

        compiled = statement.compile(dialect=self.dialect)
        if compiled.params:  # values reach SQL only as bound parameters: the cursor binds them
            raise Unavailable("a statement with bound values")
        sql = str(compiled)
        handle = adbc_driver_manager.AdbcStatement(self._connection)
        try:
            if self.dialect.name == "sqlite":
                handle.set_options(**{"adbc.sqlite.query.batch_rows": str(SQLITE_BATCH_ROWS)})
            handle.set_sql_query(sql)
            stream, _ = handle.execute_query()
            return pa.RecordBatchReader.from_stream(stream).read_all()
        except (adbc_driver_manager.Error, OSError, pa.ArrowException) as exc:
            raise _unavailable("a query failed", exc) from None
        finally:
            handle.close()


@contextmanager
def open_reader(engine: Engine) -> Iterator[ArrowReader]:
    """An Arrow reader over one snapshot of `engine`'s database (`Unavailable` if none)."""
    uri = adbc_uri(engine.url)
    if uri is None:
        raise Unavailable("no Arrow reader for this kind of URL")
    try:
        import adbc_driver_manager
    except ImportError as exc:
        raise _unavailable("the ADBC drivers are not installed", exc) from None
    try:
        database = _database(engine.dialect.name, uri)
    except (ImportError, adbc_driver_manager.Error, OSError) as exc:
        raise _unavailable("could not open the database", exc) from None
    try:
        connection = adbc_driver_manager.AdbcConnection(database)
    except (adbc_driver_manager.Error, OSError) as exc:
        _forget(uri, database)
        raise _unavailable("could not connect", exc) from None
    try:
        try:
            connection.set_options(**_CONNECTION_OPTIONS[engine.dialect.name])
        except (adbc_driver_manager.Error, OSError) as exc:
            raise _unavailable("could not begin a read transaction", exc) from None
        yield ArrowReader(connection, engine.dialect)
    finally:
        with suppress(Exception):  # only reads happened: nothing to keep
            connection.rollback()
        connection.close()
        if engine.dialect.name == "sqlite":
            database.close()
        release_freed_memory()


# Opening PostgreSQL's ADBC database reads the server's type catalog (0.1-0.2 s): each URI's is
# kept for the next reads of this process (a few URIs at most; SQLite's costs nothing).
_POSTGRES_DATABASES: dict[str, Any] = {}
_KEPT_DATABASES = 4
_databases_lock = threading.Lock()


def _database(dialect: str, uri: str) -> Any:
    if dialect == "sqlite":
        import adbc_driver_sqlite

        return adbc_driver_sqlite.connect(uri)
    import adbc_driver_postgresql

    with _databases_lock:
        database = _POSTGRES_DATABASES.get(uri)
        if database is None:
            database = adbc_driver_postgresql.connect(uri)
            if len(_POSTGRES_DATABASES) >= _KEPT_DATABASES:  # a connection keeps its own alive
                _POSTGRES_DATABASES.pop(next(iter(_POSTGRES_DATABASES)))
            _POSTGRES_DATABASES[uri] = database
        return database


def _forget(uri: str, database: Any) -> None:
    """Open `uri`'s database afresh next time (the server may have changed)."""
    with _databases_lock:
        if _POSTGRES_DATABASES.get(uri) is database:
            del _POSTGRES_DATABASES[uri]
    with suppress(Exception):
        database.close()


def release_freed_memory() -> None:
    """Hand back to the system the memory a read freed but the allocators kept.

    The drivers build their Arrow tables with malloc, row by row: once the frames are made
    from them, glibc kept about 200 MB of freed memory at 1,000,000 sessions (and Arrow's own
    pool some 60 MB) that the dashboard process would otherwise hold for its whole life.
    """
    pa.default_memory_pool().release_unused()
    with suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def adbc_uri(url: URL) -> str | None:
    """The URI an ADBC driver opens for `url` (read-only for SQLite), or None where none can
    read the same database: an in-memory or URI-style SQLite database, another driver."""
    backend, driver = url.get_backend_name(), url.get_driver_name()
    if backend == "sqlite" and driver == "pysqlite":
        path = url.database
        if not path or path == ":memory:" or path.startswith("file:") or url.query:
            return None
        # Relative to the working directory, as the SQLite driver of the engine opens it.
        return f"file:{quote(str(Path(path).resolve()))}?mode=ro"
    if backend == "postgresql" and driver in ("psycopg", "psycopg2"):
        return url.set(drivername="postgresql").render_as_string(hide_password=False)
    return None


def _unavailable(what: str, exc: BaseException) -> Unavailable:
    # The driver's message may quote the URL (and so a password): only its kind is told.
    log.info("Arrow reader unavailable (%s: %s); reading through SQLAlchemy", what, type(exc))
    return Unavailable(f"{what} ({type(exc).__name__})")
