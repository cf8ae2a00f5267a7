"""Step 1 of an import: bytes -> a frame of text cells, whatever the export's dialect.

Decoding is strict, so that text is never silently damaged: UTF-8 (with or without BOM) and
UTF-16 with BOM (Excel's "Unicode text") are read as they are; any other file is read in the
encoding charset-normalizer and Headway's own check agree on (Windows-1252 or Mac Roman, most
often), and the import says so; a file that mixes encodings, or whose encoding cannot be told
with confidence, is refused naming the cells in doubt unless the user chooses the encoding.
Comma, semicolon or tab separators; quoted fields with separators and newlines; CRLF.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from charset_normalizer import from_bytes
from charset_normalizer.md import mess_ratio

from practice import config
from practice.importing.problems import Problem

SEPARATORS = (",", ";", "\t")
# Characters other than tab, newline and carriage return below 0x20 do not occur in text
# exports; many of them mean the file is a spreadsheet or an image, not a CSV.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ALLOWED_BYTES = b"\t\n\r" + bytes(range(0x20, 0x100))  # every byte _CONTROL_BYTES does not match
_UTF8_BOM = b"\xef\xbb\xbf"
_BLANK_START = "\ufeff\r\n \t"  # skipped before the header line
# Encodings a user may choose when Headway cannot tell (the upload page's list; the command
# line's --encoding takes any name Python knows).
ENCODING_CHOICES = ("utf-8", "windows-1252", "mac-roman", "iso-8859-1", "iso-8859-15", "utf-16")
# The single-byte encodings practice software on Windows and older Macs writes; charset-
# normalizer's own best guess joins them as a candidate.
_CANDIDATES = ("cp1252", "mac_roman")
_NAMES = {"cp1252": "windows-1252", "mac_roman": "mac-roman", "latin_1": "iso-8859-1"}
# A decoding is confident when its text looks clean (charset-normalizer's mess ratio at most
# _CLEAN) and every other candidate's text looks clearly worse (by at least _MARGIN).
_CLEAN = 0.1
_MARGIN = 0.1
_SAMPLE_WORDS = 5000  # a guess is judged on this many words (enough, and fast for any size)
_NON_ASCII_WORD = re.compile(rb'[^\s,;"]*[\x80-\xff][^\s,;"]*')
# A valid UTF-8 multi-byte sequence: in a file that is not UTF-8 as a whole, a sign of mixing.
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
_CELLS_NAMED = 20  # cells in doubt named in a refusal's message (it says how many more)
_CELLS_LISTED = 1000  # cells in doubt listed one per line in the report
_HEADER_BYTES = 1 << 16  # a header line longer than this is read by pandas' parser


@dataclass(frozen=True)
class RawTable:
    """A file's cells as stripped text ("" for blank), with how it was decoded."""

    file: str
    cells: pd.DataFrame
    encoding: str
    separator: str
    encoding_source: str = "declared"  # "declared" (UTF-8/UTF-16), "detected" or "chosen"

    def encoding_notice(self) -> Problem | None:
        """Which encoding a file that is not UTF-8 was read in (None for UTF-8)."""
        if self.encoding == "utf-8":
            return None
        how = {"detected": "detected", "chosen": "as chosen"}.get(self.encoding_source, "")
        message = f"the file is not UTF-8: it was read as {self.encoding}" + (
            f" ({how})" if how else ""
        )
        return Problem(self.file, None, None, "notice", message)


class UnreadableFile(Exception):
    """The file cannot be read as a CSV; `problems` say why (`problem` is the first)."""

    def __init__(self, problem: Problem, *more: Problem) -> None:
        self.problem = problem
        self.problems = (problem, *more)
        super().__init__(str(problem))


class _InDoubt(Exception):
    """Decoding cannot decide: `reason` says why, `in_doubt` tells a cell's bytes in doubt."""

    def __init__(self, reason: str, in_doubt: Callable[[bytes], bool]) -> None:
        self.reason = reason
        self.in_doubt = in_doubt
        super().__init__(reason)


