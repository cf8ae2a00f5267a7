"""Step 2 of an import: match the export's headers to Headway's canonical columns.

Headers match case-, space- and punctuation-insensitively, through the synonyms in
practice.columns; an explicit mapping (header -> canonical name, or "" to ignore) wins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from practice.columns import COLUMNS, COLUMNS_BY_NAME, DIARY_COLUMNS, Column
from practice.importing.problems import Problem
from practice.vocabulary import normalise_label

_PANDAS_DUPLICATE = re.compile(r"^(?P<base>.+)\.(?P<n>\d+)$")
_UNNAMED = re.compile(r"^Unnamed: \d+$")  # pandas' name for a blank header cell
_NAMED_IN_NOTICE = 10  # columns named in the one notice about ignored columns


def header_key(text: str) -> str:
    """A header reduced to its letters and digits: "Client ID", "client_id", "ClientID" agree."""
    return normalise_label(text).replace(" ", "")


def _synonym_lookup(columns: tuple[Column, ...]) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for column in columns:
        lookup[header_key(column.name)] = column.name
    for column in columns:
        for synonym in column.synonyms:
            lookup.setdefault(header_key(synonym), column.name)
    return lookup


SYNONYMS = _synonym_lookup(COLUMNS)
# A diary file is mapped with the diary's own columns (`headache` is the day's yes/no there).
DIARY_SYNONYMS = _synonym_lookup(DIARY_COLUMNS)
_KNOWN = {"sessions": COLUMNS_BY_NAME, "diary": {c.name: c for c in DIARY_COLUMNS}}
_LOOKUPS = {"sessions": SYNONYMS, "diary": DIARY_SYNONYMS}


@dataclass(frozen=True)
class ColumnMapping:
    """Canonical column -> the file's header, plus what was left out and why."""

    file: str
    to_header: dict[str, str]
    ignored: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = field(default=())

    def header_of(self, canonical: str) -> str:
        """The file's own header for a canonical column (for messages)."""
        header = self.to_header.get(canonical, canonical)
        return (
            header
            if normalise_label(header) == normalise_label(canonical)
            else (f"{header} ({canonical})")
        )


def map_columns(
    file: str,
    headers: list[str],
    explicit: Mapping[str, str] | None = None,
    *,
    kind: str = "sessions",
) -> ColumnMapping:
    """Match each header to a canonical column; report unknown, duplicate and clashing ones.

    An explicit mapping wins: a header it maps takes that column, and any other header that
    would have matched the same column is ignored. `kind` is "sessions" (intake and session
    columns) or "diary" (the headache diary's columns).
    """
    synonyms, known = _LOOKUPS[kind], _KNOWN[kind]
    explicit_keys = {header_key(k): v for k, v in (explicit or {}).items()}
    chosen = {v for v in explicit_keys.values() if v}
    problems: list[Problem] = []
    to_header: dict[str, str] = {}
    ignored: list[str] = []
    unused: list[tuple[int, str]] = []
    present = set(headers)  # a set: a list lookup per header would be quadratic
    for position, header in enumerate(headers, start=1):
        duplicate = _PANDAS_DUPLICATE.match(header)
        if duplicate and duplicate["base"] in present:
            problems.append(
                Problem(file, 1, duplicate["base"], "error", "this header appears more than once")
            )
            continue
        key = header_key(header)
        if key in explicit_keys:
            canonical = _explicit_target(file, header, explicit_keys[key], problems, known)
        else:
            canonical = synonyms.get(key)
            if canonical in chosen:
                canonical = None  # the mapping chose another header for this column
        if canonical is None:
            ignored.append(header)
            if header.strip():
                unused.append((position, header))
            continue
        if canonical in to_header:
            problems.append(
                Problem(
                    file,
                    1,
                    header,
                    "error",
                    f"both '{to_header[canonical]}' and '{header}' look like {canonical}; "
                    "choose one with a column mapping",
                )
            )
            continue
        to_header[canonical] = header
    problems.extend(_ignored_notices(file, unused))
    return ColumnMapping(file, to_header, tuple(ignored), tuple(problems))


def _explicit_target(
    file: str, header: str, target: str, problems: list[Problem], known: Mapping[str, Column]
) -> str | None:
    if not target:
        return None
    if target not in known:
        problems.append(
            Problem(
                file, 1, header, "error", f"the column mapping names an unknown column {target!r}"
            )
        )
        return None
    return target


def _ignored_notices(file: str, unused: list[tuple[int, str]]) -> list[Problem]:
    """One notice for the columns Headway does not use, one for those without a header."""
    blank = [f"#{position}" for position, header in unused if _UNNAMED.match(header)]
    named = [header for _, header in unused if not _UNNAMED.match(header)]
    return [
        *_summary(file, named, "column not used by Headway (ignored)", "columns not used"),
        *_summary(file, blank, "column without a header (ignored)", "columns without a header"),
    ]


def _summary(file: str, columns: list[str], one: str, several: str) -> list[Problem]:
    if not columns:
        return []
    if len(columns) == 1:
        return [Problem(file, 1, columns[0], "notice", one)]
    shown = ", ".join(columns[:_NAMED_IN_NOTICE])
    if len(columns) > _NAMED_IN_NOTICE:
        shown += f" and {len(columns) - _NAMED_IN_NOTICE:,} more"
    message = f"{len(columns):,} {several}" + (" by Headway" if "used" in several else "")
    return [Problem(file, 1, shown, "notice", message + " (ignored)")]


def unused_mapping_keys(
    headers_by_file: Mapping[str, list[str]], explicit: Mapping[str, str]
) -> list[Problem]:
    """Notices for mapping entries that name a header none of the files has (likely typos)."""
    present = {header_key(h) for headers in headers_by_file.values() for h in headers}
    files = ", ".join(headers_by_file)
    return [
        Problem(
            files,
            None,
            name,
            "notice",
            "the column mapping names a header no file has (check the spelling)",
        )
        for name in explicit
        if header_key(name) not in present
    ]
