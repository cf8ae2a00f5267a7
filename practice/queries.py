"""Reading the practice database into frames: fetch_*(conn, ...) -> DataFrame.

Functions take a connection the caller owns and never commit. Frames use the practice's own
client codes (`client_id`) and therapist names, as users know them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import Connection, Date, Engine, Float, Integer, Select, String, func, select

from practice import columnar, db
from practice.columns import COLUMNS, SESSION_NUMBER_COLUMNS
from practice.models import (
    AuditEvent,
    Client,
    DiaryDay,
    Import,
    Session,
    Technique,
    Therapist,
    TreatmentSeries,
)
from practice.series import NO_SERIES

# The clients frame: the practice's client code as `client_id`, every intake column.
CLIENT_FRAME = select(
    Client.client_code.label("client_id"),
    Client.name.label("client_name"),
    Client.intake_date,
    Client.birth_year,
    Client.sex,
    Client.headache_type,
    Client.headache_years,
    Client.baseline_pain,
    Client.baseline_headache_days_28d,
    Client.baseline_medication_days_28d,
    Client.baseline_hit6,
    Client.baseline_midas,
    Client.baseline_stress,
    Client.baseline_sleep_quality,
    Client.baseline_source,
    Client.triggers,
    Client.referral_source,
).order_by(Client.client_code)

# What the fetch_* functions read from: a SQLAlchemy connection the caller owns, or the Arrow
# reader of one snapshot (`fetch_in_snapshot`).
Source = Connection | columnar.ArrowReader
T = TypeVar("T")

# Rows are taken from the driver's cursor this many at a time and turned into typed columns at
# once: pandas.read_sql keeps every row as a tuple of Python objects until the end (about 1 GB
# at 1,000,000 sessions) and SQLAlchemy makes a `datetime.date` of every date first.
CHUNK_ROWS = 50_000
_ID_COLUMNS = ("client_id", "therapist_id", "series_id")

# The sessions as stored: client, therapist and series by their ids, which `fetch_sessions`
# replaces with the client's code, the therapist's name and the series' number.
SESSION_ROWS = select(
    Session.id.label("session_id"),
    Session.client_id,
    Session.therapist_id,
    Session.series_id,
    Session.series_code,
    Session.session_date,
    Session.status,
    Session.duration_min,
    Session.pressure,
    Session.pain_pre,
    Session.pain_post,
    Session.headache_days_7d,
    Session.headache_days_28d,
    Session.medication_days_7d,
    Session.hit6,
    Session.midas,
    Session.stress,
    Session.sleep_quality,
    Session.techniques,
    Session.self_care,
    Session.cancel_reason,
    Session.notes,
    Session.location,
)
# The sessions frame's columns, in order: the ids become code, name and number.
SESSION_FRAME_COLUMNS = (
    "session_id",
    "client_id",
    "therapist",
    "series_number",
    *SESSION_ROWS.selected_columns.keys()[len(_ID_COLUMNS) + 1 :],
)

# Number columns come back as floats (NaN when missing) on either database.
NUMERIC_CLIENT_COLUMNS = tuple(c.name for c in COLUMNS if c.part == "intake" and c.kind == "number")


def fetch_clients(conn: Source) -> pd.DataFrame:
    """Every client with their intake, one row each, ordered by client code."""
    frame = read_columns(conn, CLIENT_FRAME)
    return _as_floats(frame, NUMERIC_CLIENT_COLUMNS)


def fetch_sessions(conn: Source) -> pd.DataFrame:
    """Every session with its client code, therapist name and series number, oldest first
    (ordered by client code, date and therapist name)."""
    rows = read_columns(conn, SESSION_ROWS)
    # Codes and names in the database's own order: their positions sort as ORDER BY would.
    client_codes, client_at = _positions(
        conn, select(Client.id, Client.client_code).order_by(Client.client_code), rows["client_id"]
    )
    names, therapist_at = _positions(
        conn, select(Therapist.id, Therapist.name).order_by(Therapist.name), rows["therapist_id"]
    )
    numbers, series_at = _positions(
        conn, select(TreatmentSeries.id, TreatmentSeries.number), rows["series_id"]
    )
    # A follow-up visit that belongs to no series has no series row: number 0 (NO_SERIES), the
    # value appended last, where position -1 points.
    series_number = np.append(numbers.to_numpy(dtype="int64"), NO_SERIES)[series_at]
    derived = {
        "client_id": _take(client_codes, client_at),
        "therapist": _take(names, therapist_at),
        "series_number": series_number,
        "techniques": rows.pop("techniques").fillna("").array,
    }
    order = np.lexsort((therapist_at, rows["session_date"].to_numpy(dtype="int64"), client_at))
    # Column by column into one new frame: one copy of the sessions at a time, not three.
    columns = {}
    for name in SESSION_FRAME_COLUMNS:
        source = derived.pop(name) if name in derived else rows.pop(name).array
        columns[name] = source.take(order)
    return _as_floats(pd.DataFrame(columns, copy=False), SESSION_NUMBER_COLUMNS)


def _positions(
    conn: Source, pairs: Select[int, Any], ids: pd.Series
) -> tuple[pd.Series, np.ndarray]:
    """The values of `pairs` (id, value) in query order, and where each of `ids` is among them
    (-1 for a missing id)."""
    table = read_columns(conn, pairs)
    keys, values = table.iloc[:, 0].to_numpy(dtype="int64"), table.iloc[:, 1]
    lookup = np.full(int(keys.max(initial=0)) + 2, -1, dtype="int64")
    lookup[keys] = np.arange(len(keys))
    wanted = ids.to_numpy(dtype="float64", na_value=np.nan)
    known = ~np.isnan(wanted)
    at = np.full(len(wanted), -1, dtype="int64")
    at[known] = lookup[wanted[known].astype("int64")]
    return values, at


def _take(values: pd.Series, at: np.ndarray) -> Any:
    """`values` at positions `at` (of objects when there are none, as read_sql gives them)."""
    return values.array.take(at) if len(at) else pd.array(_nothing(0))


# The diary frame: one row per client and day, with the client's code.
DIARY_FRAME = (
    select(
        Client.client_code.label("client_id"),
        DiaryDay.diary_date,
        DiaryDay.headache,
        DiaryDay.severity,
        DiaryDay.pain,
        DiaryDay.medication,
        DiaryDay.notes,
    )
    .join(Client, Client.id == DiaryDay.client_id)
    .order_by(Client.client_code, DiaryDay.diary_date)
)


def fetch_diary_days(conn: Source) -> pd.DataFrame:
    """Every headache diary day with its client code, oldest first per client."""
    frame = read_columns(conn, DIARY_FRAME)
    frame["headache"] = frame["headache"].astype(bool)
    return _as_floats(frame, ("severity", "pain", "medication"))


def fetch_in_snapshot(engine: Engine, fetch: Callable[[Source], T]) -> T:
    """`fetch(source)` over one consistent snapshot of `engine`'s database: read as Arrow
    columns (`columnar`) where the engine's URL allows it, else through SQLAlchemy."""
    try:
        with columnar.open_reader(engine) as reader:
            return fetch(reader)
    except columnar.Unavailable:
        pass  # the same frames, read the slower way
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":  # SQLite's reads share one transaction already
            conn.execution_options(isolation_level="REPEATABLE READ")
        return fetch(conn)


