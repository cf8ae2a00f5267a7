"""Step 1 of an import: bytes -> a frame of text cells, whatever the export's dialect.

Accepts UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"), Windows-1252;
comma, semicolon or tab separators; quoted fields with separators and newlines; CRLF.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pandas as pd

from practice import config
from practice.importing.problems import Problem

SEPARATORS = (",", ";", "\t")
# Characters other than tab, newline and carriage return below 0x20 do not occur in text
# exports; many of them mean the file is a spreadsheet or an image, not a CSV.
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))


@dataclass(frozen=True)
class RawTable:
    """A file's cells as stripped text ("" for blank), with how it was decoded."""

    file: str
    cells: pd.DataFrame
    encoding: str
    separator: str


class UnreadableFile(Exception):
    """The file cannot be read as a CSV; `problem` says why."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


def read_table(file: str, data: bytes) -> RawTable:
    """Decode and parse one CSV export into text cells, or raise UnreadableFile."""
    max_bytes = config.MAX_UPLOAD_MB * 1024 * 1024
    if len(data) > max_bytes:
        _reject(
            file,
            f"is {len(data) / 1024 / 1024:.0f} MB, above the limit of "
            f"{config.MAX_UPLOAD_MB:.0f} MB (setting PRACTICE_MAX_UPLOAD_MB)",
        )
    text, encoding = decode_text(file, data)
    if text.strip() == "":
        _reject(file, "is empty")
    separator = sniff_separator(text)
    try:
        cells = pd.read_csv(
            io.StringIO(text),
            sep=separator,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
            quotechar='"',
            engine="c",
        )
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        _reject(file, f"is not a well-formed CSV file: {exc}")
    if cells.empty:
        _reject(file, "has a header but no rows")
    cells = _strip_cells(cells)
    return RawTable(file=file, cells=cells, encoding=encoding, separator=separator)


def decode_text(file: str, data: bytes) -> tuple[str, str]:
    """The file's text and the encoding that decoded it; binary content is refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    head = data[:65536]
    control = next((i for i, b in enumerate(head) if b in _CONTROL_BYTES), None)
    if control is not None or b"\x00" in data:
        position = control if control is not None else data.index(b"\x00")
        _reject(
            file,
            f"is not a text CSV file (binary content at byte {position}); "
            "export it from your practice software as CSV",
        )
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError as exc:
        _reject(
            file, f"is neither UTF-8 nor Windows-1252 text (byte {exc.start}); save it as CSV UTF-8"
        )
    raise AssertionError("unreachable")


def sniff_separator(text: str) -> str:
    """The separator used in the header line: the most frequent of comma, semicolon, tab."""
    header = _first_record(text)
    counts = {sep: header.count(sep) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] > 0 else ","


def _first_record(text: str) -> str:
    """The header line with quoted parts removed (a quoted header may hold a comma)."""
    line = text.lstrip("\ufeff").split("\n", 1)[0]
    parts = line.split('"')
    return "".join(parts[0::2])


def _strip_cells(cells: pd.DataFrame) -> pd.DataFrame:
    cells.columns = [str(c).strip() for c in cells.columns]
    return cells.apply(lambda column: column.str.strip())


def _reject(file: str, message: str) -> None:
    raise UnreadableFile(Problem(file, None, None, "error", f"the file {message}"))
