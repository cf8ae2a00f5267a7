"""Step 3 of an import: text cells -> typed intake and session frames, and every problem.

Each check is vectorised over a whole column and yields a problem frame for the rows it
flags, so a file with a million rows costs a handful of passes, and a file with a thousand
mistakes reports all of them at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from practice import config
from practice.columns import (
    COLUMNS_BY_NAME,
    INTAKE_COLUMNS,
    REQUIRED_SESSION_COLUMNS,
    SESSION_COLUMNS,
    Column,
)
from practice.importing.dates import (
    AmbiguousDateOrder,
    DateOrder,
    MixedDateOrder,
    infer_date_order,
    parse_dates,
)
from practice.importing.mapping import ColumnMapping
from practice.importing.problems import Problem, column_problems, concat_problems, problems_frame
from practice.importing.reading import RawTable
from practice.vocabulary import (
    CODED_FIELDS,
    LIST_SEPARATORS,
    TECHNIQUE_LOOKUP,
    build_lookup,
    normalise_label,
    technique_key,
)

# "6,5" is a decimal comma; "1,000" (three digits after the comma) is not read as 1.
_DECIMAL_COMMA = re.compile(r"^-?\d+,\d{1,2}$")


@dataclass(frozen=True)
class ParsedFile:
    """One file's typed rows: `intake` always, `sessions` unless it is an intake-only file."""

    file: str
    intake: pd.DataFrame
    sessions: pd.DataFrame | None
    problems: pd.DataFrame
    new_techniques: dict[str, str]
    columns: tuple[str, ...]
    headers: dict[str, str]  # canonical column -> how messages name it ("Date (session_date)")


def parse_file(
    table: RawTable, mapping: ColumnMapping, date_order: DateOrder | None = None
) -> ParsedFile:
    """Type and check every mapped cell of one file; never raises for bad data."""
    file = table.file
    cells = table.cells.rename(columns={h: c for c, h in mapping.to_header.items()})
    cells = cells[list(mapping.to_header)]
    # The header is row 1; a data row keeps its place even when blank lines before it were
    # dropped (reading keeps the original index).
    rows = pd.Series(cells.index.to_numpy() + 2, index=cells.index)
    problems = [problems_frame(mapping.problems)]
    has_sessions = any(c in mapping.to_header for c in SESSION_COLUMNS)
    missing = _missing_columns(mapping, has_sessions)
    problems.append(
        problems_frame(
            Problem(file, 1, name, "error", "required column is missing") for name in missing
        )
    )
    order, order_problems = _resolve_date_order(file, cells, mapping, date_order)
    problems.append(problems_frame(order_problems))
    typed, typing_problems, new_techniques = _type_columns(file, cells, rows, mapping, order)
    problems.extend(typing_problems)
    typed["row"] = rows
    typed["file"] = file
    intake = typed[["file", "row", *[c for c in INTAKE_COLUMNS if c in typed]]]
    problems.append(_required_values(file, cells, rows, has_sessions, mapping))
    sessions = None
    if has_sessions:
        sessions = _session_frame(typed)
        problems.append(_session_rules(file, sessions, mapping))
    return ParsedFile(
        file,
        intake,
        sessions,
        concat_problems(problems),
        new_techniques,
        tuple(mapping.to_header),
        {c: mapping.header_of(c) for c in mapping.to_header},
    )


def _missing_columns(mapping: ColumnMapping, has_sessions: bool) -> list[str]:
    required = REQUIRED_SESSION_COLUMNS if has_sessions else ("client_id",)
    return [name for name in required if name not in mapping.to_header]


def _resolve_date_order(
    file: str,
    cells: pd.DataFrame,
    mapping: ColumnMapping,
    override: DateOrder | None,
    columns: Mapping[str, Column] = COLUMNS_BY_NAME,
) -> tuple[DateOrder | None, list[Problem]]:
    if override is not None:
        return override, []
    date_columns = {c: cells[c] for c in cells if columns[c].kind == "date"}
    try:
        return infer_date_order(date_columns), []
    except AmbiguousDateOrder as exc:
        message = (
            f"dates like {exc.example!r} read differently day-first and month-first; "
            "say which with --dayfirst or --monthfirst (or the date order choice)"
        )
        return None, [Problem(file, None, mapping.header_of(exc.column), "error", message)]
    except MixedDateOrder as exc:
        message = (
            f"the file mixes day-first dates ({exc.dayfirst_example!r}) with month-first "
            f"dates ({exc.monthfirst_example!r}); fix the export or choose the order"
        )
        return None, [Problem(file, None, None, "error", message)]


