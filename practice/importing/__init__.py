"""Importing practice-software CSV exports: read -> map columns -> validate -> write.

`import_files` is the entry point of the command line; the upload page checks first
(`preview`), then writes the checked batch with `write_batch`. Each step is its own module so
that it can be tested alone; callers outside the package use only the names exported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from sqlalchemy import Engine

from practice.importing import permissions, preview
from practice.importing.batch import PreparedBatch, hash_files, prepare_batch
from practice.importing.dates import DateOrder
from practice.importing.diary import (
    KINDS,
    detect_kind,
    mixed_kind_problems,
    prepare_diary,
    write_diary,
)
from practice.importing.memory import recall_mapping, remember_mapping, source_signature
from practice.importing.problems import ImportRejected, describe_problems, problems_frame
from practice.importing.reading import ENCODING_CHOICES
from practice.importing.undo import UndoRefused, undo_import
from practice.importing.writing import ImportResult, write_batch


def import_files(
    engine: Engine,
    files: Sequence[tuple[str, bytes]],
    *,
    mapping: Mapping[str, str] | None = None,
    date_order: DateOrder | None = None,
    source: str = "cli",
    dry_run: bool = False,
    kind: str = "auto",
    encoding: str | None = None,
    imported_by: str | None = None,
) -> ImportResult:
    """Check every file, then write them all in one transaction or raise ImportRejected.

    `kind` "auto" tells a headache diary from a session export by its columns; "diary" or
    "sessions" forces one. Diary files are imported on their own (practice.importing.diary).
    `encoding` (a name Python knows) overrides detection for files that are not UTF-8;
    `imported_by` (who imports) is stored with the import.
    """
    kinds = {name: detect_kind(data, kind) for name, data in files}
    if "diary" in kinds.values():
        if set(kinds.values()) != {"diary"}:
            raise ImportRejected(problems_frame(mixed_kind_problems(kinds)))
        diary = prepare_diary(files, mapping=mapping, date_order=date_order, encoding=encoding)
        return write_diary(engine, diary, source=source, dry_run=dry_run, imported_by=imported_by)
    batch = prepare_batch(files, mapping=mapping, date_order=date_order, encoding=encoding)
    return write_batch(engine, batch, source=source, dry_run=dry_run, imported_by=imported_by)


def import_paths(engine: Engine, paths: Sequence[Path], **options: object) -> ImportResult:
    """`import_files` for files on disk, named by their file name in messages."""
    files = [(Path(p).name, Path(p).read_bytes()) for p in paths]
    return import_files(engine, files, **options)  # type: ignore[arg-type]


__all__ = [
    "ENCODING_CHOICES",
    "KINDS",
    "DateOrder",
    "ImportRejected",
    "ImportResult",
    "PreparedBatch",
    "UndoRefused",
    "describe_problems",
    "hash_files",
    "import_files",
    "import_paths",
    "permissions",
    "prepare_batch",
    "preview",
    "recall_mapping",
    "remember_mapping",
    "source_signature",
    "undo_import",
    "write_batch",
]
