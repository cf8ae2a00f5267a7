"""Step 1 of an import: bytes -> text cells (practice/importing/reading.py)."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from practice import config
from practice.importing.problems import Problem
from practice.importing.reading import (
    RawTable,
    UnreadableFile,
    _read_csv,
    _read_csv_arrow,
    _strip_cells,
    decode_text,
    read_table,
    sniff_separator,
)

# Client names and notes that need more than ASCII, all of them Windows-1252 characters.
TEXT = "client_id,client_name,notes\r\nC1,Müller,café € – “quoted”\r\nC2,Ødegård,naïve\r\n"
EXPECTED_CELLS = pd.DataFrame(
    {
        "client_id": ["C1", "C2"],
        "client_name": ["Müller", "Ødegård"],
        "notes": ["café € – “quoted”", "naïve"],
    },
    dtype="str",
)


def cells_of(text: str, encoding: str = "utf-8") -> pd.DataFrame:
    return read_table("export.csv", text.encode(encoding)).cells


def rejection(data: bytes, file: str = "export.csv") -> Problem:
    with pytest.raises(UnreadableFile) as caught:
        read_table(file, data)
    return caught.value.problem


def csv_text(rows: list[list[str]], *, sep: str = ",", quoting: int = csv.QUOTE_MINIMAL) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=sep, quoting=quoting, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


# --- encodings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (TEXT.encode("utf-8-sig"), "utf-8"),
        (TEXT.encode("utf-16"), "utf-16"),  # little-endian with BOM, as Python writes it
        (b"\xff\xfe" + TEXT.encode("utf-16-le"), "utf-16"),
        (b"\xfe\xff" + TEXT.encode("utf-16-be"), "utf-16"),
        (TEXT.encode("cp1252"), "windows-1252"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16", "utf-16-le-bom", "utf-16-be-bom", "windows-1252"],
)
def test_read_table_decodes_every_supported_encoding(data: bytes, encoding: str) -> None:
    table = read_table("export.csv", data)
    assert (table.file, table.encoding, table.separator) == ("export.csv", encoding, ",")
    pd.testing.assert_frame_equal(table.cells, EXPECTED_CELLS)


def test_read_table_removes_the_utf8_bom_from_the_first_header() -> None:
    cells = read_table("export.csv", "\ufeffClient ID;Name\nC1;Ann\n".encode()).cells
    assert list(cells.columns) == ["Client ID", "Name"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"a,b\n", ("a,b\n", "utf-8", "declared")),
        (b"\xef\xbb\xbfa,b\n", ("a,b\n", "utf-8", "declared")),
        ("a,é\n".encode("utf-16"), ("a,é\n", "utf-16", "declared")),
        (b"M\xfcller\r\n", ("Müller\r\n", "windows-1252", "detected")),
        (
            b"price;\x80 5,00;caf\xe9 cr\xe8me\n",
            ("price;€ 5,00;café crème\n", "windows-1252", "detected"),
        ),
        # Bytes that are valid UTF-8 are read as UTF-8, never as Windows-1252 mojibake.
        ("Müller".encode(), ("Müller", "utf-8", "declared")),
    ],
)
def test_decode_text(data: bytes, expected: tuple[str, str, str]) -> None:
    assert decode_text("export.csv", data) == expected


# --- separators, quoting, line endings ---------------------------------------------------------


@pytest.mark.parametrize("separator", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_read_table_detects_the_separator(separator: str, newline: str) -> None:
    text = (
        newline.join(
            [
                separator.join(["client_id", "client_name", "notes"]),
                separator.join(["C1", "Müller", "café € – “quoted”"]),
                separator.join(["C2", "Ødegård", "naïve"]),
            ]
        )
        + newline
    )
    table = read_table("export.csv", text.encode())
    assert table.separator == separator
    pd.testing.assert_frame_equal(table.cells, EXPECTED_CELLS)


@pytest.mark.parametrize(
    ("header", "separator"),
    [
        ("client_id,notes", ","),
        ("client_id;notes", ";"),
        ("client_id\tnotes", "\t"),
        ("client_id", ","),  # a single column: nothing to detect, comma by default
        ('"Pain (0,10)";"Client ID";Notes', ";"),  # a quoted header may hold a comma
        ('"a;b";"c;d",e,f', ","),
        ("Date;Pain, before;Pain, after;Notes", ";"),
        ("a,b;c", ","),  # a tie goes to the comma
        ("client_id\tname;x;y", ";"),
        ("", ","),
    ],
)
def test_sniff_separator(header: str, separator: str) -> None:
    assert sniff_separator(header + "\r\nrow,;\t,;\t\r\n") == separator


def test_sniff_separator_reads_only_the_header_line() -> None:
    assert sniff_separator("a;b\n1,2,3,4,5\n") == ";"


def test_read_table_keeps_quoted_separators_newlines_and_quotes() -> None:
    text = (
        "client_id,notes,techniques\r\n"
        'C1,"neck, then shoulders\r\nsecond line",NMT\r\n'
        'C2,"she said ""stop""","NMT, CST"\r\n'
        'C3,"",\r\n'
    )
    expected = pd.DataFrame(
        {
            "client_id": ["C1", "C2", "C3"],
            "notes": ["neck, then shoulders\r\nsecond line", 'she said "stop"', ""],
            "techniques": ["NMT", "NMT, CST", ""],
        },
        dtype="str",
    )
    pd.testing.assert_frame_equal(cells_of(text), expected)


