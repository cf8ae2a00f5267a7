"""Importing headache diaries: one row per client and day, stored in `diary_days`.

A diary export (a headache app or a paper calendar typed up) says for each day whether the
client had a headache, how bad (severity 0-3 as in the IHS diaries, or pain 0-10) and whether
they took acute medication. It is recognised by its columns (`detect_kind`), read with the
same reader and date rules as a session export, checked column by column, and merged into
`diary_days` all or nothing: a new day is added, a known day with other values is updated
(its old values kept for undo), a known day with the same values is unchanged.

Choices (docs/csv-format.md): a diary is imported on its own, for clients Headway already
knows (their intake or sessions come first); a diary for an unknown client is refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, select

from practice import db
from practice.columns import (
    DIARY_COLUMNS_BY_NAME,
    DIARY_DAY_COLUMNS,
    REQUIRED_DIARY_COLUMNS,
)
from practice.importing.batch import hash_files, read_files
from practice.importing.dates import DateOrder
from practice.importing.mapping import DIARY_SYNONYMS, SYNONYMS, ColumnMapping, header_key
from practice.importing.mapping import map_columns as _map_columns
from practice.importing.problems import (
    Problem,
    column_problems,
    concat_problems,
    problems_frame,
)
from practice.importing.reading import (
    RawTable,
    _header_fields,
    sniff_separator,
)
from practice.importing.validation import (
    _map_distinct,
    _parse_date_column,
    _parse_numbers,
    _resolve_date_order,
    _too_long,
)
from practice.importing.writing import (
    ImportResult,
    _apply_updates,
    _changed_mask,
    _finish_import,
    _insert_import,
    write_checked,
)
from practice.models import Client, DiaryDay, Import, PriorValue

Kind = Literal["auto", "sessions", "diary"]
KINDS: tuple[str, ...] = ("auto", "sessions", "diary")
KEY = ["client_id", "diary_date"]
CONTENT = ["headache", "severity", "pain", "medication", "notes"]
# Cells that say yes or no (a headache that day, medication taken).
YES = {"yes", "y", "true", "t", "1", "x", "ja", "oui"}
NO = {"no", "n", "false", "f", "0", "nein", "non"}
# A header that only a session export has: a file with one is never taken for a diary.
_SESSION_ONLY = {"therapist", "techniques", "intake_date", "pain_pre", "pain_post"}


# --- which kind of file ---------------------------------------------------------------------
def header_fields(data: bytes) -> list[str]:
    """The header line's fields, read from the start of the file only (cheap for big files)."""
    head = data[:65536]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text_ = head[: len(head) // 2 * 2].decode("utf-16", errors="ignore")
    else:
        text_ = head.decode("utf-8", errors="replace")
    text_ = text_.lstrip("\ufeff\r\n \t")
    return [f.strip() for f in _header_fields(text_, sniff_separator(text_))]


def looks_like_diary(headers: Sequence[str]) -> bool:
    """A diary names the client and the day and says how the day was, and no session column."""
    keys = [header_key(h) for h in headers]
    diary = {DIARY_SYNONYMS.get(k) for k in keys}
    session = {SYNONYMS.get(k) for k in keys}
    return (
        set(REQUIRED_DIARY_COLUMNS) <= diary
        and bool(diary & set(DIARY_DAY_COLUMNS))
        and not session & _SESSION_ONLY
    )


def detect_kind(data: bytes, kind: str = "auto") -> str:
    """ "diary" or "sessions": `kind` itself when forced, else decided from the header line."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}")
    if kind != "auto":
        return kind
    return "diary" if looks_like_diary(header_fields(data)) else "sessions"


def mixed_kind_problems(kinds: Mapping[str, str]) -> list[Problem]:
    """Errors for diary files imported together with session files (a diary comes on its own,
    after the sessions that make its clients known)."""
    if "diary" not in kinds.values() or set(kinds.values()) == {"diary"}:
        return []
    sessions = ", ".join(name for name, k in kinds.items() if k != "diary")
    return [
        Problem(
            name,
            None,
            None,
            "error",
            f"is a headache diary, imported on its own: import {sessions} first, then the diary",
        )
        for name, k in kinds.items()
        if k == "diary"
    ]


# --- reading and checking -------------------------------------------------------------------
@dataclass(frozen=True)
class DiaryBatch:
    """Typed, checked diary days of one import, ready to write when `problems` has no error."""

    files: tuple[str, ...]
    content_hash: str
    rows_read: int
    days: pd.DataFrame  # file, row, client_id, diary_date and the CONTENT columns given
    given: tuple[str, ...]
    problems: pd.DataFrame = field(default_factory=lambda: problems_frame([]))

    @property
    def errors(self) -> pd.DataFrame:
        """The problems that stop the import."""
        return self.problems[self.problems["severity"] == "error"]


def prepare_diary(
    files: Sequence[tuple[str, bytes]],
    *,
    mapping: Mapping[str, str] | None = None,
    date_order: DateOrder | None = None,
    encoding: str | None = None,
) -> DiaryBatch:
    """Read, map and check every diary file; collect every problem instead of stopping."""
    frames: list[pd.DataFrame] = []
    problems: list[pd.DataFrame] = []
    given: set[str] = set()
    for table in read_files(files, problems, encoding=encoding):
        name = table.file
        column_mapping = _map_columns(name, list(table.cells.columns), mapping, kind="diary")
        days, found = parse_diary(table, column_mapping, date_order)
        frames.append(days)
        problems.append(found)
        given |= set(column_mapping.to_header)
    days = pd.concat(frames, ignore_index=True) if frames else _empty_days()
    days, repeated = drop_repeated_days(days)
    return DiaryBatch(
        files=tuple(name for name, _ in files),
        content_hash=hash_files(files),
        rows_read=sum(len(f) for f in frames),
        days=days,
        given=tuple(c for c in CONTENT if c in given or c == "headache"),
        problems=concat_problems([*problems, repeated]),
    )


def _empty_days() -> pd.DataFrame:
    return pd.DataFrame(columns=["file", "row", *KEY, *CONTENT])


def parse_diary(
    table: RawTable, mapping: ColumnMapping, date_order: DateOrder | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One diary file's typed days (headache decided for every row) and every problem."""
    file = table.file
    cells = table.cells.rename(columns={h: c for c, h in mapping.to_header.items()})
    cells = cells[list(mapping.to_header)]
    rows = pd.Series(cells.index.to_numpy() + 2, index=cells.index)
    problems = [problems_frame(mapping.problems)]
    missing = [c for c in REQUIRED_DIARY_COLUMNS if c not in cells]
    if not set(DIARY_DAY_COLUMNS) & set(cells.columns):
        missing.append("headache (or severity, or pain)")
    problems.append(
        problems_frame(Problem(file, 1, c, "error", "required column is missing") for c in missing)
    )
    order, found = _resolve_date_order(file, cells, mapping, date_order, DIARY_COLUMNS_BY_NAME)
    problems.append(problems_frame(found))
    typed: dict[str, pd.Series] = {}
    for name in cells.columns:
        typed[name], found_ = _type_diary_column(file, cells[name], rows, mapping, name, order)
        problems.extend(found_)
    days = pd.DataFrame(typed, index=cells.index)
    days = days.reindex(columns=[*KEY, *CONTENT])
    days["headache"], found_day = _headache_day(file, days, rows, mapping)
    problems.append(found_day)
    days.insert(0, "row", rows)
    days.insert(0, "file", file)
    return days, concat_problems(problems)


def _type_diary_column(
    file: str,
    raw: pd.Series,
    rows: pd.Series,
    mapping: ColumnMapping,
    name: str,
    order: DateOrder | None,
) -> tuple[pd.Series, list[pd.DataFrame]]:
    header = mapping.header_of(name)
    column = DIARY_COLUMNS_BY_NAME[name]
    found = [_too_long(file, raw, rows, header, name)]
    if name in REQUIRED_DIARY_COLUMNS:
        blank = raw == ""
        found.append(column_problems(file, rows[blank], header, "a value is required"))
    if name == "diary_date":
        dates, bad = _parse_date_column(file, raw, rows, header, order)
        return dates, [*found, bad]
    if name == "headache":
        return _parse_yes_no(file, raw, rows, header, found)
    if name == "medication":
        # "yes"/"no" mean one dose / none; a number is the doses taken that day.
        answer = pd.Series(_map_distinct(raw, _yes_no, blank=None), index=raw.index)
        numbers, bad = _parse_numbers(file, raw.where(answer.isna(), ""), rows, header, column)
        return numbers.fillna(answer.astype(float)), [*found, bad]
    if column.kind == "number":
        numbers, bad = _parse_numbers(file, raw, rows, header, column)
        return numbers.astype(float), [*found, bad]
    return raw.replace("", None), found


def _yes_no(cell: str) -> float | None:
    word = cell.strip().lower()
    return 1.0 if word in YES else 0.0 if word in NO else None


def _parse_yes_no(
    file: str, raw: pd.Series, rows: pd.Series, header: str, found: list[pd.DataFrame]
) -> tuple[pd.Series, list[pd.DataFrame]]:
    answer = pd.Series(_map_distinct(raw, _yes_no, blank=None), index=raw.index, dtype=object)
    bad = (raw != "") & answer.isna()
    message = "must be yes or no (also 1/0, true/false)"
    flagged = column_problems(file, rows[bad], header, message, raw[bad])
    return answer.astype("float64").map({1.0: True, 0.0: False}).astype("boolean"), [
        *found,
        flagged,
    ]


def _headache_day(
    file: str, days: pd.DataFrame, rows: pd.Series, mapping: ColumnMapping
) -> tuple[pd.Series, pd.DataFrame]:
    """Whether each day was a headache day: the `headache` answer, else severity or pain > 0.

    A severity or pain above 0 on a day answered "no" (or 0 on a day answered "yes")
    contradicts itself and is an error; so is a day that says nothing about headache.
    """
    stated = days["headache"].astype("boolean")
    scores = days[["severity", "pain"]].astype(float)
    scored = scores.notna().any(axis=1)
    hurt = (scores > 0).any(axis=1)
    derived = pd.Series(hurt, index=days.index).where(scored)
    found = []
    for name in ("severity", "pain"):
        given = scores[name].notna() & stated.notna()
        clash = given & (stated.fillna(False).astype(bool) != (scores[name] > 0))
        found.append(
            column_problems(
                file,
                rows[clash],
                mapping.header_of(name),
                f"contradicts {mapping.header_of('headache')} "
                + stated[clash].map({True: "'yes'", False: "'no'"}).astype(str),
                days.loc[clash, name].astype(str).str.removesuffix(".0"),
            )
        )
    silent = stated.isna() & ~scored
    if set(DIARY_DAY_COLUMNS) & set(mapping.to_header):
        shown = "/".join(mapping.header_of(c) for c in DIARY_DAY_COLUMNS if c in mapping.to_header)
        found.append(
            column_problems(
                file,
                rows[silent],
                shown,
                "the day has no headache answer, severity or pain; fill one in or leave the "
                "day out",
            )
        )
    headache = stated.fillna(derived.astype("boolean"))
    return headache, concat_problems(found)


def drop_repeated_days(days: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An exact repeat of a client's day is dropped (a notice); a differing repeat is an error."""
    keyed = days.dropna(subset=KEY)
    if keyed.empty:
        return days, problems_frame([])
    exact = keyed.duplicated([*KEY, *CONTENT], keep="first")
    first = keyed[~exact].drop_duplicates(KEY).set_index(KEY)
    where = first["file"] + " row " + first["row"].astype(str)
    repeats = keyed[exact]
    at = where.loc[pd.MultiIndex.from_frame(repeats[KEY])].to_numpy()
    notices = column_problems(
        repeats["file"],
        repeats["row"],
        "",
        pd.Series("repeats the same diary day as " + at, index=repeats.index),
        severity="notice",
    )
    rest = keyed[~exact]
    clashing = rest[rest.duplicated(KEY, keep="first")]
    errors = _clash_problems(clashing, first, where)
    return days.drop(index=repeats.index), concat_problems([notices, errors])


def _clash_problems(clashing: pd.DataFrame, first: pd.DataFrame, where: pd.Series) -> pd.DataFrame:
    """One error per row that repeats a client's day with other values, naming a column."""
    if clashing.empty:
        return problems_frame([])
    index = pd.MultiIndex.from_frame(clashing[KEY])
    theirs = first.loc[index, CONTENT].set_axis(clashing.index)
    ours = clashing[CONTENT]
    differs = ours.astype(object).ne(theirs.astype(object)) & ~(ours.isna() & theirs.isna())
    column = differs.idxmax(axis=1)
    problems = [
        column_problems(
            clashing.loc[column == name, "file"],
            clashing.loc[column == name, "row"],
            name,
            pd.Series(
                "same client and day as " + where.loc[index].to_numpy() + " but a different value",
                index=clashing.index,
            )[column == name],
            ours.loc[column == name, name].astype(str).str.removesuffix(".0"),
        )
        for name in CONTENT
        if (column == name).any()
    ]
    return concat_problems(problems)


# --- writing --------------------------------------------------------------------------------
def write_diary(
    engine: Engine,
    batch: DiaryBatch,
    *,
    source: str = "cli",
    dry_run: bool = False,
    imported_by: str | None = None,
    remember: Mapping[str, Mapping[str, str]] | None = None,
) -> ImportResult:
    """Merge the batch's days into `diary_days` in one transaction; ImportRejected on errors.

    `remember`: the column mapping to remember per source signature, stored in the same
    transaction (writing.write_checked).
    """
    return write_checked(
        engine,
        lambda conn: concat_problems([batch.problems, unknown_clients(conn, batch)]),
        lambda conn: _merge_days(conn, batch, source, dry_run, imported_by),
        dry_run=dry_run,
        remember=remember,
    )


def unknown_clients(conn: Connection, batch: DiaryBatch) -> pd.DataFrame:
    """One error per client of the diary that Headway does not know (at their first row)."""
    days = batch.days.dropna(subset=["client_id"])
    if days.empty:
        return problems_frame([])
    codes = pd.Series(conn.execute(select(Client.client_code)).scalars().all(), dtype=object)
    unknown = days[~days["client_id"].isin(codes)]
    if unknown.empty:
        return problems_frame([])
    counts = unknown.groupby("client_id")["row"].transform("size")
    first = unknown.assign(n=counts).drop_duplicates("client_id")
    message = (
        "client "
        + first["client_id"].astype(str)
        + " is not in Headway ("
        + first["n"].astype(str)
        + " diary day(s)); import their intake or sessions first, then the diary"
    )
    return column_problems(first["file"], first["row"], "client_id", message, first["client_id"])


def _merge_days(
    conn: Connection, batch: DiaryBatch, source: str, dry_run: bool, imported_by: str | None
) -> ImportResult:
    import_id = db.next_ids(conn, Import, 1)[0]
    _insert_import(conn, import_id, batch, source, imported_by)
    client_ids = {
        code: int(id_) for id_, code in conn.execute(select(Client.id, Client.client_code))
    }
    incoming = batch.days.rename(columns={"client_id": "client_code"})
    incoming["client_id"] = incoming["client_code"].map(client_ids).astype("int64")
    incoming["diary_date"] = pd.to_datetime(incoming["diary_date"]).astype("datetime64[ns]")
    stored = read_days_of(conn, sorted(set(incoming["client_id"].tolist())))
    merged = incoming.merge(
        stored, on=["client_id", "diary_date"], how="left", suffixes=("", "_old")
    )
    is_new = merged["id"].isna()
    merged.loc[is_new, "id"] = np.asarray(
        db.next_ids(conn, DiaryDay, int(is_new.sum())), dtype=float
    )
    merged["id"] = merged["id"].astype("int64")
    given = list(batch.given)
    new_rows = merged.loc[is_new, ["id", "client_id", "diary_date", *given]]
    new_rows = new_rows.assign(import_id=import_id, headache=new_rows["headache"].astype(bool))
    db.bulk_insert(conn, DiaryDay, new_rows)
    old = merged[~is_new]
    changed = _changed_mask(old, given)
    updated = _apply_updates(conn, DiaryDay, old[changed.any(axis=1)], changed, given, import_id)
    result = ImportResult(
        import_id=None if dry_run else import_id,
        files=batch.files,
        rows_read=batch.rows_read,
        dry_run=dry_run,
        problems=batch.problems,
        kind="diary",
        diary_days_added=int(is_new.sum()),
        diary_days_updated=updated,
        diary_days_unchanged=int(len(old) - updated),
    )
    _finish_import(conn, import_id, result)
    db.reset_sequences(conn, [Import, DiaryDay, PriorValue])
    return result


def read_days_of(conn: Connection, client_ids: list[int]) -> pd.DataFrame:
    """Stored diary days of the given clients (all columns), dates as datetime64."""
    frame = db.read_frame(conn, select(DiaryDay))
    frame["diary_date"] = pd.to_datetime(frame["diary_date"]).astype("datetime64[ns]")
    frame["headache"] = frame["headache"].astype("boolean")
    return frame[frame["client_id"].isin(client_ids)].reset_index(drop=True)


__all__ = [
    "KINDS",
    "DiaryBatch",
    "detect_kind",
    "drop_repeated_days",
    "header_fields",
    "looks_like_diary",
    "mixed_kind_problems",
    "parse_diary",
    "prepare_diary",
    "read_days_of",
    "unknown_clients",
    "write_diary",
]