def read_table(file: str, data: bytes, *, encoding: str | None = None) -> RawTable:
    """Decode and parse one CSV export into text cells, or raise UnreadableFile.

    `encoding` (a name Python knows) overrides detection, for a file Headway cannot decode
    with confidence.
    """
    max_bytes = int(config.MAX_UPLOAD_MB * 1024 * 1024)
    if len(data) > max_bytes:
        _reject(
            file,
            f"is {describe_size(len(data))}, above the limit of "
            f"{describe_size(max_bytes)} (setting PRACTICE_MAX_UPLOAD_MB)",
        )
    try:
        text, used, source = decode_text(file, data, encoding)
    except _InDoubt as doubt:
        _refuse_in_doubt(file, data, doubt)
    if not text or text.isspace():
        _reject(file, "is empty")
    separator = sniff_separator(text)
    check_column_count(file, text, separator)
    # The parser reads UTF-8 bytes: the file's own bytes when it is UTF-8, so that a large
    # export is held once (a StringIO of the text would take four bytes a character).
    utf8 = _utf8_bytes(data, text, used)
    del text
    cells = _parse(file, utf8, separator)
    # Blank lines (and lines of bare separators) are dropped but keep their place in the
    # index, so that row numbers stay the ones a spreadsheet shows.
    filled = (cells != "").any(axis=1)
    if not filled.all():
        cells = cells[filled]
    if cells.empty:
        _reject(file, "has a header but no rows")
    return RawTable(file, cells, used, separator, source)


def check_column_count(file: str, text: str, separator: str) -> None:
    """Refuse a header with more columns than PRACTICE_MAX_COLUMNS, before anything is parsed.

    Only the header line is looked at, once, so a file of a million columns is refused as
    fast as it is decoded.
    """
    columns = _first_record(text).count(separator) + 1
    if columns > config.MAX_COLUMNS:
        _reject(
            file,
            f"has {columns:,} columns, more than the limit of {config.MAX_COLUMNS:,} "
            "(setting PRACTICE_MAX_COLUMNS); no practice export has that many: check that "
            "the file is the right one",
        )


def _parse(file: str, utf8: bytes, separator: str) -> pd.DataFrame:
    """The cells of UTF-8 CSV bytes as stripped text; rows with extra values are refused."""
    fast = _read_csv_arrow(utf8, separator)
    if fast is not None:
        return fast
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            cells = _read_csv(utf8, separator, "utf-8")
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        if "Expected" in str(exc):  # "Expected 2 fields in line 3, saw 3"
            text = utf8.decode("utf-8")
            _refuse_extra_values(file, text, separator, len(_header_fields(text, separator)))
        _reject(file, f"is not a well-formed CSV file: {exc}")
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        _refuse_extra_values(file, utf8.decode("utf-8"), separator, len(cells.columns))
    return _strip_cells(cells)