def test_read_table_reads_a_semicolon_file_with_decimal_commas() -> None:
    text = "client_id;pain_pre;notes\r\nC1;6,5;a, b\r\n"
    expected = pd.DataFrame(
        {"client_id": ["C1"], "pain_pre": ["6,5"], "notes": ["a, b"]}, dtype="str"
    )
    pd.testing.assert_frame_equal(cells_of(text), expected)


def test_read_table_reads_an_excel_unicode_text_export() -> None:
    # Excel's "Unicode text": UTF-16 little-endian with BOM, tab separated, CRLF.
    text = "Client ID\tTreatment\tNotes\r\nC1\tNMT, CST\tÜbelkeit\r\n"
    table = read_table("export.txt", text.encode("utf-16"))
    assert (table.encoding, table.separator) == ("utf-16", "\t")
    expected = pd.DataFrame(
        {"Client ID": ["C1"], "Treatment": ["NMT, CST"], "Notes": ["Übelkeit"]}, dtype="str"
    )
    pd.testing.assert_frame_equal(table.cells, expected)


# --- cell content -----------------------------------------------------------------------------


def test_read_table_trims_cells_and_headers_but_keeps_everything_else() -> None:
    text = ' client_id , notes ,client_name\n007,"=HYPERLINK(""x"")",  Ann  \n0012," \t ", Bob\n'
    expected = pd.DataFrame(
        {
            "client_id": ["007", "0012"],
            "notes": ['=HYPERLINK("x")', ""],
            "client_name": ["Ann", "Bob"],
        },
        dtype="str",
    )
    pd.testing.assert_frame_equal(cells_of(text), expected)


@pytest.mark.parametrize(
    "value",
    ["NA", "N/A", "null", "NULL", "nan", "None", "-", "#N/A", "0", "TRUE", "1e5", "00123"],
)
def test_read_table_keeps_values_pandas_would_turn_into_missing_or_numbers(value: str) -> None:
    cells = cells_of(f"client_id,notes\nC1,{value}\n")
    assert cells.loc[0, "notes"] == value


def test_read_table_skips_blank_lines_at_the_end() -> None:
    cells = cells_of("client_id,notes\r\nC1,x\r\n\r\n\r\n")
    expected = pd.DataFrame({"client_id": ["C1"], "notes": ["x"]}, dtype="str")
    pd.testing.assert_frame_equal(cells, expected)


def test_read_table_reads_missing_fields_of_a_short_row_as_blank() -> None:
    cells = cells_of("client_id,notes,pain_pre\nC1,x\nC2\n")
    expected = pd.DataFrame(
        {"client_id": ["C1", "C2"], "notes": ["x", ""], "pain_pre": ["", ""]}, dtype="str"
    )
    pd.testing.assert_frame_equal(cells, expected)


def test_read_table_returns_a_raw_table() -> None:
    table = read_table("export.csv", b"client_id\nC1\n")
    expected_cells = pd.DataFrame({"client_id": ["C1"]}, dtype="str")
    assert isinstance(table, RawTable)
    assert (table.file, table.encoding, table.separator) == ("export.csv", "utf-8", ",")
    pd.testing.assert_frame_equal(table.cells, expected_cells)


