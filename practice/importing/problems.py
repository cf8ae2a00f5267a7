"""Problems found in an import: every one names its file, row and column."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

Severity = Literal["error", "warning", "notice"]
PROBLEM_COLUMNS = ["file", "row", "column", "severity", "message", "value"]
# Values shown in a message are cut to this many characters (the report keeps them whole).
SHOWN_VALUE_CHARS = 60


@dataclass(frozen=True)
class Problem:
    """One problem: `row` is the row a spreadsheet shows (header = row 1)."""

    file: str
    row: int | None
    column: str | None
    severity: Severity
    message: str
    value: str | None = None

    def __str__(self) -> str:
        return format_problem(self.file, self.row, self.column, self.message, self.value)


def format_problem(file: str, row: Any, column: Any, message: str, value: Any) -> str:
    """`file row R, column C: message (value)`, leaving out the parts that do not apply."""
    place = [file] if file else []
    if row is not None and not pd.isna(row):
        place.append(f"row {int(row)}")
    where = " ".join(place)
    if column is not None and not pd.isna(column) and column != "":
        where = f"{where}, column {column}" if where else f"column {column}"
    text = f"{where}: {message}" if where else message
    if value is not None and not pd.isna(value) and str(value) != "":
        shown = str(value)
        if len(shown) > SHOWN_VALUE_CHARS:
            shown = shown[:SHOWN_VALUE_CHARS] + "…"
        text += f" ({shown!r})"
    return text


def problems_frame(problems: Iterable[Problem]) -> pd.DataFrame:
    """A list of Problem as a report frame (file, row, column, severity, message, value)."""
    rows = [(p.file, p.row, p.column, p.severity, p.message, p.value) for p in problems]
    if not rows:  # most checks find nothing: copying a made frame is ~50x quicker
        return _NO_PROBLEMS.copy()
    return pd.DataFrame(rows, columns=PROBLEM_COLUMNS).astype({"row": "Int64"})


def column_problems(
    file: str | pd.Series,
    rows: pd.Series,
    column: str,
    message: str | pd.Series,
    values: pd.Series | None = None,
    severity: Severity = "error",
) -> pd.DataFrame:
    """A report frame with one problem per flagged row, built without a Python loop.

    `file` and `message` are one text for all rows or a Series aligned with `rows`.
    """
    count = len(rows)
    if count == 0:
        return _NO_PROBLEMS.copy()
    return pd.DataFrame(
        {
            "file": file if isinstance(file, str) else file.to_numpy(),
            "row": pd.array(rows.to_numpy(), dtype="Int64"),
            "column": column,
            "severity": severity,
            "message": message if isinstance(message, str) else message.to_numpy(),
            "value": [None] * count if values is None else values.astype("object").to_numpy(),
        },
        index=range(count),
    )


_NO_PROBLEMS = pd.DataFrame([], columns=PROBLEM_COLUMNS).astype({"row": "Int64"})


def concat_problems(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """All problem frames as one, errors first, then by file, row and column."""
    kept = [f for f in frames if not f.empty]
    if not kept:
        return problems_frame([])
    report = pd.concat(kept, ignore_index=True)
    rank = report["severity"].map({"error": 0, "warning": 1, "notice": 2})
    order = report.assign(_rank=rank).sort_values(
        ["_rank", "file", "row", "column"], kind="stable", na_position="first"
    )
    return order.drop(columns="_rank").reset_index(drop=True)


def describe_problems(report: pd.DataFrame, *, limit: int | None = None) -> list[str]:
    """Each problem of a report frame as one line of text (at most `limit` lines)."""
    shown = report if limit is None else report.head(limit)
    return [
        f"{sev}: {format_problem(f, r, c, m, v)}"
        for f, r, c, sev, m, v in shown[PROBLEM_COLUMNS].itertuples(index=False, name=None)
    ]


class ImportRejected(Exception):
    """Raised when an import has errors; nothing was written. `report` lists every problem."""

    def __init__(self, report: pd.DataFrame) -> None:
        self.report = report
        errors = report[report["severity"] == "error"]
        first = describe_problems(errors, limit=1)
        summary = f"{len(errors)} problem(s) stopped the import; nothing was written"
        super().__init__(f"{summary}. First: {first[0]}" if first else summary)