def _read_csv_arrow(data: bytes, separator: str) -> pd.DataFrame | None:
    """The stripped cells as `_read_csv` and `_strip_cells` give them, read by pyarrow, or None.

    pyarrow parses on every core and hands over Arrow text without making a Python string
    per cell: at a million rows about a third of the time and a fraction of the memory.
    It gives exactly what `_read_csv` gives for a well-formed file; None (the caller then
    uses pandas) for anything else: a row with more or fewer values than the header, a
    blank or repeated header name (which pandas renames), an odd number of quotes, a byte
    order mark, or a file that starts with a blank line.
    """
    header = _arrow_header(data, separator)
    if header is None:
        return None
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            parse_options=pacsv.ParseOptions(
                delimiter=separator, newlines_in_values=True, ignore_empty_lines=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.large_string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if table.column_names != header or any(t != pa.large_string() for t in table.schema.types):
        return None
    # Large strings, which pandas keeps as they are (a string column it would copy). Stripped
    # in Arrow as pandas' str.strip does, keeping the column read where nothing changes, so
    # that the file's cells are held once.
    text = pd.StringDtype("pyarrow", na_value=np.nan)  # what pandas' parser gives for dtype=str
    stripped = []
    for column in table.columns:
        trimmed = pc.utf8_trim_whitespace(column)
        if pc.sum(pc.binary_length(trimmed)) == pc.sum(pc.binary_length(column)):
            trimmed = column
        stripped.append(trimmed.to_pandas(types_mapper={pa.large_string(): text}.get))
    del table
    cells = pd.concat(stripped, axis=1, ignore_index=True)
    cells.columns = [name.strip() for name in header]
    return cells


def _arrow_header(data: bytes, separator: str) -> list[str] | None:
    """The header's names when pyarrow reads the file exactly as pandas would, else None."""
    if data.startswith(_UTF8_BOM) or data[:1] in (b"\r", b"\n", b""):
        return None
    if data.count(b'"') % 2:  # an unclosed quote (pyarrow would read it to the end)
        return None
    start = data[:_HEADER_BYTES].decode("utf-8", errors="ignore")
    reader = csv.reader(io.StringIO(start, newline=""), delimiter=separator)
    header = next(reader, [])
    complete = len(data) <= _HEADER_BYTES or next(reader, None) is not None
    if not complete or "" in header or len(set(header)) != len(header):
        return None
    return header


def _read_csv(data: bytes, separator: str, encoding: str) -> pd.DataFrame:
    return pd.read_csv(
        io.BytesIO(data),
        sep=separator,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        skip_blank_lines=False,
        quotechar='"',
        engine="c",
        index_col=False,
        encoding=encoding,
    )


def _utf8_bytes(data: bytes, text: str, encoding: str) -> bytes:
    """`text` as UTF-8 bytes for the parser, `data` itself (no copy) when it is UTF-8.

    The parser drops one leading BOM as decoding with utf-8-sig did, so `data` is passed on
    as it is, unless it starts with two BOMs (the second is part of the text).
    """
    if encoding != "utf-8":
        return text.encode("utf-8")
    return data[3:] if data.startswith(_UTF8_BOM * 2) else data


def decode_text(file: str, data: bytes, encoding: str | None = None) -> tuple[str, str, str]:
    """The file's text, the encoding that decoded it, and how it was known.

    How: "declared" (UTF-8, or UTF-16 with its BOM), "detected" or "chosen" (`encoding`).
    Binary content is refused; a file whose encoding is in doubt raises _InDoubt.
    """
    if encoding is not None:
        return _decode_as(file, data, encoding), _encoding_name(encoding, file), "chosen"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _decode_utf16(file, data), "utf-16", "declared"
    _refuse_control_bytes(file, data)
    try:
        return data.decode("utf-8-sig"), "utf-8", "declared"
    except UnicodeDecodeError:
        pass
    if _UTF8_SEQUENCE.search(data):
        raise _InDoubt(
            "mixes encodings: some cells are UTF-8 and others are not",
            lambda cell: not _is_utf8(cell),
        )
    text, used = _detect(data)
    return text, used, "detected"


def _decode_as(file: str, data: bytes, encoding: str) -> str:
    """`data` decoded strictly in the encoding the user chose."""
    name = _encoding_name(encoding, file)
    if name == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        _reject(file, "has no UTF-16 byte order mark; choose utf-16-le or utf-16-be")
    if not name.startswith("utf-16"):
        _refuse_control_bytes(file, data)
    codec = "utf-8-sig" if name == "utf-8" else name
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        _reject(file, f"is not valid {name} text (line {line}, byte {exc.start})")
    return text.lstrip("\ufeff") if name.startswith("utf-16") else text


def _encoding_name(encoding: str, file: str = "") -> str:
    """The name Headway reports for an encoding ("cp1252" -> "windows-1252")."""
    try:
        name = codecs.lookup(encoding.strip()).name
    except LookupError:
        _reject(file, f"cannot be read as {encoding!r}: no such encoding")
    return _NAMES.get(name.replace("-", "_"), name)


def _refuse_control_bytes(file: str, data: bytes) -> None:
    # Deleting every allowed byte leaves only control bytes: one C pass, several times faster
    # than the regular expression, which then only finds where the first one is.
    if not data.translate(None, _ALLOWED_BYTES):
        return
    control = _CONTROL_BYTES.search(data)
    if control:
        _reject_binary(file, f"byte {control.start()}")


def _detect(data: bytes) -> tuple[str, str]:
    """Decode a file that is not UTF-8 in the one encoding that clearly reads best.

    Windows-1252 and Mac Roman (what practice software writes) are tried first, judged by
    charset-normalizer's mess ratio over the words that hold non-ASCII bytes;
    when neither reads clean, charset-normalizer's own best guess is tried. Raises _InDoubt
    when nothing reads clean, or two encodings give different texts that read about as well
    (e.g. 'Zoë' in Mac Roman is 'Zo‘' in Windows-1252: both look like text).
    """
    # Judged on the words that hold non-ASCII bytes only (ASCII around them dilutes the
    # ratio), wherever in the file they are: the first _SAMPLE_WORDS of them.
    words = itertools.islice(_NON_ASCII_WORD.finditer(data), _SAMPLE_WORDS)
    sample = b" ".join(match.group() for match in words)
    ranked = _rank(sample, _CANDIDATES)
    if not ranked or ranked[0][0] > _CLEAN:
        guess = from_bytes(sample).best()
        # Not UTF-16 or UTF-32: without a BOM those are full of NUL bytes, refused as binary.
        usable = guess is not None and not guess.encoding.startswith("utf")
        ranked = _rank(sample, (guess.encoding,)) if usable and guess is not None else []
    clean = [(mess, name) for mess, name in ranked if mess <= _CLEAN]
    if clean and (len(ranked) == 1 or ranked[1][0] - ranked[0][0] >= _MARGIN):
        best = ranked[0][1]
        try:
            return data.decode(best), _encoding_name(best)
        except UnicodeDecodeError:  # the sample decoded, the whole file does not
            clean = []
    alike = " or ".join(_encoding_name(name) for _, name in ranked[:2])
    raise _InDoubt(
        "is not UTF-8, and its encoding cannot be told with confidence"
        + (f" (it reads about as well as {alike})" if len(clean) > 1 else ""),
        lambda cell: not cell.isascii(),
    )


def _rank(sample: bytes, encodings: tuple[str, ...]) -> list[tuple[float, str]]:
    """(mess ratio, encoding) of each encoding that decodes `sample`, cleanest first.

    Encodings that give the same text count once.
    """
    scored: dict[str, tuple[float, str]] = {}
    for name in encodings:
        try:
            text = sample.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
        scored.setdefault(text, (mess_ratio(text, 1.0), name))
    return sorted(scored.values())


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _refuse_in_doubt(file: str, data: bytes, doubt: _InDoubt) -> None:
    """Refuse a file whose encoding is in doubt, naming each cell whose bytes are in doubt."""
    text = data.decode("latin-1")  # one character a byte: cells keep their bytes
    separator = sniff_separator(text)
    check_column_count(file, text, separator)
    cells = _read_csv(text.encode("utf-8"), separator, "utf-8")
    found: list[Problem] = []
    for position, column in enumerate(cells.columns):
        values = cells.iloc[:, position]
        odd = values[~values.map(str.isascii)]
        for index, value in odd.items():
            raw = value.encode("latin-1")
            if doubt.in_doubt(raw):
                header = str(column).encode("latin-1").decode("cp1252", errors="replace")
                shown = raw.decode("cp1252", errors="replace").strip()
                found.append(Problem(file, int(index) + 2, header.strip(), "error", "", shown))
    found.sort(key=lambda p: (p.row or 0, p.column or ""))
    places = ", ".join(f"row {p.row} ({p.column})" for p in found[:_CELLS_NAMED])
    more = f" and {len(found) - _CELLS_NAMED} more" if len(found) > _CELLS_NAMED else ""
    message = (
        f"the file {doubt.reason}; the bytes in doubt are in {places}{more}. "
        "Save it as CSV UTF-8, or choose its encoding (--encoding NAME on the command line, "
        "or the encoding choice on the upload page)"
    )
    details = [  # one line per cell, up to a report's worth; the message has the count
        Problem(file, p.row, p.column, "error", "the bytes of this cell are in doubt", p.value)
        for p in found[:_CELLS_LISTED]
    ]
    raise UnreadableFile(Problem(file, None, None, "error", message), *details)


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
    """Every cell and header trimmed, in one pass over the columns (linear in their number).

    The columns are taken out of the frame first, and each one's unstripped text is freed as
    it is replaced, so a large file is never held twice. (Replacing columns inside the frame
    one at a time costs time in proportion to the number of columns, each time.)
    """
    headers = [str(c).strip() for c in cells.columns]
    columns = [cells.iloc[:, position] for position in range(cells.shape[1])]
    del cells
    for position, column in enumerate(columns):
        columns[position] = column.str.strip()
    stripped = pd.concat(columns, axis=1, ignore_index=True)
    stripped.columns = headers
    return stripped


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