# --- files that cannot be read ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"  \r\n\r\n\t\n", "the file is empty"),
        ("\ufeff".encode(), "the file is empty"),
        ("".encode("utf-16"), "the file is empty"),
        (b"client_id,session_date\r\n", "the file has a header but no rows"),
        (b"client_id,session_date\r\n\r\n\r\n", "the file has a header but no rows"),
        (b"client_id,session_date", "the file has a header but no rows"),
        (
            b"PK\x03\x04\x14\x00\x06\x00",  # an .xlsx workbook is a zip archive
            "the file is not a text CSV file (binary content at byte 2); "
            "export it from your practice software as CSV",
        ),
        (
            b"client_id\nC1\x00\n",
            "the file is not a text CSV file (binary content at byte 12); "
            "export it from your practice software as CSV",
        ),
        (
            b"client_id\nC1\x1a\n",
            "the file is not a text CSV file (binary content at byte 12); "
            "export it from your practice software as CSV",
        ),
        (
            # NUL bytes are found anywhere, not only in the first 64 KiB.
            b"client_id\n" + b"C1\n" * 30_000 + b"\x00",
            "the file is not a text CSV file (binary content at byte 90010); "
            "export it from your practice software as CSV",
        ),
        (
            # UTF-16 without a BOM is full of NUL bytes: refused, not misread.
            "client_id\nC1\n".encode("utf-16-le"),
            "the file is not a text CSV file (binary content at byte 1); "
            "export it from your practice software as CSV",
        ),
        (
            b"client_id,notes\nC1,x\nC2,x,y\n",
            "the file has rows with more values than the header has columns (rows 3); "
            "a value with the separator in it must be quoted",
        ),
        (
            b'client_id,notes\nC1,"never closed\n',
            "the file is not a well-formed CSV file: Error tokenizing data. "
            "C error: EOF inside string starting at row 1",
        ),
    ],
    ids=[
        "empty",
        "whitespace",
        "bom-only",
        "utf-16-bom-only",
        "header-only",
        "header-blank-lines",
        "header-no-newline",
        "xlsx",
        "nul",
        "control-byte",
        "late-nul",
        "utf-16-no-bom",
        "too-many-fields",
        "unclosed-quote",
    ],
)
def test_read_table_refuses_unreadable_files(data: bytes, message: str) -> None:
    assert rejection(data) == Problem("export.csv", None, None, "error", message)


def test_unreadable_file_str_names_the_file() -> None:
    with pytest.raises(UnreadableFile, match=r"^visits\.csv: the file is empty$"):
        read_table("visits.csv", b"")


def test_read_table_refuses_a_file_above_the_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "MAX_UPLOAD_MB", 1)
    problem = rejection(b"client_id\n" + b"C1\n" * (1024 * 1024))
    assert problem == Problem(
        "export.csv",
        None,
        None,
        "error",
        "the file is 3.0 MB (3,145,738 bytes), above the limit of 1.0 MB (1,048,576 bytes) "
        "(setting PRACTICE_MAX_UPLOAD_MB)",
    )


def test_read_table_accepts_a_file_of_exactly_the_size_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(config, "MAX_UPLOAD_MB", 1)
    header = b"client_id\n"
    rows = (1024 * 1024 - len(header)) // 3 - 1
    data = header + b"C1\n" * rows
    data += b"C" * (1024 * 1024 - len(data) - 1) + b"\n"
    assert len(data) == 1024 * 1024
    assert len(read_table("export.csv", data).cells) == rows + 1


def test_size_message_does_not_claim_the_file_is_the_size_of_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A file one byte above a 1 MB limit is reported as "is 1 MB, above the limit of 1 MB".
    monkeypatch.setattr(config, "MAX_UPLOAD_MB", 1)
    problem = rejection(b"client_id\n" + b"C" * (1024 * 1024))
    assert "is 1 MB, above the limit of 1 MB" not in problem.message


@pytest.mark.parametrize(
    "data",
    [
        "client_id\nC1\n".encode("utf-16") + b"x",  # odd number of bytes: a cut-off download
        b"\xff\xfe" + b"\x00\xd8" + "a\n".encode("utf-16-le"),  # a lone surrogate
    ],
    ids=["odd-length", "lone-surrogate"],
)
def test_read_table_refuses_broken_utf16_as_unreadable(data: bytes) -> None:
    rejection(data)


@pytest.mark.parametrize("character", ["\x00", "\x01", "\x1a"])
def test_read_table_refuses_control_characters_in_utf16(character: str) -> None:
    rejection(f"client_id,notes\nC1,a{character}b\n".encode("utf-16"))


