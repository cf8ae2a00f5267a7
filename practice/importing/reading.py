"""Step 1 of an import: bytes -> a frame of text cells, whatever the export's dialect.

Accepts UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"), Windows-1252;
comma, semicolon or tab separators; quoted fields with separators and newlines; CRLF.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from dataclasses import dataclass

import pandas as pd

from practice import config
from practice.importing.problems import Problem

SEPARATORS = (",", ";", "\t")
# Characters other than tab, newline and carriage return below 0x20 do not occur in text
# exports; many of them mean the file is a spreadsheet or an image, not a CSV.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_UTF8_BOM = b"\xef\xbb\xbf"
_BLANK_START = "\ufeff\r\n \t"  # skipped before the header line


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
    max_bytes = int(config.MAX_UPLOAD_MB * 1024 * 1024)
    if len(data) > max_bytes:
        _reject(
            file,
            f"is {describe_size(len(data))}, above the limit of "
            f"{describe_size(max_bytes)} (setting PRACTICE_MAX_UPLOAD_MB)",
        )
    text, encoding = decode_text(file, data)
    if not text or text.isspace():
        _reject(file, "is empty")
    separator = sniff_separator(text)
    # The parser reads UTF-8 bytes: the file's own bytes when it is UTF-8, so that a large
    # export is held once (a StringIO of the text would take four bytes a character).
    utf8 = _utf8_bytes(data, text, encoding)
    del text
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            cells = pd.read_csv(
                io.BytesIO(utf8),
                sep=separator,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,
                quotechar='"',
                engine="c",
                index_col=False,
                encoding="utf-8",
            )
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        if "Expected" in str(exc):  # "Expected 2 fields in line 3, saw 3"
            text = utf8.decode("utf-8")
            _refuse_extra_values(file, text, separator, len(_header_fields(text, separator)))
        _reject(file, f"is not a well-formed CSV file: {exc}")
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        _refuse_extra_values(file, utf8.decode("utf-8"), separator, len(cells.columns))
    cells = _strip_cells(cells)
    # Blank lines (and lines of bare separators) are dropped but keep their place in the
    # index, so that row numbers stay the ones a spreadsheet shows.
    filled = (cells != "").any(axis=1)
    if not filled.all():
        cells = cells[filled]
    if cells.empty:
        _reject(file, "has a header but no rows")
    return RawTable(file=file, cells=cells, encoding=encoding, separator=separator)


def _utf8_bytes(data: bytes, text: str, encoding: str) -> bytes:
    """`text` as UTF-8 bytes for the parser, `data` itself (no copy) when it is UTF-8.

    The parser drops one leading BOM as decoding with utf-8-sig did, so `data` is passed on
    as it is, unless it starts with two BOMs (the second is part of the text).
    """
    if encoding != "utf-8":
        return text.encode("utf-8")
    return data[3:] if data.startswith(_UTF8_BOM * 2) else data


def decode_text(file: str, data: bytes) -> tuple[str, str]:
    """The file's text and the encoding that decoded it; binary content is refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _decode_utf16(file, data), "utf-16"
    control = _CONTROL_BYTES.search(data)
    if control:
        _reject_binary(file, f"byte {control.start()}")
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


def _decode_utf16(file: str, data: bytes) -> str:
    try:
        text = data.decode("utf-16")
    except UnicodeDecodeError as exc:
        _reject(file, f"is not valid UTF-16 text (byte {exc.start}); save it as CSV UTF-8")
    control = _CONTROL_CHARS.search(text)
    if control:
        _reject_binary(file, f"character {control.start()}")
    return text


def describe_size(size: int) -> str:
    """A byte count for people, exact enough to compare with a limit: "1.0 MB (1,048,577 bytes)"."""
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB ({size:,} bytes)"
    return f"{size / 1024:.0f} KB ({size:,} bytes)"


def sniff_separator(text: str) -> str:
    """The separator used in the header line: the most frequent of comma, semicolon, tab."""
    header = _first_record(text)
    counts = {sep: header.count(sep) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] > 0 else ","


def _first_record(text: str) -> str:
    """The first non-blank line with quoted parts removed (a quoted header may hold a comma)."""
    start = 0
    while start < len(text) and text[start] in _BLANK_START:
        start += 1
    end = text.find("\n", start)
    line = text[start : end if end >= 0 else len(text)]  # no copy of the whole text
    parts = line.split('"')
    return "".join(parts[0::2])


def _strip_cells(cells: pd.DataFrame) -> pd.DataFrame:
    cells.columns = [str(c).strip() for c in cells.columns]
    # Column by column, in place: each column's unstripped text is freed as the next is done,
    # so a large file is never held twice.
    for position in range(cells.shape[1]):
        cells.isetitem(position, cells.iloc[:, position].str.strip())
    return cells


def _header_fields(text: str, separator: str) -> list[str]:
    return next(csv.reader(io.StringIO(text.lstrip("\ufeff\r\n")), delimiter=separator), [])


def _refuse_extra_values(file: str, text: str, separator: str, columns: int) -> None:
    """Refuse rows with more values than the header has columns (pandas would drop them).

    A trailing separator (one more, empty value) is harmless and allowed.
    """
    bad = [
        number
        for number, record in enumerate(csv.reader(io.StringIO(text), delimiter=separator), 1)
        if len(record) > columns and any(v.strip() for v in record[columns:])
    ]
    if bad:
        shown = ", ".join(str(n) for n in bad[:10]) + (" …" if len(bad) > 10 else "")
        _reject(
            file,
            f"has rows with more values than the header has columns (rows {shown}); "
            "a value with the separator in it must be quoted",
        )


def _reject_binary(file: str, where: str) -> None:
    _reject(
        file,
        f"is not a text CSV file (binary content at {where}); "
        "export it from your practice software as CSV",
    )


def _reject(file: str, message: str) -> None:
    raise UnreadableFile(Problem(file, None, None, "error", f"the file {message}"))
