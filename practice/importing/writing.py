"""Step 4 of an import: merge a checked batch into the database, all or nothing.

A session is identified by (client, date, therapist). A new key is added; a known key with
different values is updated (its old values kept for undo); a known key with the same values
is unchanged. A blank cell never erases a stored value.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, text

from practice import db
from practice.importing.batch import SESSION_CONTENT, PreparedBatch
from practice.importing.problems import (
    ImportRejected,
    column_problems,
    concat_problems,
    describe_problems,
    problems_frame,
)
from practice.series import NO_SERIES, assign_series
from practice.vocabulary import technique_label

DATE_COLUMNS = ("intake_date", "session_date", "first_date", "last_date")


@dataclass
class ImportResult:
    """What an import did (or, for a dry run, would do)."""

    import_id: int | None
    files: tuple[str, ...]
    rows_read: int
    clients_added: int = 0
    clients_updated: int = 0
    sessions_added: int = 0
    sessions_updated: int = 0
    sessions_unchanged: int = 0
    dry_run: bool = False
    problems: pd.DataFrame = field(default_factory=lambda: problems_frame([]))
    kind: str = "sessions"  # or "diary" (practice.importing.diary)
    diary_days_added: int = 0
    diary_days_updated: int = 0
    diary_days_unchanged: int = 0

    def summary(self, *, show_changes: bool = True) -> str:
        """One line for the command line and the upload page.

        Without `show_changes` (front desk) only what was added: updated/unchanged counts
        would tell whether stored values differed (practice.importing.permissions).
        """
        verb = "would import" if self.dry_run else "imported"
        if not show_changes:
            added = (
                f"diary days {self.diary_days_added} added"
                if self.kind == "diary"
                else f"clients {self.clients_added} added; sessions {self.sessions_added} added"
            )
            return f"{verb} {self.rows_read} row(s) from {len(self.files)} file(s): {added}"
        if self.kind == "diary":
            return (
                f"{verb} {self.rows_read} diary row(s) from {len(self.files)} file(s): "
                f"diary days {self.diary_days_added} added, {self.diary_days_updated} updated, "
                f"{self.diary_days_unchanged} unchanged"
            )
        return (
            f"{verb} {self.rows_read} row(s) from {len(self.files)} file(s): "
            f"clients {self.clients_added} added, {self.clients_updated} updated; "
            f"sessions {self.sessions_added} added, {self.sessions_updated} updated, "
            f"{self.sessions_unchanged} unchanged"
        )


class _DryRunDone(Exception):
    def __init__(self, result: ImportResult) -> None:
        self.result = result


def write_batch(
    engine: Engine,
    batch: PreparedBatch,
    *,
    source: str = "cli",
    dry_run: bool = False,
    imported_by: str | None = None,
) -> ImportResult:
    """Merge `batch` into the database in one transaction; raise ImportRejected on any error.

    `imported_by` (the signed-in user, or the command line's OS user) is stored with the
    import: front desk may undo only its own imports (practice.importing.permissions).
    """
    return write_checked(
        engine,
        lambda conn: concat_problems([batch.problems, check_against_database(conn, batch)]),
        lambda conn: _merge(conn, batch, source, dry_run, imported_by),
        dry_run=dry_run,
    )


def write_checked(
    engine: Engine,
    problems_of: Callable[[Connection], pd.DataFrame],
    merge: Callable[[Connection], ImportResult],
    *,
    dry_run: bool,
) -> ImportResult:
    """In one import transaction: refuse on any error `problems_of` finds, else `merge`.

    A dry run merges and then rolls back, so that its counts are the real ones.
    """
    try:
        with db.import_transaction(engine) as conn:
            problems = problems_of(conn)
            if (problems["severity"] == "error").any():
                raise ImportRejected(problems)
            result = merge(conn)
            if dry_run:
                raise _DryRunDone(result)  # leaving the block by an exception rolls back
    except _DryRunDone as done:
        return done.result
    return result


def _merge(
    conn: Connection, batch: PreparedBatch, source: str, dry_run: bool, imported_by: str | None
) -> ImportResult:
    import_id = db.next_ids(conn, "imports", 1)[0]
    _insert_import(conn, import_id, batch, source, imported_by)
    therapist_ids = _ensure_names(conn, "therapists", "name", _therapists(batch), import_id)
    technique_ids = _ensure_techniques(conn, batch, import_id)
    clients = _merge_clients(conn, batch, import_id)
    result = ImportResult(
        import_id=None if dry_run else import_id,
        files=batch.files,
        rows_read=batch.rows_read,
        dry_run=dry_run,
    )
    result.clients_added, result.clients_updated = clients.added, clients.updated
    if not batch.sessions.empty:
        counts = _merge_sessions(conn, batch, clients.ids, therapist_ids, technique_ids, import_id)
        result.sessions_added, result.sessions_updated, result.sessions_unchanged = counts
    result.problems = concat_problems([batch.problems, clients.warnings])
    _finish_import(conn, import_id, result)
    db.reset_sequences(
        conn,
        [
            "imports",
            "therapists",
            "techniques",
            "clients",
            "sessions",
            "treatment_series",
            "prior_values",
        ],
    )
    return result


def check_against_database(conn: Connection, batch: PreparedBatch) -> pd.DataFrame:
    """Problems only the stored data reveals: a new client without an intake date."""
    if batch.clients.empty:
        return problems_frame([])
    codes = pd.read_sql(text("SELECT client_code FROM clients"), conn)["client_code"]
    new = batch.clients[~batch.clients["client_id"].isin(codes)]
    if "intake_date" in new:
        new = new[new["intake_date"].isna()]
    if new.empty:
        return problems_frame([])
    return column_problems(
        new["file"],
        new["row"],
        "intake_date",
        "client " + new["client_id"].astype(str) + " is new to Headway and needs an intake date",
    )


# --- imports table --------------------------------------------------------------------------
class ImportedFiles(Protocol):
    """What the imports table records of any batch (sessions or diary)."""

    @property
    def files(self) -> tuple[str, ...]: ...
    @property
    def content_hash(self) -> str: ...
    @property
    def rows_read(self) -> int: ...


def _insert_import(
    conn: Connection,
    import_id: int,
    batch: ImportedFiles,
    source: str,
    imported_by: str | None = None,
) -> None:
    conn.execute(
        text(
            "INSERT INTO imports (id, source, file_names, content_hash, started_at, status, "
            "rows_read, clients_added, clients_updated, sessions_added, sessions_updated, "
            "sessions_unchanged, imported_by) VALUES (:id, :source, :files, :hash, :now, "
            "'completed', :rows, 0, 0, 0, 0, 0, :by)"
        ),
        {
            "id": import_id,
            "by": imported_by,
            "source": source,
            "files": ", ".join(batch.files),
            "hash": batch.content_hash,
            "now": _now(),
            "rows": batch.rows_read,
        },
    )


def _finish_import(conn: Connection, import_id: int, result: ImportResult) -> None:
    shown = result.problems[result.problems["severity"] != "error"]
    notices = "\n".join(describe_problems(shown, limit=200)) or None
    conn.execute(
        text(
            "UPDATE imports SET finished_at = :now, clients_added = :ca, clients_updated = :cu, "
            "sessions_added = :sa, sessions_updated = :su, sessions_unchanged = :sn, "
            "diary_days_added = :da, diary_days_updated = :du, diary_days_unchanged = :dn, "
            "notices = :notices WHERE id = :id"
        ),
        {
            "now": _now(),
            "ca": result.clients_added,
            "cu": result.clients_updated,
            "sa": result.sessions_added,
            "su": result.sessions_updated,
            "sn": result.sessions_unchanged,
            "da": result.diary_days_added,
            "du": result.diary_days_updated,
            "dn": result.diary_days_unchanged,
            "notices": notices,
            "id": import_id,
        },
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


# --- therapists and techniques ------------------------------------------------------------
def _therapists(batch: PreparedBatch) -> list[str]:
    if batch.sessions.empty:
        return []
    return sorted(batch.sessions["therapist"].dropna().unique().tolist())


def _ensure_names(
    conn: Connection,
    table: str,
    column: str,
    names: list[str],
    import_id: int,
    labels: dict[str, str] | None = None,
) -> dict[str, int]:
    """Ids of `names` in `table`, inserting the ones not stored yet."""
    stored = pd.read_sql(text(f"SELECT id, {column} FROM {table}"), conn)  # noqa: S608
    known = dict(zip(stored[column], stored["id"].astype(int), strict=True))
    new = [name for name in names if name not in known]
    if new:
        ids = db.next_ids(conn, table, len(new))
        frame = pd.DataFrame({"id": list(ids), column: new, "import_id": import_id})
        if labels is not None:
            frame["label"] = [labels.get(n) or technique_label(n) for n in new]
        db.bulk_insert(conn, table, frame)
        known.update(zip(new, ids, strict=True))
    return known


def _ensure_techniques(conn: Connection, batch: PreparedBatch, import_id: int) -> dict[str, int]:
    if batch.sessions.empty or "techniques" not in batch.sessions:
        return {}
    cells = batch.sessions["techniques"].dropna().unique()  # split each combination once
    names = sorted({key for cell in cells for key in str(cell).split(";") if key})
    return _ensure_names(conn, "techniques", "key", names, import_id, batch.new_techniques)


# --- clients ------------------------------------------------------------------------------
@dataclass
class _ClientMerge:
    ids: dict[str, int]
    added: int
    updated: int
    warnings: pd.DataFrame


def _merge_clients(conn: Connection, batch: PreparedBatch, import_id: int) -> _ClientMerge:
    incoming = batch.clients.rename(columns={"client_id": "client_code", "client_name": "name"})
    given = [c if c != "client_name" else "name" for c in batch.intake_columns]
    stored = read_table(conn, "SELECT * FROM clients")
    merged = incoming.merge(stored, on="client_code", how="left", suffixes=("", "_old"))
    is_new = merged["id"].isna()
    new_ids = db.next_ids(conn, "clients", int(is_new.sum()))
    merged.loc[is_new, "id"] = np.asarray(new_ids, dtype=float)
    merged["id"] = merged["id"].astype("int64")
    new_rows = merged.loc[is_new, ["id", "client_code", *given]].assign(import_id=import_id)
    db.bulk_insert(conn, "clients", to_db_values(new_rows, conn))
    old = merged[~is_new]
    changed = _changed_mask(old, given)
    updated = _apply_updates(conn, "clients", old[changed.any(axis=1)], changed, given, import_id)
    ids = dict(zip(merged["client_code"], merged["id"], strict=True))
    return _ClientMerge(ids, int(is_new.sum()), updated, problems_frame([]))


def _changed_mask(old: pd.DataFrame, given: list[str]) -> pd.DataFrame:
    """True where a given value differs from the stored one (blank never counts)."""
    changed = {}
    for column in given:
        new, before = old[column], old[f"{column}_old"]
        differs = new.astype(object) != before.astype(object)
        changed[column] = new.notna() & (before.isna() | differs)
    return pd.DataFrame(changed, index=old.index, dtype=bool)


def _apply_updates(
    conn: Connection,
    table: str,
    rows: pd.DataFrame,
    changed: pd.DataFrame,
    given: list[str],
    import_id: int,
) -> int:
    """Write changed values, keeping each row's previous values in prior_values for undo."""
    if rows.empty:
        return 0
    mask = changed.loc[rows.index]
    prior_columns = [*given, "updated_import_id"]
    olds = rows[[f"{c}_old" for c in given] + ["updated_import_id"]]
    olds.columns = prior_columns
    priors = [json.dumps(_json_ready(record)) for record in olds.to_dict("records")]
    prior_ids = db.next_ids(conn, "prior_values", len(rows))
    db.bulk_insert(
        conn,
        "prior_values",
        pd.DataFrame(
            {
                "id": list(prior_ids),
                "import_id": import_id,
                "table_name": table,
                "row_id": rows["id"].astype(int).to_numpy(),
                "prior": priors,
            }
        ),
    )
    values = {c: rows[c].where(mask[c], rows[f"{c}_old"]) for c in given}
    update = pd.DataFrame({"id": rows["id"], **values, "updated_import_id": import_id})
    db.bulk_update(conn, table, to_db_values(update, conn))
    return len(rows)


def _json_ready(record: dict[str, object]) -> dict[str, object]:
    ready: dict[str, object] = {}
    for key, value in record.items():
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
            ready[key] = None
        elif isinstance(value, pd.Timestamp | dt.date):
            ready[key] = value.strftime("%Y-%m-%d")
        elif isinstance(value, np.generic):
            ready[key] = value.item()
        else:
            ready[key] = value
    return ready


# --- sessions -----------------------------------------------------------------------------
def _merge_sessions(
    conn: Connection,
    batch: PreparedBatch,
    client_ids: dict[str, int],
    therapist_ids: dict[str, int],
    technique_ids: dict[str, int],
    import_id: int,
) -> tuple[int, int, int]:
    incoming = batch.sessions.rename(columns={"client_id": "client_code"})
    incoming["client_id"] = incoming["client_code"].map(client_ids).astype("int64")
    incoming["therapist_id"] = incoming["therapist"].map(therapist_ids).astype("int64")
    given = [
        ("series_code" if c == "series_id" else c)
        for c in batch.session_columns
        if c not in ("session_date", "therapist")
    ]
    affected = sorted(set(incoming["client_id"].tolist()))
    stored = read_sessions_of(conn, affected)
    key = ["client_id", "session_date", "therapist_id"]
    merged = incoming.merge(stored, on=key, how="left", suffixes=("", "_old"))
    is_new = merged["id"].isna()
    merged.loc[is_new, "id"] = np.asarray(
        db.next_ids(conn, "sessions", int(is_new.sum())), dtype=float
    )
    merged["id"] = merged["id"].astype("int64")
    old = merged[~is_new]
    changed = _changed_mask(old, given)
    changed_rows = old[changed.any(axis=1)]

    everything = _combined_sessions(stored, merged, changed_rows, given)
    series = plan_series(conn, everything, affected)
    new_rows = merged[is_new].assign(import_id=import_id)
    new_rows["status"] = (
        new_rows["status"].fillna("attended") if "status" in new_rows else ("attended")
    )
    new_rows["series_id"] = new_rows["id"].map(series.session_series)
    columns = [
        "id",
        "client_id",
        "therapist_id",
        "series_id",
        "session_date",
        "import_id",
        *[c for c in SESSION_CONTENT if c in new_rows],
    ]
    db.bulk_insert(conn, "sessions", to_db_values(new_rows[columns], conn))
    updated = _apply_updates(conn, "sessions", changed_rows, changed, given, import_id)
    move_sessions_between_series(conn, stored, series.session_series)
    link_techniques(conn, new_rows, changed_rows, changed, technique_ids)
    db.delete_ids(conn, "treatment_series", series.stale_ids)
    return int(is_new.sum()), updated, int(len(old) - len(changed_rows))


def read_sessions_of(conn: Connection, client_ids: list[int]) -> pd.DataFrame:
    """Stored sessions of the given clients (all columns), dates as datetime64."""
    base = "SELECT * FROM sessions"
    if not client_ids:
        return read_table(conn, base + " WHERE 1 = 0")
    total = conn.execute(text("SELECT COUNT(*) FROM clients")).scalar_one()
    if len(client_ids) > total / 2:  # most clients: one scan beats thousands of IN lists
        frame = read_table(conn, base)
        return frame[frame["client_id"].isin(client_ids)].reset_index(drop=True)
    frames = []
    for start in range(0, len(client_ids), 900):
        chunk = client_ids[start : start + 900]
        marks = ", ".join(str(int(i)) for i in chunk)  # ints from our own table
        frames.append(read_table(conn, f"{base} WHERE client_id IN ({marks})"))
    return pd.concat(frames, ignore_index=True)


def _combined_sessions(
    stored: pd.DataFrame,
    merged: pd.DataFrame,
    changed_rows: pd.DataFrame,
    given: list[str],
) -> pd.DataFrame:
    """Every session of the affected clients as it will be after the merge (for series)."""
    columns = ["id", "client_id", "session_date", "series_code", "status"]
    after = stored[columns].set_index("id")
    for column in ("series_code", "status"):  # a blank cell keeps the stored value
        if column in given and not changed_rows.empty:
            new_value = changed_rows.set_index("id")[column]
            after.loc[new_value.index, column] = new_value.where(
                new_value.notna(), after.loc[new_value.index, column]
            )
    new = merged.loc[~merged["id"].isin(after.index)]
    new = new.assign(series_code=new.get("series_code"), status=new.get("status"))
    new = new.assign(status=new["status"].fillna("attended"))
    return pd.concat([after.reset_index(), new[columns]], ignore_index=True)


@dataclass
class SeriesPlan:
    """Series ids for every session of the affected clients, and series rows now unused."""

    session_series: pd.Series
    stale_ids: list[int]


def plan_series(conn: Connection, sessions: pd.DataFrame, client_ids: list[int]) -> SeriesPlan:
    """Number the series, reuse stored series rows by (client, number), write the rows."""
    frame = sessions.copy()
    frame["number"] = assign_series(frame)
    # A follow-up visit outside every series' window has no series row (series_id NULL).
    summary = (
        frame[frame["number"] != NO_SERIES]
        .groupby(["client_id", "number"], as_index=False)
        .agg(
            first_date=("session_date", "min"),
            last_date=("session_date", "max"),
            session_count=("id", "size"),
            series_code=("series_code", "first"),
        )
    )
    stored = read_series_of(conn, client_ids)
    summary = summary.merge(stored, on=["client_id", "number"], how="left")
    is_new = summary["id"].isna()
    summary.loc[is_new, "id"] = np.asarray(
        db.next_ids(conn, "treatment_series", int(is_new.sum())), dtype=float
    )
    summary["id"] = summary["id"].astype("int64")
    columns = [
        "id",
        "client_id",
        "number",
        "series_code",
        "first_date",
        "last_date",
        "session_count",
    ]
    db.bulk_insert(conn, "treatment_series", to_db_values(summary.loc[is_new, columns], conn))
    db.bulk_update(conn, "treatment_series", to_db_values(summary.loc[~is_new, columns], conn))
    ids = frame.merge(
        summary[["client_id", "number", "id"]].rename(columns={"id": "sid"}),
        on=["client_id", "number"],
        how="left",
    )
    session_series = pd.Series(ids["sid"].to_numpy(), index=frame["id"].to_numpy())
    stale = sorted(set(stored["id"].tolist()) - set(summary["id"].tolist()))
    return SeriesPlan(session_series, stale)


def read_series_of(conn: Connection, client_ids: list[int]) -> pd.DataFrame:
    """Stored (id, client_id, number) of the given clients' series."""
    frame = read_table(conn, "SELECT id, client_id, number FROM treatment_series")
    return frame[frame["client_id"].isin(client_ids)].reset_index(drop=True)


def move_sessions_between_series(
    conn: Connection, stored: pd.DataFrame, session_series: pd.Series
) -> None:
    if stored.empty:
        return
    target = stored["id"].map(session_series)
    moved = stored.loc[target.ne(stored["series_id"]), ["id"]].assign(
        series_id=target[target.ne(stored["series_id"])]
    )
    db.bulk_update(conn, "sessions", moved)


def link_techniques(
    conn: Connection,
    new_rows: pd.DataFrame,
    changed_rows: pd.DataFrame,
    changed: pd.DataFrame,
    technique_ids: dict[str, int],
) -> None:
    relinked = changed_rows
    if "techniques" in changed:
        relinked = changed_rows[changed.loc[changed_rows.index, "techniques"]]
    else:
        relinked = changed_rows.iloc[0:0]
    db.delete_ids(conn, "session_techniques", relinked["id"].tolist(), column="session_id")
    rows = pd.concat([new_rows[["id", "techniques"]], relinked[["id", "techniques"]]])
    db.bulk_insert(conn, "session_techniques", technique_links(rows, technique_ids))


def technique_links(sessions: pd.DataFrame, technique_ids: dict[str, int]) -> pd.DataFrame:
    """(session_id, technique_id) rows from sessions' ';'-joined technique keys.

    Each distinct technique cell is split once (a practice has a few hundred combinations),
    and the ids are spread over the sessions with numpy.
    """
    codes, cells = pd.factorize(sessions["techniques"].fillna(""))
    ids_of_cell = [[technique_ids[key] for key in str(cell).split(";") if key] for cell in cells]
    per_cell = np.array([len(ids) for ids in ids_of_cell], dtype=np.int64)
    flat = np.fromiter(itertools.chain.from_iterable(ids_of_cell), dtype=np.int64)
    cell_start = np.concatenate([[0], np.cumsum(per_cell)[:-1]]).astype(np.int64)
    per_row = per_cell[codes] if len(codes) else np.zeros(0, dtype=np.int64)
    row_start = np.repeat(np.cumsum(per_row) - per_row, per_row)
    within = np.arange(int(per_row.sum()), dtype=np.int64) - row_start
    links = pd.DataFrame(
        {
            "session_id": np.repeat(sessions["id"].to_numpy(np.int64), per_row),
            "technique_id": flat[np.repeat(cell_start[codes], per_row) + within],
        }
    )
    return links.drop_duplicates()


# --- reading and converting ----------------------------------------------------------------
def read_table(conn: Connection, sql: str) -> pd.DataFrame:
    """A query's rows as a frame, date columns as datetime64 on either dialect."""
    frame = pd.read_sql(text(sql), conn)
    for column in DATE_COLUMNS:
        if column in frame:
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    return frame


def to_db_values(frame: pd.DataFrame, conn: Connection) -> pd.DataFrame:
    """Dates as the driver wants them: ISO text for SQLite, date objects for PostgreSQL."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            if conn.dialect.name == "sqlite":
                out[column] = out[column].dt.strftime("%Y-%m-%d").astype(object)
            else:
                out[column] = pd.Series(out[column].dt.date, index=out.index, dtype=object)
            out[column] = out[column].where(frame[column].notna(), None)
    return out


__all__ = [
    "ImportResult",
    "SeriesPlan",
    "move_sessions_between_series",
    "plan_series",
    "read_sessions_of",
    "read_table",
    "technique_links",
    "to_db_values",
    "write_batch",
    "write_checked",
]
