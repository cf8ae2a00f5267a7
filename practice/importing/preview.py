"""What the upload page shows before and after an import: previews, mappings and reports.

Plain functions over the importer's pieces, so that the page stays thin and every table it
shows is tested without a browser. Nothing here writes to the database except through
`check_upload`'s dry run, which always rolls back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine

from practice.columns import COLUMNS, DIARY_COLUMNS
from practice.formatting import escape_markdown
from practice.importing.batch import PreparedBatch, prepare_batch
from practice.importing.dates import DateOrder
from practice.importing.diary import (
    DiaryBatch,
    detect_kind,
    looks_like_diary,
    mixed_kind_problems,
    prepare_diary,
    write_diary,
)
from practice.importing.mapping import DIARY_SYNONYMS, SYNONYMS, header_key, map_columns
from practice.importing.memory import source_signature
from practice.importing.problems import PROBLEM_COLUMNS, ImportRejected, problems_frame
from practice.importing.reading import RawTable, UnreadableFile, read_table
from practice.importing.writing import ImportResult, write_batch
from practice.vocabulary import slugify

# Choices of the column-mapping step: "" ignores the column, anything else is a column name.
# A diary file's own columns follow (those a session file also has are offered once).
MAPPING_OPTIONS: tuple[str, ...] = (
    "",
    *(c.name for c in COLUMNS),
    *(c.name for c in DIARY_COLUMNS if c.name not in {c.name for c in COLUMNS}),
)
KIND_LABELS = {"sessions": "session export", "diary": "headache diary"}
# How the check's change table matches what is stored, per kind of upload.
MATCHING_TEXT = {
    "sessions": "A session is matched on client, date and therapist: a new one is added, a "
    "known one with different values is updated, and one with the same values is unchanged.",
    "diary": "A diary day is matched on client and day: a new one is added, a known one with "
    "different values is updated, and one with the same values is unchanged. Headache days "
    "per 28 days from the diary then replace the reported ones (docs/metrics.md).",
}
DATE_ORDER_OPTIONS: dict[str, DateOrder | None] = {
    "automatic": None,
    "dayfirst": "dayfirst",
    "monthfirst": "monthfirst",
}
DATE_ORDER_LABELS = {
    "automatic": "Automatic (decided from the dates in each file)",
    "dayfirst": "Day first: 03/04/2025 is 3 April 2025",
    "monthfirst": "Month first: 03/04/2025 is 4 March 2025",
}
SOURCE_LABELS = {"upload": "upload page", "cli": "command line", "sample": "sample practice"}
HISTORY_COLUMNS = {
    "id": "Import",
    "started_at": "Started",
    "source": "From",
    "file_names": "Files",
    "status": "Status",
    "rows_read": "Rows read",
    "clients_added": "Clients added",
    "clients_updated": "Clients updated",
    "sessions_added": "Sessions added",
    "sessions_updated": "Sessions updated",
    "sessions_unchanged": "Sessions unchanged",
    "diary_days_added": "Diary days added",
    "diary_days_updated": "Diary days updated",
    "undone_at": "Undone",
    "notices": "Notices",
}
# Markdown (and Streamlit's :color[...] / :emoji: extensions) treat these as syntax.
_UNNAMED = re.compile(r"^Unnamed: \d+$")  # pandas' name for a blank header cell


# --- files ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class FilePreview:
    """One uploaded file as the page previews it; `problem` says why it cannot be read."""

    file: str
    headers: tuple[str, ...]
    rows: int
    first_rows: pd.DataFrame
    signature: str
    problem: str | None = None
    table: RawTable | None = None  # the file as read, so that the check need not read it again
    notice: str | None = None  # which encoding a file that is not UTF-8 was read in
    kind: str = "sessions"  # or "diary": recognised by its columns (practice.importing.diary)

    @property
    def encoding_in_doubt(self) -> bool:
        """True when the file was refused because its encoding could not be told."""
        return self.problem is not None and "choose its encoding" in self.problem


def preview_file(
    name: str, data: bytes, *, rows: int = 5, encoding: str | None = None
) -> FilePreview:
    """Headers, row count and first `rows` rows of one upload (never raises for bad files)."""
    try:
        table = read_table(name, data, encoding=encoding)
    except UnreadableFile as exc:
        return FilePreview(name, (), 0, pd.DataFrame(), "", str(exc.problem))
    headers = tuple(str(h) for h in table.cells.columns)
    first = table.cells.head(rows)
    # The header is row 1; reading keeps each data row's place (blank lines dropped).
    first.index = pd.Index(first.index.to_numpy() + 2, name="row")
    notice = table.encoding_notice()
    return FilePreview(
        name,
        headers,
        len(table.cells),
        first,
        source_signature(headers),
        table=table,
        notice=notice.message if notice is not None else None,
        kind="diary" if looks_like_diary(headers) else "sessions",
    )


def preview_files(
    files: Sequence[tuple[str, bytes]], *, rows: int = 5, encoding: str | None = None
) -> list[FilePreview]:
    """`preview_file` for every upload, in upload order."""
    return [preview_file(name, data, rows=rows, encoding=encoding) for name, data in files]


def tables_of(previews: Iterable[FilePreview]) -> dict[str, RawTable]:
    """The files the previews read already, by name (for `check_upload(tables=...)`)."""
    return {p.file: p.table for p in previews if p.table is not None}


# --- column mapping -------------------------------------------------------------------------
def unrecognised_headers(previews: Iterable[FilePreview]) -> list[tuple[str, tuple[str, ...]]]:
    """Headers the importer does not know, once each (by normalised name), with their files.

    Blank header cells (pandas' `Unnamed: N`) are left out: they are ignored with a notice.
    """
    found: dict[str, tuple[str, list[str]]] = {}
    for preview in previews:
        mapping = map_columns(preview.file, list(preview.headers), kind=preview.kind)
        for header in mapping.ignored:
            key = header_key(header)
            if not key or _UNNAMED.match(header):
                continue
            _, files = found.setdefault(key, (header, []))
            if preview.file not in files:
                files.append(preview.file)
    return [(header, tuple(files)) for header, files in found.values()]


def mapping_key(header: str) -> str:
    """The widget key of a header's mapping choice (`Visit Type` -> `map_visit_type`)."""
    return f"map_{slugify(header)}"


def option_label(option: str) -> str:
    """How a mapping choice reads in the selectbox."""
    if option == "":
        return "ignore (not imported)"
    part = next(c.part for c in (*COLUMNS, *DIARY_COLUMNS) if c.name == option)
    return f"{option} ({part})"


def remembered_choices(
    previews: Iterable[FilePreview],
    remembered: Mapping[str, Mapping[str, str]],
    headers: Iterable[str],
) -> dict[str, str]:
    """The remembered column of each of `headers`, from its file's source (first file wins).

    `remembered` maps a source signature to its stored mapping; headers without a
    remembered choice are left out.
    """
    by_key: dict[str, str] = {}
    for preview in previews:
        for header, target in remembered.get(preview.signature, {}).items():
            by_key.setdefault(header_key(header), target)
    return {h: by_key[header_key(h)] for h in headers if header_key(h) in by_key}


def mapping_for_file(headers: Iterable[str], choices: Mapping[str, str]) -> dict[str, str]:
    """The part of the page's mapping that concerns one file's headers (to remember it)."""
    chosen = {header_key(h): target for h, target in choices.items()}
    return {h: chosen[header_key(h)] for h in headers if header_key(h) in chosen}


def mappings_to_remember(
    previews: Iterable[FilePreview],
    choices: Mapping[str, str],
    remembered: Mapping[str, Mapping[str, str]],
) -> dict[str, dict[str, str]]:
    """Per source signature, the mapping to store with the import of these files.

    A file's part of the page's choices is stored when it maps a column, or when its source
    had a remembered mapping (which the choices then replace, possibly with "ignore").
    """
    mappings: dict[str, dict[str, str]] = {}
    for preview in previews:
        chosen = mapping_for_file(preview.headers, choices)
        if any(chosen.values()) or remembered.get(preview.signature):
            mappings[preview.signature] = chosen
    return mappings


def column_table(
    headers: Sequence[str], choices: Mapping[str, str], *, kind: str = "sessions"
) -> pd.DataFrame:
    """File column -> Headway column (or "ignored"), and how the match was made."""
    synonyms = DIARY_SYNONYMS if kind == "diary" else SYNONYMS
    # A choice of the other kind's column (the mapping is shared by every file) is not this
    # file's concern.
    own = {c.name for c in (DIARY_COLUMNS if kind == "diary" else COLUMNS)}
    others = set(MAPPING_OPTIONS) - own - {""}
    choices = {h: t for h, t in choices.items() if t not in others}
    mapping = map_columns("", list(headers), choices, kind=kind)
    canonical_of = {header: canonical for canonical, header in mapping.to_header.items()}
    chosen = {header_key(h) for h, target in choices.items() if target}
    targets = {target for target in choices.values() if target}
    troubled = {p.column for p in mapping.problems if p.severity == "error"}
    how, target = [], []
    for header in headers:
        canonical = canonical_of.get(header)
        target.append(canonical if canonical else "ignored")
        if header in troubled:
            how.append("see the check")
        elif header_key(header) in chosen:
            how.append("your mapping")
        elif canonical:
            how.append("recognised")
        elif synonyms.get(header_key(header)) in targets:
            how.append("replaced by your mapping")
        else:
            how.append("not used")
    return pd.DataFrame({"File column": list(headers), "Headway column": target, "How": how})


# --- checking -------------------------------------------------------------------------------
@dataclass(frozen=True)
class UploadCheck:
    """The full check of an upload: the prepared batch, what a dry run would do, every problem."""

    batch: PreparedBatch | DiaryBatch
    result: ImportResult | None  # None when errors stop the import
    report: pd.DataFrame

    @property
    def kind(self) -> str:
        """ "diary" for a headache diary upload, else "sessions"."""
        return "diary" if isinstance(self.batch, DiaryBatch) else "sessions"

    @property
    def clients_in_files(self) -> int:
        """How many clients the files name with an intake (none for a diary)."""
        return 0 if isinstance(self.batch, DiaryBatch) else len(self.batch.clients)

    @property
    def errors(self) -> pd.DataFrame:
        """The problems that stop the import."""
        return self.report[self.report["severity"] == "error"]


def check_upload(
    engine: Engine,
    files: Sequence[tuple[str, bytes]],
    *,
    mapping: Mapping[str, str] | None = None,
    date_order: DateOrder | None = None,
    encoding: str | None = None,
    tables: Mapping[str, RawTable] | None = None,
) -> UploadCheck:
    """Prepare the batch and dry-run it against the database (rolled back, nothing written).

    `tables` are the files the previews read already: they are not parsed again. Headache
    diaries are recognised by their columns, as on the command line; a diary uploaded together
    with session exports is refused (it is imported on its own).
    """
    kinds = {name: detect_kind(data) for name, data in files}
    batch: PreparedBatch | DiaryBatch
    mixed = mixed_kind_problems(kinds)
    if "diary" in kinds.values() and not mixed:
        batch = prepare_diary(files, mapping=mapping, date_order=date_order, encoding=encoding)
    else:
        batch = prepare_batch(
            files, mapping=mapping, date_order=date_order, encoding=encoding, tables=tables
        )
    if mixed:
        return UploadCheck(batch, None, problems_frame(mixed))
    try:
        result = import_checked(engine, batch, dry_run=True)
    except ImportRejected as rejected:
        return UploadCheck(batch, None, rejected.report)
    return UploadCheck(batch, result, result.problems)


def import_checked(
    engine: Engine,
    batch: PreparedBatch | DiaryBatch,
    *,
    dry_run: bool = False,
    imported_by: str | None = None,
    remember: Mapping[str, Mapping[str, str]] | None = None,
) -> ImportResult:
    """Write a checked upload (sessions or a diary) from the upload page, all or nothing,
    with the column mappings to remember (`mappings_to_remember`) in the same transaction."""
    if isinstance(batch, DiaryBatch):
        return write_diary(
            engine,
            batch,
            source="upload",
            dry_run=dry_run,
            imported_by=imported_by,
            remember=remember,
        )
    return write_batch(
        engine,
        batch,
        source="upload",
        dry_run=dry_run,
        imported_by=imported_by,
        remember=remember,
    )


def severity_counts(report: pd.DataFrame) -> dict[str, int]:
    """How many errors, warnings and notices a report holds (each key always present)."""
    counts = report["severity"].value_counts()
    return {severity: int(counts.get(severity, 0)) for severity in ("error", "warning", "notice")}


def report_table(report: pd.DataFrame) -> pd.DataFrame:
    """The report with its columns in the documented order (file, row, column, ...)."""
    return report[PROBLEM_COLUMNS].reset_index(drop=True)


def change_table(result: ImportResult, clients_in_files: int) -> pd.DataFrame:
    """Clients and sessions (or diary days) added, updated and unchanged by an import."""
    if result.kind == "diary":
        return pd.DataFrame(
            {
                "Records": ["Diary days"],
                "Added": [result.diary_days_added],
                "Updated": [result.diary_days_updated],
                "Unchanged": [result.diary_days_unchanged],
            }
        )
    clients_unchanged = clients_in_files - result.clients_added - result.clients_updated
    return pd.DataFrame(
        {
            "Records": ["Clients", "Sessions"],
            "Added": [result.clients_added, result.sessions_added],
            "Updated": [result.clients_updated, result.sessions_updated],
            "Unchanged": [max(clients_unchanged, 0), result.sessions_unchanged],
        }
    )


# --- history --------------------------------------------------------------------------------
def history_table(imports: pd.DataFrame, *, show_changes: bool = True) -> pd.DataFrame:
    """Import history (as fetch_imports returns it) with readable column names, newest first.

    Without `show_changes` (front desk) the updated/unchanged counts are left out: they would
    tell whether stored values differed from the files.
    """
    columns = [c for c in HISTORY_COLUMNS if c in imports]  # older frames: no diary counts
    if not show_changes:
        columns = [c for c in columns if not c.endswith(("_updated", "_unchanged"))]
    table = imports.sort_values("id", ascending=False)[columns].copy()
    table["source"] = table["source"].map(SOURCE_LABELS).fillna(table["source"])
    table["notices"] = table["notices"].fillna("")
    return table.rename(columns=HISTORY_COLUMNS).reset_index(drop=True)


def undoable_import(imports: pd.DataFrame) -> pd.Series | None:
    """The newest completed import: the only one that can be undone (imports stack)."""
    completed = imports[imports["status"] == "completed"]
    if completed.empty:
        return None
    return completed.loc[completed["id"].idxmax()]


def undo_question(row: pd.Series, *, show_changes: bool = True) -> str:
    """The confirmation text for undoing `row` (markdown-escaped file names).

    Without `show_changes` (front desk) it does not say how many stored records come back.
    """
    restored = int(row["clients_updated"]) + int(row["sessions_updated"])
    added = f"{int(row['sessions_added'])} session(s) and {int(row['clients_added'])} client(s)"
    if int(row.get("diary_days_added", 0)) or int(row.get("diary_days_updated", 0)):
        restored += int(row["diary_days_updated"])
        added = f"{int(row['diary_days_added'])} diary day(s)"
    question = (
        f"Undo import #{int(row['id'])} ({escape_markdown(str(row['file_names']))}, "
        f"{pd.Timestamp(row['started_at']):%d %b %Y %H:%M})? "
        f"This removes the {added} it added"
    )
    if not show_changes:
        return f"{question} and restores any stored values it changed."
    if restored:
        return (
            f"{question} and restores the previous values of the {restored} record(s) it changed."
        )
    return f"{question}; it changed no stored records."


def undo_summary(import_id: int, undone: Mapping[str, int], *, show_changes: bool = True) -> str:
    """One line saying what an undo did (without `show_changes`: only what it removed)."""
    if not show_changes:
        removed = (
            f"{undone['diary_days_removed']} diary day(s)"
            if "diary_days_removed" in undone
            else f"{undone['sessions_removed']} session(s) and {undone['clients_removed']} "
            "client(s)"
        )
        return f"Import #{import_id} was undone: {removed} removed."
    if "diary_days_removed" in undone:
        return (
            f"Import #{import_id} was undone: {undone['diary_days_removed']} diary day(s) "
            f"removed, {undone['diary_days_restored']} restored."
        )
    return (
        f"Import #{import_id} was undone: {undone['sessions_removed']} session(s) and "
        f"{undone['clients_removed']} client(s) removed, {undone['sessions_restored']} "
        f"session(s) and {undone['clients_restored']} client(s) restored."
    )


__all__ = [
    "DATE_ORDER_LABELS",
    "DATE_ORDER_OPTIONS",
    "KIND_LABELS",
    "MAPPING_OPTIONS",
    "MATCHING_TEXT",
    "FilePreview",
    "UploadCheck",
    "change_table",
    "check_upload",
    "column_table",
    "history_table",
    "import_checked",
    "mapping_for_file",
    "mapping_key",
    "mappings_to_remember",
    "option_label",
    "preview_file",
    "preview_files",
    "remembered_choices",
    "report_table",
    "severity_counts",
    "tables_of",
    "undo_question",
    "undo_summary",
    "undoable_import",
]