def _type_columns(
    file: str,
    cells: pd.DataFrame,
    rows: pd.Series,
    mapping: ColumnMapping,
    order: DateOrder | None,
) -> tuple[pd.DataFrame, list[pd.DataFrame], dict[str, str]]:
    typed: dict[str, pd.Series] = {}
    problems: list[pd.DataFrame] = []
    new_techniques: dict[str, str] = {}
    for name in cells.columns:
        column = COLUMNS_BY_NAME[name]
        header = mapping.header_of(name)
        raw = cells[name]
        problems.append(_too_long(file, raw, rows, header, name))
        if column.kind == "number":
            typed[name], found = _parse_numbers(file, raw, rows, header, column)
        elif column.kind == "date":
            typed[name], found = _parse_date_column(file, raw, rows, header, order)
        elif column.kind == "coded":
            typed[name], found = _parse_coded(file, raw, rows, header, name)
        elif name == "techniques":
            typed[name], found, new_techniques = _parse_techniques(file, raw, rows, header)
        elif column.kind == "list":
            typed[name], found = _parse_list(raw), problems_frame([])
        else:
            typed[name], found = raw.replace("", None), problems_frame([])
        problems.append(found)
    return pd.DataFrame(typed, index=cells.index, copy=False), problems, new_techniques


def field_limit(column: str) -> tuple[int, str]:
    """The longest value a column takes (characters) and the setting that says so.

    Notes are stored whole up to their own, larger limit: clinical notes run to pages.
    """
    if column == "notes":
        return config.MAX_NOTE_CHARS, "PRACTICE_MAX_NOTE_CHARS"
    return config.MAX_FIELD_CHARS, "PRACTICE_MAX_FIELD_CHARS"


def _too_long(file: str, raw: pd.Series, rows: pd.Series, header: str, column: str) -> pd.DataFrame:
    limit, setting = field_limit(column)
    bad = raw.str.len() > limit
    message = f"the value is longer than {limit} characters (setting {setting})"
    return column_problems(file, rows[bad], header, message, raw[bad])


def _parse_numbers(
    file: str, raw: pd.Series, rows: pd.Series, header: str, column: Column
) -> tuple[pd.Series, pd.DataFrame]:
    numbers = _read_numbers(raw)
    given = raw != ""
    not_number = given & numbers.isna()
    low, high = column.low, column.high
    out_of_range = numbers.notna() & ((numbers < low) | (numbers > high))
    # Only whole-number columns pay for the modulo (a tenth of the column's parsing time).
    not_whole = (
        numbers.notna() & ~out_of_range & (numbers % 1 != 0)
        if column.whole
        else pd.Series(False, index=numbers.index)
    )
    found = [
        column_problems(file, rows[not_number], header, "is not a number", raw[not_number]),
        column_problems(
            file,
            rows[out_of_range],
            header,
            f"must be between {_fmt(low)} and {_fmt(high)}",
            raw[out_of_range],
        ),
        column_problems(file, rows[not_whole], header, "must be a whole number", raw[not_whole]),
    ]
    bad = not_number | out_of_range | not_whole
    kept = numbers.where(~bad)
    return (kept.astype("Int64") if column.whole else kept), concat_problems(found)


def _read_numbers(raw: pd.Series) -> pd.Series:
    """Each cell as float64 (a decimal comma read as a point), NaN where blank or not a number.

    Each distinct text is read once and spread back over the rows: a score column of a
    million rows holds a few dozen distinct texts.
    """
    codes, uniques = pd.factorize(raw)
    distinct = pd.Series(uniques)
    text = distinct.where(
        ~distinct.str.match(_DECIMAL_COMMA), distinct.str.replace(",", ".", regex=False)
    )
    numbers = pd.to_numeric(text.replace("", None), errors="coerce").astype("float64")
    return pd.Series(_spread(numbers.to_numpy(), codes, np.nan), index=raw.index)


def _spread(values: np.ndarray, codes: np.ndarray, missing: object) -> np.ndarray:
    """`values[codes]`, with `missing` where a code is -1 (a missing cell)."""
    return np.append(values, np.array([missing], dtype=values.dtype))[codes]


def _parse_date_column(
    file: str, raw: pd.Series, rows: pd.Series, header: str, order: DateOrder | None
) -> tuple[pd.Series, pd.DataFrame]:
    dates = parse_dates(raw, order)
    bad = (raw != "") & dates.isna()
    message = "is not a valid date (expected e.g. 2025-03-14)"
    found = column_problems(file, rows[bad], header, message, raw[bad])
    too_early = dates.notna() & (dates.dt.year < 1900)
    found = concat_problems(
        [found, column_problems(file, rows[too_early], header, "is before 1900", raw[too_early])]
    )
    return dates.where(~too_early), found


