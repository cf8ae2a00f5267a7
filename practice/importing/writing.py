"""Step 4 of an import: merge a checked batch into the database, all or nothing.

A session is identified by (client, date, therapist). A new key is added; a known key with
different values is updated (its old values kept for undo); a known key with the same values
is unchanged. A blank cell never erases a stored value.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.orm import InstrumentedAttribute

from practice import db
from practice.importing.batch import SESSION_CONTENT, PreparedBatch
from practice.importing.memory import remember_mapping
from practice.importing.problems import (
    ImportRejected,
    column_problems,
    concat_problems,
    describe_problems,
    problems_frame,
)
from practice.models import (
    Base,
    Client,
    Import,
    PriorValue,
    Session,
    SessionTechnique,
    Technique,
    Therapist,
    TreatmentSeries,
)
from practice.series import NO_SERIES, assign_series
from practice.vocabulary import technique_label


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
    remember: Mapping[str, Mapping[str, str]] | None = None,
) -> ImportResult:
    """Merge `batch` into the database in one transaction; raise ImportRejected on any error.

    `imported_by` (the signed-in user, or the command line's OS user) is stored with the
    import: front desk may undo only its own imports (practice.importing.permissions).
    `remember`: the column mapping to remember per source signature (see write_checked).
    """
    return write_checked(
        engine,
        lambda conn: concat_problems([batch.problems, check_against_database(conn, batch)]),
        lambda conn: _merge(conn, batch, source, dry_run, imported_by),
        dry_run=dry_run,
        remember=remember,
    )


def write_checked(
    engine: Engine,
    problems_of: Callable[[Connection], pd.DataFrame],
    merge: Callable[[Connection], ImportResult],
    *,
    dry_run: bool,
    remember: Mapping[str, Mapping[str, str]] | None = None,
) -> ImportResult:
    """In one import transaction: refuse on any error `problems_of` finds, else `merge`.

    A dry run merges and then rolls back, so that its counts are the real ones. `remember`
    maps a source signature to the column mapping to remember for it; the mappings are
    stored in the same transaction, so they are kept exactly when the import is.
    """
    try:
        with db.import_transaction(engine) as conn:
            problems = problems_of(conn)
            if (problems["severity"] == "error").any():
                raise ImportRejected(problems)
            result = merge(conn)
            for signature, mapping in (remember or {}).items():
                remember_mapping(conn, signature, mapping)
            if dry_run:
                raise _DryRunDone(result)  # leaving the block by an exception rolls back
    except _DryRunDone as done:
        return done.result
    return result


def _merge(
    conn: Connection, batch: PreparedBatch, source: str, dry_run: bool, imported_by: str | None
) -> ImportResult:
    import_id = db.next_ids(conn, Import, 1)[0]
    _insert_import(conn, import_id, batch, source, imported_by)
    therapist_ids = _ensure_names(conn, Therapist.name, _therapists(batch), import_id)
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
        conn, [Import, Therapist, Technique, Client, Session, TreatmentSeries, PriorValue]
    )
    return result


def check_against_database(conn: Connection, batch: PreparedBatch) -> pd.DataFrame:
    """Problems only the stored data reveals: a new client without an intake date."""
    if batch.clients.empty:
        return problems_frame([])
    codes = pd.Series(conn.execute(select(Client.client_code)).scalars().all(), dtype=object)
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
        insert(Import).values(
            id=import_id,
            source=source,
            file_names=", ".join(batch.files),
            content_hash=batch.content_hash,
            started_at=_now(),
            status="completed",
            rows_read=batch.rows_read,
            clients_added=0,
            clients_updated=0,
            sessions_added=0,
            sessions_updated=0,
            sessions_unchanged=0,
            imported_by=imported_by,
        )
    )


def _finish_import(conn: Connection, import_id: int, result: ImportResult) -> None:
    shown = result.problems[result.problems["severity"] != "error"]
    notices = "\n".join(describe_problems(shown, limit=200)) or None
    conn.execute(
        update(Import)
        .where(Import.id == import_id)
        .values(
            finished_at=_now(),
            clients_added=result.clients_added,
            clients_updated=result.clients_updated,
            sessions_added=result.sessions_added,
            sessions_updated=result.sessions_updated,
            sessions_unchanged=result.sessions_unchanged,
            diary_days_added=result.diary_days_added,
            diary_days_updated=result.diary_days_updated,
            diary_days_unchanged=result.diary_days_unchanged,
            notices=notices,
        )
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
    column: InstrumentedAttribute[str],
    names: list[str],
    import_id: int,
    labels: dict[str, str] | None = None,
) -> dict[str, int]:
    """Ids of `names` in `column`'s table (therapist names, technique keys), adding new ones."""
    model: type[Base] = column.class_  # type: ignore[assignment]  # always a mapped class here
    known = {name: int(id_) for id_, name in conn.execute(select(db.table_of(model).c.id, column))}
    new = [name for name in names if name not in known]
    if new:
        ids = db.next_ids(conn, model, len(new))
        frame = pd.DataFrame({"id": list(ids), column.key: new, "import_id": import_id})
        if labels is not None:
            frame["label"] = [labels.get(n) or technique_label(n) for n in new]
        db.bulk_insert(conn, model, frame)
        known.update(zip(new, ids, strict=True))
    return known


def _ensure_techniques(conn: Connection, batch: PreparedBatch, import_id: int) -> dict[str, int]:
    if batch.sessions.empty or "techniques" not in batch.sessions:
        return {}
    cells = batch.sessions["techniques"].dropna().unique()  # split each combination once
    names = sorted({key for cell in cells for key in str(cell).split(";") if key})
    return _ensure_names(conn, Technique.key, names, import_id, batch.new_techniques)


# --- clients ------------------------------------------------------------------------------
@dataclass
class _ClientMerge:
    ids: pd.Series  # client id by client code
    added: int
    updated: int
    warnings: pd.DataFrame


def _merge_clients(conn: Connection, batch: PreparedBatch, import_id: int) -> _ClientMerge:
    incoming = batch.clients.rename(columns={"client_id": "client_code", "client_name": "name"})
    given = [c if c != "client_name" else "name" for c in batch.intake_columns]
    stored = db.read_frame(conn, select(Client))
    merged = incoming.merge(stored, on="client_code", how="left", suffixes=("", "_old"))
    is_new = merged["id"].isna()
    new_ids = db.next_ids(conn, Client, int(is_new.sum()))
    merged.loc[is_new, "id"] = np.asarray(new_ids, dtype=float)
    merged["id"] = merged["id"].astype("int64")
    new_rows = merged.loc[is_new, ["id", "client_code", *given]].assign(import_id=import_id)
    db.bulk_insert(conn, Client, new_rows)
    old = merged[~is_new]
    changed = (
        pd.DataFrame(False, index=old.index, columns=given, dtype=bool)
        if stored.empty
        else _changed_mask(old, given)
    )
    updated = _apply_updates(conn, Client, old[changed.any(axis=1)], changed, given, import_id)
    # A Series, not a dict: one per client iterating Arrow strings cost ~0.5 s at 160,000.
    ids = pd.Series(merged["id"].to_numpy(), index=pd.Index(merged["client_code"]))
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
    model: type[Base],
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
    priors = [_json_ready(record) for record in olds.to_dict("records")]
    prior_ids = db.next_ids(conn, PriorValue, len(rows))
    db.bulk_insert(
        conn,
        PriorValue,
        pd.DataFrame(
            {
                "id": list(prior_ids),
                "import_id": import_id,
                "table_name": model.__tablename__,
                "row_id": rows["id"].astype(int).to_numpy(),
                "prior": priors,
            }
        ),
    )
    values = {c: rows[c].where(mask[c], rows[f"{c}_old"]) for c in given}
    changes = pd.DataFrame({"id": rows["id"], **values, "updated_import_id": import_id})
    db.bulk_update(conn, model, changes)
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
    client_ids: pd.Series,
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
    if stored.empty:  # these clients' first sessions: all new, nothing to compare or copy
        merged = incoming.assign(id=np.nan)
    else:
        merged = incoming.merge(stored, on=key, how="left", suffixes=("", "_old"))
    is_new = merged["id"].isna()
    merged.loc[is_new, "id"] = np.asarray(
        db.next_ids(conn, Session, int(is_new.sum())), dtype=float
    )
    merged["id"] = merged["id"].astype("int64")
    old = merged[~is_new]
    changed = (
        pd.DataFrame(False, index=old.index, columns=given, dtype=bool)
        if stored.empty
        else _changed_mask(old, given)
    )
    changed_rows = old[changed.any(axis=1)]

    everything = _combined_sessions(stored, merged, changed_rows, given)
    series = plan_series(conn, everything, affected)
    # Not a filtered copy of a million rows when every one is new (a first import).
    new_rows = (merged if is_new.all() else merged[is_new]).assign(import_id=import_id)
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
    db.bulk_insert(conn, Session, new_rows[columns])
    updated = _apply_updates(conn, Session, changed_rows, changed, given, import_id)
    move_sessions_between_series(conn, stored, series.session_series)
    link_techniques(conn, new_rows, changed_rows, changed, technique_ids)
    db.delete_ids(conn, TreatmentSeries, series.stale_ids)
    return int(is_new.sum()), updated, int(len(old) - len(changed_rows))


def read_sessions_of(conn: Connection, client_ids: list[int]) -> pd.DataFrame:
    """Stored sessions of the given clients (all columns), dates as datetime64."""
    base = select(Session)
    if not client_ids:
        return db.read_frame(conn, base.where(Session.id.is_(None)))
    total = conn.execute(select(func.count()).select_from(Client)).scalar_one()
    if len(client_ids) > total / 2:  # most clients: one scan beats thousands of IN lists
        frame = db.read_frame(conn, base)
        return frame[frame["client_id"].isin(client_ids)].reset_index(drop=True)
    frames = []
    for start in range(0, len(client_ids), 900):
        chunk = [int(i) for i in client_ids[start : start + 900]]
        frames.append(db.read_frame(conn, base.where(Session.client_id.in_(chunk))))
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
    new = merged.loc[~merged["id"].isin(after.index), [c for c in columns if c in merged]]
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
        db.next_ids(conn, TreatmentSeries, int(is_new.sum())), dtype=float
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
    db.bulk_insert(conn, TreatmentSeries, summary.loc[is_new, columns])
    db.bulk_update(conn, TreatmentSeries, summary.loc[~is_new, columns])
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
    frame = db.read_frame(
        conn, select(TreatmentSeries.id, TreatmentSeries.client_id, TreatmentSeries.number)
    )
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
    db.bulk_update(conn, Session, moved)


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
    db.delete_ids(conn, SessionTechnique, relinked["id"].tolist(), column="session_id")
    rows = pd.concat([new_rows[["id", "techniques"]], relinked[["id", "techniques"]]])
    db.bulk_insert(conn, SessionTechnique, technique_links(rows, technique_ids))


def technique_links(sessions: pd.DataFrame, technique_ids: dict[str, int]) -> pd.DataFrame:
    """(session_id, technique_id) rows from sessions' ';'-joined technique keys.

    Each distinct technique cell is split once (a practice has a few hundred combinations),
    a key repeated within it counted once, and the ids are spread over the sessions with
    numpy; only sessions listed twice can then repeat a link (not a million-row dedupe).
    """
    codes, cells = pd.factorize(sessions["techniques"].fillna(""))
    ids_of_cell = [
        list(dict.fromkeys(technique_ids[key] for key in str(cell).split(";") if key))
        for cell in cells
    ]
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
    return links if sessions["id"].is_unique else links.drop_duplicates()


__all__ = [
    "ImportResult",
    "SeriesPlan",
    "move_sessions_between_series",
    "plan_series",
    "read_sessions_of",
    "technique_links",
    "write_batch",
    "write_checked",
]