def fetch_frames(engine: Engine) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every client and every session (`fetch_clients`, `fetch_sessions`) from one snapshot:
    what the dashboard loads once per data version."""
    return fetch_in_snapshot(engine, _clients_and_sessions)


def _clients_and_sessions(source: Source) -> tuple[pd.DataFrame, pd.DataFrame]:
    return fetch_clients(source), fetch_sessions(source)


def fetch_practice(engine: Engine) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Every client, session and headache diary day (`fetch_frames`, `fetch_diary_days`) from
    one snapshot: what the command line's summary and reports analyse."""
    return fetch_in_snapshot(engine, _clients_sessions_and_diary)


def _clients_sessions_and_diary(source: Source) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return fetch_clients(source), fetch_sessions(source), fetch_diary_days(source)


def read_columns(conn: Source, statement: Select[*tuple[Any, ...]]) -> pd.DataFrame:
    """A query's rows as a frame, as `db.read_frame` gives it (date columns as datetime64): from
    the Arrow reader's table, or from the driver's cursor in chunks, each turned into typed
    columns at once."""
    if isinstance(conn, columnar.ArrowReader):
        return _frame_of_table(conn.read_table(statement), statement)
    result = conn.execute(statement)
    kinds = [column.type for column in statement.selected_columns]
    chunks: list[list[Any]] = [[] for _ in kinds]
    try:
        while rows := result.cursor.fetchmany(CHUNK_ROWS):
            block = np.empty((len(rows), len(kinds)), dtype=object)
            block[:] = rows  # one object array: cheaper than a tuple per column
            for i, kind in enumerate(kinds):
                chunks[i].append(_typed(block[:, i], kind))
    finally:
        result.close()
    columns = {}
    for name, kind in zip(result.keys(), kinds, strict=True):
        columns[name] = _joined(chunks.pop(0), kind)  # each column's chunks freed once joined
    return pd.DataFrame(columns, copy=False)