def _parse_coded(
    file: str, raw: pd.Series, rows: pd.Series, header: str, name: str
) -> tuple[pd.Series, pd.DataFrame]:
    vocabulary, aliases = CODED_FIELDS[name]
    lookup = build_lookup(vocabulary, aliases)
    keys = _map_distinct(raw, lambda v: lookup.get(normalise_label(v)), blank=None)
    coded = pd.Series(keys, index=raw.index, dtype=object)
    bad = (raw != "") & coded.isna()
    allowed = ", ".join(vocabulary)
    found = column_problems(file, rows[bad], header, f"must be one of: {allowed}", raw[bad])
    return coded, found


def _map_distinct(
    raw: pd.Series, function: Callable[[str], object], *, blank: object
) -> np.ndarray:
    """`function` of each distinct cell, spread back over the column as an object array.

    Blank and missing cells get `blank`. A column of a million cells holds a few dozen
    distinct texts: each is looked at once, and no Python string is made per row.
    """
    codes, uniques = pd.factorize(raw)
    values = np.empty(len(uniques) + 1, dtype=object)
    values[:] = [blank if u == "" else function(str(u)) for u in uniques] + [blank]
    return values[codes]


def _parse_list(raw: pd.Series) -> pd.Series:
    """A list cell re-joined with ';' (any accepted separator in, one separator out)."""
    joined = _map_distinct(raw, lambda v: ";".join(_split_list(v)) or np.nan, blank=np.nan)
    return pd.Series(joined, index=raw.index, dtype=object)


def _split_list(cell: str) -> list[str]:
    return [item.strip() for item in re.split(LIST_SEPARATORS, cell) if item.strip()]


def _parse_techniques(
    file: str, raw: pd.Series, rows: pd.Series, header: str
) -> tuple[pd.Series, pd.DataFrame, dict[str, str]]:
    """Technique keys ';'-joined; labels outside the vocabulary become new techniques."""
    known = set(TECHNIQUE_LOOKUP.values())
    new: dict[str, str] = {}
    first_cell: dict[str, str] = {}  # new key -> the first cell (in file order) that holds it
    keyed: dict[str, str] = {}
    for cell in raw[raw != ""].drop_duplicates():
        keys: list[str] = []
        for label in _split_list(cell):
            key = technique_key(label)
            if not key:  # punctuation only ("-"): not a technique
                continue
            if key not in known and key not in new:
                new[key], first_cell[key] = label, cell
            if key not in keys:
                keys.append(key)
        keyed[cell] = ";".join(keys)
    techniques = pd.Series(
        _map_distinct(raw, keyed.__getitem__, blank=""), index=raw.index, dtype=object
    )
    notices = [
        column_problems(
            file,
            rows[raw == first_cell[key]].head(1),
            header,
            f"technique {label!r} is not in Headway's vocabulary; kept as a new technique '{key}'",
            pd.Series([label]),
            severity="notice",
        )
        for key, label in new.items()
    ]
    return techniques, concat_problems(notices), new


def _session_frame(typed: pd.DataFrame) -> pd.DataFrame:
    # A blank or missing status means attended; it is filled in when the row is inserted, so a
    # file without the column never overwrites a stored no-show. (No copy: pandas copies on
    # write, and a million-row file would be held twice.)
    return typed.rename(columns={"series_id": "series_code"})


def _required_values(
    file: str, cells: pd.DataFrame, rows: pd.Series, has_sessions: bool, mapping: ColumnMapping
) -> pd.DataFrame:
    """A blank cell in a column that every row must fill."""
    required = ("client_id", "session_date", "therapist") if has_sessions else ("client_id",)
    found = []
    for name in required:
        if name in cells:
            blank = cells[name] == ""
            found.append(
                column_problems(
                    file,
                    rows[blank],
                    mapping.header_of(name),
                    "a value is required",
                    cells.loc[blank, name],
                )
            )
    return concat_problems(found)


def _session_rules(file: str, sessions: pd.DataFrame, mapping: ColumnMapping) -> pd.DataFrame:
    """Row rules that involve more than one column (an attended session's techniques)."""
    found = []
    if "techniques" in sessions:
        status = sessions.get("status", pd.Series("attended", index=sessions.index))
        attended = status.fillna("attended") == "attended"
        needs = attended & (sessions["techniques"] == "")
        found.append(
            column_problems(
                file,
                sessions.loc[needs, "row"],
                mapping.header_of("techniques"),
                "an attended session needs at least one technique",
                sessions.loc[needs, "techniques"],
            )
        )
    return concat_problems(found)


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:g}"
