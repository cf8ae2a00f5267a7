"""Steps 1-3 for a set of files imported together: one client table, one session table.

Files of one import are checked together, so an intake file and a sessions file can be
imported side by side and a client's intake may come from either.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from practice.columns import INTAKE_COLUMNS, SESSION_COLUMNS
from practice.importing.dates import DateOrder
from practice.importing.mapping import map_columns
from practice.importing.problems import (
    column_problems,
    concat_problems,
    problems_frame,
)
from practice.importing.reading import UnreadableFile, read_table
from practice.importing.validation import ParsedFile, parse_file

SESSION_KEY = ["client_id", "session_date", "therapist"]


@dataclass(frozen=True)
class PreparedBatch:
    """Typed, checked rows of one import, ready to write when `problems` has no error."""

    files: tuple[str, ...]
    content_hash: str
    rows_read: int
    clients: pd.DataFrame
    sessions: pd.DataFrame
    intake_columns: tuple[str, ...]
    session_columns: tuple[str, ...]
    new_techniques: dict[str, str] = field(default_factory=dict)
    problems: pd.DataFrame = field(default_factory=lambda: problems_frame([]))

    @property
    def errors(self) -> pd.DataFrame:
        """The problems that stop the import."""
        return self.problems[self.problems["severity"] == "error"]


def prepare_batch(
    files: Sequence[tuple[str, bytes]],
    *,
    mapping: Mapping[str, str] | None = None,
    date_order: DateOrder | None = None,
) -> PreparedBatch:
    """Read, map and check every file; collect every problem instead of stopping at one."""
    if not files:
        raise ValueError("prepare_batch needs at least one file")
    parsed: list[ParsedFile] = []
    problems: list[pd.DataFrame] = []
    for name, data in files:
        try:
            table = read_table(name, data)
        except UnreadableFile as exc:
            problems.append(problems_frame([exc.problem]))
            continue
        column_mapping = map_columns(name, list(table.cells.columns), mapping)
        parsed.append(parse_file(table, column_mapping, date_order))
    problems.extend(p.problems for p in parsed)
    intake = _concat([p.intake for p in parsed])
    sessions = _concat([p.sessions for p in parsed if p.sessions is not None])
    clients, conflicts = merge_intakes(intake)
    sessions, duplicates = drop_repeated_sessions(sessions)
    given = {column for p in parsed for column in p.columns}
    new_techniques: dict[str, str] = {}
    for p in parsed:
        new_techniques.update(p.new_techniques)
    return PreparedBatch(
        files=tuple(name for name, _ in files),
        content_hash=hash_files(files),
        rows_read=sum(len(p.intake) for p in parsed),
        clients=clients,
        sessions=sessions,
        intake_columns=tuple(c for c in INTAKE_COLUMNS[1:] if c in given),
        session_columns=tuple(c for c in SESSION_COLUMNS if c in given),
        new_techniques=new_techniques,
        problems=concat_problems([*problems, conflicts, duplicates]),
    )


def hash_files(files: Sequence[tuple[str, bytes]]) -> str:
    """SHA-256 over the files' contents in order: the same files give the same hash."""
    digest = hashlib.sha256()
    for _, data in files:
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


def merge_intakes(intake: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per client from rows that repeat the intake; two different values are an error."""
    if intake.empty or "client_id" not in intake:
        return pd.DataFrame(columns=["client_id", "file", "row"]), problems_frame([])
    rows = intake[intake["client_id"].notna()]
    found = [_conflicts(rows, column) for column in INTAKE_COLUMNS[1:] if column in rows]
    value_columns = [c for c in INTAKE_COLUMNS[1:] if c in rows]
    grouped = rows.groupby("client_id", sort=False)
    clients = grouped[value_columns].first() if value_columns else grouped[[]].first()
    where = grouped[["file", "row"]].first()
    clients = where.join(clients).reset_index()
    return clients, concat_problems(found)


def _conflicts(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    values = rows[["client_id", column, "file", "row"]].dropna(subset=[column])
    distinct = values.drop_duplicates(["client_id", column])
    later = distinct[distinct.duplicated("client_id")]
    if later.empty:
        return problems_frame([])
    first = distinct.drop_duplicates("client_id").set_index("client_id").loc[later["client_id"]]
    message = (
        f"client has two different {column} values; the first was "
        + _shown(first[column])
        + " at "
        + first["file"]
        + " row "
        + first["row"].astype(str)
    )
    return column_problems(later["file"], later["row"], column, message, _shown(later[column]))


def _shown(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m-%d")
    return values.astype(str).str.removesuffix(".0")


def drop_repeated_sessions(sessions: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep one of identical repeated rows (a notice); differing repeats are errors."""
    if sessions.empty or not set(SESSION_KEY) <= set(sessions.columns):
        return sessions, problems_frame([])
    keyed = sessions.dropna(subset=SESSION_KEY)
    repeated = keyed[keyed.duplicated(SESSION_KEY, keep=False)]
    if repeated.empty:
        return sessions, problems_frame([])
    content = [c for c in sessions.columns if c not in ("file", "row")]
    later = repeated[repeated.duplicated(SESSION_KEY, keep="first")]
    first = repeated.drop_duplicates(SESSION_KEY).set_index(SESSION_KEY)
    first = first.loc[pd.MultiIndex.from_frame(later[SESSION_KEY])]
    where = (first["file"] + " row " + first["row"].astype(str)).set_axis(later.index)
    same = repeated.duplicated(content, keep="first").loc[later.index]
    notices = column_problems(
        later.loc[same, "file"],
        later.loc[same, "row"],
        "",
        "repeats the same session as " + where[same] + "; imported once",
        severity="notice",
    )
    errors = column_problems(
        later.loc[~same, "file"],
        later.loc[~same, "row"],
        "session_date",
        "same client, date and therapist as " + where[~same] + " but with different values",
    )
    kept = sessions.drop(index=later.index[same.to_numpy()])
    return kept, concat_problems([notices, errors])


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    kept = [f for f in frames if not f.empty]
    return pd.concat(kept, ignore_index=True) if kept else pd.DataFrame()
