"""Steps 1-3 for a set of files imported together: one client table, one session table.

Files of one import are checked together, so an intake file and a sessions file can be
imported side by side and a client's intake may come from either.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from practice.columns import INTAKE_COLUMNS, SESSION_COLUMNS
from practice.importing.dates import DateOrder
from practice.importing.mapping import map_columns, unused_mapping_keys
from practice.importing.problems import (
    column_problems,
    concat_problems,
    problems_frame,
)
from practice.importing.reading import RawTable, UnreadableFile, read_table
from practice.importing.validation import ParsedFile, parse_file

SESSION_KEY = ["client_id", "session_date", "therapist"]
# Session columns other than the key, as named in the session frame.
SESSION_CONTENT = [
    "series_code" if c == "series_id" else c
    for c in SESSION_COLUMNS
    if c not in ("session_date", "therapist")
]


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
    encoding: str | None = None,
    tables: Mapping[str, RawTable] | None = None,
) -> PreparedBatch:
    """Read, map and check every file; collect every problem instead of stopping at one.

    `encoding` overrides detection for every file; `tables` are files already read (the
    upload page's previews), so that no file is parsed twice.
    """
    if not files:
        raise ValueError("prepare_batch needs at least one file")
    parsed: list[ParsedFile] = []
    problems: list[pd.DataFrame] = []
    headers: dict[str, list[str]] = {}
    for table in read_files(files, problems, encoding=encoding, tables=tables):
        name = table.file
        headers[name] = list(table.cells.columns)
        column_mapping = map_columns(name, headers[name], mapping)
        parsed.append(parse_file(table, column_mapping, date_order))
        del table  # the text cells are typed now: at a million rows they are ~0.5 GB
    if mapping and headers:
        problems.append(problems_frame(unused_mapping_keys(headers, mapping)))
    problems.extend(p.problems for p in parsed)
    intake = _concat([p.intake for p in parsed])
    sessions = _concat([p.sessions for p in parsed if p.sessions is not None])
    clients, conflicts = merge_intakes(intake)
    sessions, duplicates = drop_repeated_sessions(sessions)
    early = sessions_before_intake(sessions, clients, {p.file: p.headers for p in parsed})
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
        problems=concat_problems([*problems, conflicts, duplicates, early]),
    )


def read_files(
    files: Sequence[tuple[str, bytes]],
    problems: list[pd.DataFrame],
    *,
    encoding: str | None = None,
    tables: Mapping[str, RawTable] | None = None,
) -> Iterator[RawTable]:
    """Each readable file's table; what reading found (refusals, encodings) goes to `problems`."""
    for name, data in files:
        try:
            table = read_file(name, data, encoding=encoding, tables=tables)
        except UnreadableFile as exc:
            problems.append(problems_frame(exc.problems))
            continue
        notice = table.encoding_notice()
        if notice is not None:
            problems.append(problems_frame([notice]))
        yield table


def read_file(
    name: str,
    data: bytes,
    *,
    encoding: str | None = None,
    tables: Mapping[str, RawTable] | None = None,
) -> RawTable:
    """The file as read already (in `tables`), else read now; raises UnreadableFile."""
    if tables is not None and name in tables:
        return tables[name]
    return read_table(name, data, encoding=encoding)


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
    client = pd.factorize(rows["client_id"])[0]
    found = [
        _conflicts(rows, column)
        for column in INTAKE_COLUMNS[1:]
        if column in rows and _differs_within_client(rows[column], client)
    ]
    value_columns = [c for c in INTAKE_COLUMNS[1:] if c in rows]
    grouped = rows.groupby("client_id", sort=False)
    clients = grouped[value_columns].first() if value_columns else grouped[[]].first()
    where = grouped[["file", "row"]].first()
    clients = where.join(clients).reset_index()
    return clients, concat_problems(found)


def _differs_within_client(values: pd.Series, client: np.ndarray) -> bool:
    """Whether some client has two different (non-blank) values: a quick test before the
    full report, since nearly every export repeats each intake identically on every row.

    Values are compared as `factorize` codes (one hash pass, no per-client groupby): each
    row's code against the code of its client's first non-blank row.
    """
    codes = pd.factorize(values)[0]
    present = np.flatnonzero(codes >= 0)
    if not len(present):
        return False
    owners, first = np.unique(client[present], return_index=True)
    expected = np.full(int(client.max()) + 1, -1, dtype=codes.dtype)
    expected[owners] = codes[present[first]]
    return bool((codes[present] != expected[client[present]]).any())


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
    """Keep one of repeated rows of a session when they agree (a notice), else an error.

    Rows agree when every session column is equal or blank in one of them, so the same
    session in a full export and in a sessions-only export is one session; the kept row
    takes the values either row gave.
    """
    if sessions.empty or not set(SESSION_KEY) <= set(sessions.columns):
        return sessions, problems_frame([])
    keyed = sessions.dropna(subset=SESSION_KEY)
    repeated = keyed[keyed.duplicated(SESSION_KEY, keep=False)]
    if repeated.empty:
        return sessions, problems_frame([])
    content = [c for c in SESSION_CONTENT if c in sessions.columns]
    later = repeated[repeated.duplicated(SESSION_KEY, keep="first")]
    first = repeated.drop_duplicates(SESSION_KEY).set_index(SESSION_KEY)
    first = first.loc[pd.MultiIndex.from_frame(later[SESSION_KEY])].set_axis(later.index)
    ours, theirs = later[content], first[content]
    same = ((ours == theirs) | ours.isna() | theirs.isna()).all(axis=1)
    where = first["file"] + " row " + first["row"].astype(str)
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
    merged = repeated.groupby(SESSION_KEY, sort=False)[content].first()  # first non-blank
    first_rows = repeated.drop_duplicates(SESSION_KEY)
    kept.loc[first_rows.index, content] = merged.loc[
        pd.MultiIndex.from_frame(first_rows[SESSION_KEY])
    ].to_numpy()
    return kept, concat_problems([notices, errors])


def sessions_before_intake(
    sessions: pd.DataFrame, clients: pd.DataFrame, headers: dict[str, dict[str, str]]
) -> pd.DataFrame:
    """Warnings for sessions dated before their client's intake, wherever the intake came from."""
    if sessions.empty or "intake_date" not in clients or "session_date" not in sessions:
        return problems_frame([])
    intake = sessions["client_id"].map(clients.set_index("client_id")["intake_date"])
    early = sessions[sessions["session_date"] < intake]
    column = early["file"].map(lambda f: headers.get(f, {}).get("session_date", "session_date"))
    return column_problems(
        early["file"],
        early["row"],
        "",
        "the session is before the client's intake date",
        early["session_date"].dt.strftime("%Y-%m-%d"),
        severity="warning",
    ).assign(column=column.to_numpy())


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    kept = [f for f in frames if not f.empty]
    return pd.concat(kept, ignore_index=True) if kept else pd.DataFrame()