def test_read_table_ignores_a_trailing_separator_on_data_rows() -> None:
    # pandas takes a data row one field longer than the header as "first column is the index",
    # so every value moves one column to the left (client_id gets the date, and so on).
    cells = cells_of("client_id,session_date,therapist\nC1,2025-01-10,Ann,\nC2,2025-01-11,Bob,\n")
    assert cells.to_dict("list") == {
        "client_id": ["C1", "C2"],
        "session_date": ["2025-01-10", "2025-01-11"],
        "therapist": ["Ann", "Bob"],
    }


def test_sniff_separator_skips_blank_lines_before_the_header() -> None:
    # pandas skips the blank line and takes the next as header; the sniffer looks at the
    # blank line, finds no separator and picks a comma for a semicolon file.
    assert sniff_separator("\r\nclient_id;therapist\r\nC1;Ann\r\n") == ";"


# --- properties -------------------------------------------------------------------------------

# Any character a text export can hold: no surrogates, no control characters but tab/CR/LF.
CELL_TEXT = st.text(
    st.characters(
        codec="utf-8",
        exclude_categories=("Cs",),
        exclude_characters=[chr(c) for c in range(32) if c not in (9, 10, 13)],
    ),
    max_size=40,
)


@settings(max_examples=80, deadline=None)
@given(
    text=CELL_TEXT,
    separator=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
)
def test_any_text_cell_round_trips_trimmed(
    text: str, separator: str, encoding: str, quoting: int
) -> None:
    data = csv_text([["client_id", "notes"], ["C1", text]], sep=separator, quoting=quoting)
    table = read_table("export.csv", data.encode(encoding))
    assert table.separator == separator
    assert table.cells.loc[0, "notes"] == text.strip()


@settings(max_examples=30, deadline=None)
@given(text=st.text(st.characters(codec="cp1252", exclude_categories=("Cc",)), max_size=40))
def test_any_windows_1252_cell_round_trips_trimmed_when_the_encoding_is_chosen(text: str) -> None:
    data = csv_text([["client_id", "notes"], ["C1", text]], sep=";").encode("cp1252")
    table = read_table("export.csv", data, encoding="windows-1252")
    assert (table.encoding, table.encoding_source) == ("windows-1252", "chosen")
    assert table.cells.loc[0, "notes"] == text.strip()


def test_a_row_with_more_values_than_the_header_is_refused_not_cut_short() -> None:
    problem = rejection(b"client_id,therapist\nC1,Ann\nC2,Bob,extra value\n")
    assert problem.message == (
        "the file has rows with more values than the header has columns (rows 3); "
        "a value with the separator in it must be quoted"
    )


# --- the fast parser (pyarrow) and pandas' parser agree -------------------------------------

WELL_FORMED = [
    "client_id,notes\r\nC1,plain\r\nC2,\r\n",
    'client_id,notes\nC1,"a, quoted ""value"""\nC2,"two\nlines"\n',
    "client_id;notes\nC1; spaced \n\nC2;after a blank line\n",
    "client_id\tpain\nC1\t007\nC2\t6,5\n",
    "a,b\n1,2",  # no newline at the end
    " a ,b\n x\u00a0,\ty\n",  # headers and cells stripped, non-breaking space too
    '"Client, ID",b\n1,2\n',
]


@pytest.mark.parametrize("text", WELL_FORMED)
def test_pyarrow_reads_a_well_formed_file_exactly_as_pandas(text: str) -> None:
    data = text.encode("utf-8")
    separator = sniff_separator(text)
    fast = _read_csv_arrow(data, separator)
    assert fast is not None
    pd.testing.assert_frame_equal(fast, _strip_cells(_read_csv(data, separator, "utf-8")))


@pytest.mark.parametrize(
    "text",
    [
        "a,b\n1,2,3\n",  # a value too many
        "a,b\n1\n",  # a value too few
        "a,a\n1,2\n",  # a repeated header (pandas renames it)
        "a,,c\n1,2,3\n",  # a blank header
        "\ufeffa,b\n1,2\n",  # a byte order mark
        "\na,b\n1,2\n",  # a blank first line
        'a,b\n1,"never closed\n',
    ],
)
def test_files_pyarrow_would_read_differently_go_to_pandas(text: str) -> None:
    assert _read_csv_arrow(text.encode("utf-8"), ",") is None
