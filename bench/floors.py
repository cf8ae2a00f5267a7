"""The floors Headway is measured against: the least work that produces the same rows or values.

Import floor: pyarrow parses the CSV (nothing else: no checks, no mapping), then the parsed rows
go into a bare table with the file's columns (no key, no index, no foreign key) in one bulk
operation: executemany in one transaction on SQLite, COPY on PostgreSQL, as Headway writes.

Analysis floor: one hand-written vectorised pass over the loaded session frame that computes
each client's and series' baseline and latest value of every measure by Headway's rules
(docs/metrics.md), and nothing else: no series status, groups, changes, flags or models.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Engine

from practice.analysis._common import MEASURES

FLOOR_TABLE = "bench_floor_rows"
WINDOW_DAYS = 28


def parse_csv(path: Path) -> pa.Table:
    """The file as typed Arrow columns (pyarrow's own type inference)."""
    return pacsv.read_csv(path)


def bare_insert(engine: Engine, table: pa.Table) -> None:
    """Every row of `table` into a new bare table, in one bulk operation and one transaction."""
    columns = table.column_names
    with engine.begin() as conn:
        postgres = conn.dialect.name == "postgresql"
        types = ", ".join(f"{c} {_sql_type(table.schema.field(c).type, postgres)}" for c in columns)
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
        conn.exec_driver_sql(f"CREATE TABLE {FLOOR_TABLE} ({types})")
    with engine.begin() as conn:
        rows = python_rows(table, dates_as_text=not postgres)
        if postgres:
            driver = conn.connection.driver_connection
            assert driver is not None
            with (
                driver.cursor() as cursor,
                cursor.copy(f"COPY {FLOOR_TABLE} ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {FLOOR_TABLE} VALUES ({marks})"  # noqa: S608 (our own table)
            conn.exec_driver_sql(sql, list(rows))


def drop_floor_table(engine: Engine) -> None:
    """Remove the floor's table (after the measurement)."""
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")


def python_rows(table: pa.Table, *, dates_as_text: bool) -> Iterator[tuple[Any, ...]]:
    """Rows of plain Python values; dates as ISO text for SQLite (as Headway stores them)."""
    columns = []
    for column in table.columns:
        if dates_as_text and (pa.types.is_timestamp(column.type) or pa.types.is_date(column.type)):
            column = column.cast(pa.date32()).cast(pa.string())
        columns.append(column.to_pylist())
    return zip(*columns, strict=True)


def _sql_type(kind: pa.DataType, postgres: bool) -> str:
    if not postgres:
        return ""  # SQLite columns need no type
    if pa.types.is_integer(kind):
        return "bigint"
    if pa.types.is_floating(kind):
        return "double precision"
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return "date"
    return "text"


# --- analysis ---------------------------------------------------------------------------------
def baseline_and_latest(clients: pd.DataFrame, sessions: pd.DataFrame) -> pd.DataFrame:
    """Per client and series: `<measure>_baseline` and `<measure>_latest` of every measure.

    Attended sessions only, numbered within their series; the baseline is the intake value in
    a first series, else the first report; the latest is the last report after session 1 and
    after the baseline, a 28-day mean of reports for the per-28-days counts.
    """
    attended = sessions.loc[
        sessions["status"].eq("attended"),
        ["client_id", "series_number", "session_date", "session_id", *_session_columns()],
    ].sort_values(["client_id", "series_number", "session_date", "session_id"], kind="stable")
    client = attended["client_id"].to_numpy()
    number = attended["series_number"].to_numpy()
    starts = np.r_[True, (client[1:] != client[:-1]) | (number[1:] != number[:-1])]
    sk = np.cumsum(starts) - 1
    first_row = np.flatnonzero(starts)
    position = np.arange(len(sk))
    visit = position - first_row[sk] + 1
    dates = attended["session_date"].to_numpy("datetime64[D]").astype(np.int64)
    day = dates - dates[first_row[sk]]
    keys = pd.DataFrame({"client_id": client[first_row], "series_number": number[first_row]})
    intake = clients.set_index("client_id").reindex(keys["client_id"])
    first_series = keys["series_number"].to_numpy() == 1
    out = {}
    for measure in MEASURES:
        values = _values(attended, measure)
        has = ~np.isnan(values)
        given = intake[measure.intake_column].to_numpy(float)
        from_intake = first_series & ~np.isnan(given)
        first = _first_per_group(sk[has], len(keys))
        first_index = np.flatnonzero(has)[np.maximum(first, 0)]
        first_value = np.where(first >= 0, values[first_index], np.nan)
        baseline = np.where(from_intake, given, first_value)
        baseline_visit = np.where(from_intake, 0, np.where(first >= 0, visit[first_index], 0))
        follow = has & (visit >= 2) & (visit > baseline_visit[sk])
        level = values
        if measure.weekly_column is not None:
            level = _window_mean(sk[follow], day[follow], values[follow])
        else:
            level = values[follow]
        last = _last_per_group(sk[follow], len(keys))
        latest = np.where(last >= 0, level[np.maximum(last, 0)], np.nan)
        out[f"{measure.key}_baseline"] = baseline
        out[f"{measure.key}_latest"] = latest
    return pd.concat([keys, pd.DataFrame(out)], axis=1)


def _session_columns() -> list[str]:
    return sorted({c for m in MEASURES for c in m.columns})


def _values(attended: pd.DataFrame, measure: Any) -> np.ndarray:
    values = np.full(len(attended), np.nan)
    if measure.session_column is not None:
        values = attended[measure.session_column].to_numpy(float)
    if measure.weekly_column is not None:
        weekly = 4 * attended[measure.weekly_column].to_numpy(float)
        values = np.where(np.isnan(values), weekly, values)
    return values


def _first_per_group(groups: np.ndarray, n: int) -> np.ndarray:
    """Index (into `groups`) of each group's first row, -1 where a group has none."""
    first = np.full(n, -1)
    starts = np.r_[True, groups[1:] != groups[:-1]] if len(groups) else np.array([], bool)
    first[groups[starts]] = np.flatnonzero(starts)
    return first


def _last_per_group(groups: np.ndarray, n: int) -> np.ndarray:
    """Index (into `groups`) of each group's last row, -1 where a group has none."""
    last = np.full(n, -1)
    ends = np.r_[groups[1:] != groups[:-1], True] if len(groups) else np.array([], bool)
    last[groups[ends]] = np.flatnonzero(ends)
    return last


def _window_mean(groups: np.ndarray, day: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Mean of each group's values dated in the WINDOW_DAYS up to each row (rows sorted)."""
    if len(value) == 0:
        return value
    span = int(day.max()) + WINDOW_DAYS + 1
    key = groups.astype(np.int64) * span + day
    start = np.searchsorted(key, key - (WINDOW_DAYS - 1), side="left")
    total = np.concatenate([[0.0], np.cumsum(value)])
    end = np.arange(1, len(key) + 1)
    return (total[end] - total[start]) / (end - start)


def check_agrees(floor: pd.DataFrame, outcomes: pd.DataFrame) -> None:
    """Raise AssertionError unless the floor's values equal Headway's for every series."""
    merged = outcomes.merge(floor, on=["client_id", "series_number"], suffixes=("", "_floor"))
    attended = outcomes["sessions_attended"] > 0
    assert len(merged) == int(attended.sum()), "the floor and Headway disagree on the series"
    for measure in MEASURES:
        for part in ("baseline", "latest"):
            name = f"{measure.key}_{part}"
            ours = merged[name].to_numpy(float)
            theirs = merged[f"{name}_floor"].to_numpy(float)
            assert np.allclose(ours, theirs, equal_nan=True), f"the floor differs on {name}"