def _typed(values: np.ndarray, kind: Any) -> Any:
    """One chunk of a column's values (objects) as a compact array of its type."""
    if isinstance(kind, Float):
        return values.astype("float64")  # None becomes NaN
    if isinstance(kind, Integer):
        try:
            return values.astype("int64")
        except TypeError:  # a value is missing: floats with NaN, as read_sql gives them
            return values.astype("float64")
    if isinstance(kind, String):
        return pa.array(values, type=pa.large_string(), from_pandas=True)
    if isinstance(kind, Date):
        # SQLite returns ISO text, PostgreSQL dates: each distinct value is parsed once.
        codes, uniques = pd.factorize(values)
        parsed = pd.DatetimeIndex(pd.to_datetime(uniques)).astype("datetime64[ns]")
        return parsed.take(codes, allow_fill=True, fill_value=pd.NaT).to_numpy()
    return values


def _joined(chunks: list[Any], kind: Any) -> Any:
    """A column's chunks as one array of read_sql's type: objects (None) for a column without
    any value, pandas' "str" for text."""
    if not chunks:  # no rows: read_sql's columns are of objects, read_frame's dates datetime64
        return np.array([], dtype="datetime64[ns]" if isinstance(kind, Date) else object)
    if isinstance(kind, String):
        text = pa.chunked_array(chunks, type=pa.large_string()).combine_chunks()
        return _nothing(len(text)) if text.null_count == len(text) else pd.array(text, dtype="str")
    joined = np.concatenate(chunks)
    if joined.dtype == "float64" and np.isnan(joined).all():
        return _nothing(len(joined))
    if joined.dtype == object:  # another type (a boolean): inferred from the values as read_sql
        return pd.Series(joined.tolist(), dtype=None)
    return joined


def _frame_of_table(table: pa.Table, statement: Select[*tuple[Any, ...]]) -> pd.DataFrame:
    """The Arrow reader's table as the frame `read_columns` gives from a cursor: the same
    columns, dtypes and values."""
    columns = {}
    kinds = [column.type for column in statement.selected_columns]
    arrays = table.columns
    del table  # each Arrow column is freed once converted
    for i, (name, kind) in enumerate(zip(statement.selected_columns.keys(), kinds, strict=True)):
        columns[name] = _converted(arrays[i], kind)
        arrays[i] = None
    return pd.DataFrame(columns, copy=False)


def _converted(column: pa.ChunkedArray, kind: Any) -> Any:
    """One Arrow column as `_joined` gives it from a cursor's values."""
    if not len(column):
        return _joined([], kind)
    if column.null_count == len(column):  # SQLite types a column of only NULLs as integers
        return (
            np.full(len(column), np.datetime64("NaT", "ns"))
            if isinstance(kind, Date)
            else (_nothing(len(column)))
        )
    if not _arrow_type_fits(column.type, kind):
        # SQLite keeps whatever a column was given (text in a number column): the cursor's
        # reading of such values is the reference, so read them that way.
        raise columnar.Unavailable(f"a {column.type} column read as {kind}")
    if isinstance(kind, Date):
        return _dates(column)
    if isinstance(kind, String):
        return pd.array(column, dtype="str")
    if isinstance(kind, Float | Integer):
        values = column.to_numpy()  # float64 with NaN where a value is missing
        if isinstance(kind, Integer) and not column.null_count:
            return values.astype("int64", copy=False)
        values = values.astype("float64", copy=False)
        return _nothing(len(values)) if np.isnan(values).all() else values
    if column.null_count:  # another type (a boolean) with gaps: inferred as read_sql does
        return pd.Series(column.to_pylist(), dtype=None)
    return pd.Series(column.to_numpy(), dtype=None)


