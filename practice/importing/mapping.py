"""Step 2 of an import: match the export's headers to Headway's canonical columns.

Headers match case-, space- and punctuation-insensitively, through the synonyms in
practice.columns; an explicit mapping (header -> canonical name, or "" to ignore) wins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from practice.columns import COLUMNS, COLUMNS_BY_NAME
from practice.importing.problems import Problem
from practice.vocabulary import normalise_label

_PANDAS_DUPLICATE = re.compile(r"^(?P<base>.+)\.(?P<n>\d+)$")


def _synonym_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for column in COLUMNS:
        lookup[normalise_label(column.name)] = column.name
        for synonym in column.synonyms:
            lookup.setdefault(normalise_label(synonym), column.name)
    return lookup


SYNONYMS = _synonym_lookup()


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
    file: str, headers: list[str], explicit: Mapping[str, str] | None = None
) -> ColumnMapping:
    """Match each header to a canonical column; report unknown, duplicate and clashing ones."""
    explicit_norm = {normalise_label(k): v for k, v in (explicit or {}).items()}
    problems: list[Problem] = []
    to_header: dict[str, str] = {}
    ignored: list[str] = []
    for header in headers:
        duplicate = _PANDAS_DUPLICATE.match(header)
        if duplicate and duplicate["base"] in headers:
            problems.append(
                Problem(file, 1, duplicate["base"], "error", "this header appears more than once")
            )
            continue
        canonical = _canonical_for(header, explicit_norm, problems, file)
        if canonical is None:
            ignored.append(header)
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
    problems.extend(
        Problem(file, 1, header, "notice", "column not used by Headway (ignored)")
        for header in ignored
        if header.strip()
    )
    return ColumnMapping(file, to_header, tuple(ignored), tuple(problems))


def _canonical_for(
    header: str, explicit: dict[str, str], problems: list[Problem], file: str
) -> str | None:
    key = normalise_label(header)
    if key in explicit:
        target = explicit[key]
        if target in ("", None):
            return None
        if target not in COLUMNS_BY_NAME:
            problems.append(
                Problem(
                    file,
                    1,
                    header,
                    "error",
                    f"the column mapping names an unknown column {target!r}",
                )
            )
            return None
        return target
    return SYNONYMS.get(key)