def _arrow_type_fits(arrow_type: pa.DataType, kind: Any) -> bool:
    if isinstance(kind, Float | Integer):
        return bool(pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type))
    if isinstance(kind, String):
        return bool(pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type))
    if isinstance(kind, Date):
        return bool(pa.types.is_date(arrow_type) or pa.types.is_string(arrow_type))
    return True


def _dates(column: pa.ChunkedArray) -> np.ndarray:
    """Dates (PostgreSQL's) or ISO texts (SQLite's) as datetime64[ns], NaT where missing."""
    if pa.types.is_date(column.type):
        return column.cast(pa.timestamp("ns")).to_numpy()
    # Each distinct text is parsed once, as `_typed` parses a cursor's values.
    encoded = column.combine_chunks().dictionary_encode()
    texts = encoded.dictionary.to_numpy(zero_copy_only=False)
    parsed = pd.DatetimeIndex(pd.to_datetime(texts)).astype("datetime64[ns]")
    codes = encoded.indices.fill_null(-1).to_numpy()
    return parsed.take(codes, allow_fill=True, fill_value=pd.NaT).to_numpy()


def _nothing(length: int) -> np.ndarray:
    return np.full(length, None, dtype=object)


def _as_floats(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    return frame.astype({c: "float64" for c in columns})


@dataclass(frozen=True)
class PracticeCounts:
    """Headline counts of what is stored."""

    clients: int
    sessions: int
    therapists: int
    first_session: pd.Timestamp | None
    last_session: pd.Timestamp | None
    sample_only: bool


def fetch_counts(conn: Connection) -> PracticeCounts:
    """How many clients, sessions and therapists are stored, and over which dates."""

    def count(model: type[Client | Session | Therapist]) -> Any:
        return select(func.count()).select_from(model).scalar_subquery()

    row = conn.execute(
        select(
            count(Client),
            count(Session),
            count(Therapist),
            select(func.min(Session.session_date)).scalar_subquery(),
            select(func.max(Session.session_date)).scalar_subquery(),
        )
    ).one()
    sources = set(
        conn.execute(select(Import.source).where(Import.status == "completed").distinct()).scalars()
    )
    first, last = (pd.Timestamp(v) if v is not None else None for v in row[3:5])
    return PracticeCounts(
        int(row[0]), int(row[1]), int(row[2]), first, last, sample_only=sources == {"sample"}
    )


def fetch_data_version(conn: Connection, *, recorded_events: Sequence[str] = ()) -> tuple[int, int]:
    """(newest import id, imports undone + audit events named `recorded_events`): changes
    whenever an import, an undo or a session recorded in the app changes the data."""
    newest, undone = conn.execute(
        select(func.coalesce(func.max(Import.id), 0), func.count(Import.undone_at))
    ).one()
    recorded = conn.execute(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.event.in_(recorded_events))
    ).scalar_one()
    return int(newest), int(undone) + int(recorded)


def fetch_therapist_names(conn: Connection) -> list[str]:
    """Every stored therapist's name, in name order."""
    return [str(n) for n in conn.execute(select(Therapist.name).order_by(Therapist.name)).scalars()]


def fetch_technique_keys(conn: Connection) -> list[str]:
    """Every stored technique key, in key order."""
    return [str(k) for k in conn.execute(select(Technique.key).order_by(Technique.key)).scalars()]


def fetch_imports(conn: Connection) -> pd.DataFrame:
    """Import history, newest first, with what each import changed."""
    return db.read_frame(
        conn,
        select(
            Import.id,
            Import.source,
            Import.file_names,
            Import.started_at,
            Import.status,
            Import.rows_read,
            Import.clients_added,
            Import.clients_updated,
            Import.sessions_added,
            Import.sessions_updated,
            Import.sessions_unchanged,
            Import.diary_days_added,
            Import.diary_days_updated,
            Import.diary_days_unchanged,
            Import.undone_at,
            Import.imported_by,
            Import.notices,
        ).order_by(Import.id.desc()),
    )
