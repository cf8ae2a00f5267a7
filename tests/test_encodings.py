"""Text is never silently damaged: strict decoding, detection that says what it used, refusals
that name the cells in doubt, a chosen encoding; and wide files refused before parsing
(issue 10 part 4, issue 14 item 3)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from practice import config, db
from practice.cli import main
from practice.importing import reading
from practice.importing.batch import prepare_batch
from practice.importing.mapping import map_columns
from practice.importing.reading import UnreadableFile, read_table

HEADER = "client_id,client_name,intake_date,session_date,therapist,techniques,pain_pre\n"
ROW = "C1,{name},2025-01-02,2025-01-05,Jo Park,TPT,6\n"
SECOND = "C2,{name},2025-01-02,2025-01-06,Jo Park,TPT,5\n"
NAME = "Zoë Müller"


def saved_as(how: str) -> bytes:
    """One client named 'Zoë Müller' (and a second in the mixed file) saved as `how`."""
    if how == "mixed":  # a UTF-8 export with one row pasted in from a Windows-1252 file
        return (HEADER + ROW.format(name=NAME)).encode() + SECOND.format(name=NAME).encode("cp1252")
    encoding = {"utf-8": "utf-8", "utf-8-bom": "utf-8-sig", "cp1252": "cp1252"}.get(how, how)
    return (HEADER + ROW.format(name=NAME)).encode(encoding)


def stored_names(url: str) -> list[str]:
    with db.create_engine_for(url).connect() as conn:
        return list(conn.execute(text("SELECT name FROM clients ORDER BY client_code")).scalars())


@pytest.mark.parametrize(
    ("how", "outcome"),
    [
        ("utf-8", "stored"),
        ("utf-8-bom", "stored"),
        ("cp1252", "stored"),  # detected as Windows-1252, and the import says so
        # 'Zoë' in Mac Roman reads as 'Zo‘' in Windows-1252: both look like text, so Headway
        # cannot tell and refuses rather than store either.
        ("mac_roman", "refused"),
        ("mixed", "refused"),
    ],
)
def test_zoe_mueller_is_stored_right_or_refused_never_damaged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str, outcome: str
) -> None:
    url = f"sqlite:///{tmp_path / 'p.sqlite3'}"
    path = tmp_path / "export.csv"
    path.write_bytes(saved_as(how))
    code = main(["import", str(path), "--db", url])
    out, err = capsys.readouterr()
    if outcome == "stored":
        assert code == 0, err
        assert stored_names(url) == [NAME]
        if how == "cp1252":
            assert "the file is not UTF-8: it was read as windows-1252 (detected)" in out
    else:
        assert code == 1
        assert stored_names(url) == []
        assert "export.csv" in err and "choose its encoding" in err
        assert "row 3 (client_name)" in err if how == "mixed" else "row 2 (client_name)" in err


@pytest.mark.parametrize(
    ("how", "choice", "expected"),
    [("mac_roman", "mac-roman", [NAME]), ("mixed", "utf-8", None), ("cp1252", "cp1252", [NAME])],
)
def test_a_chosen_encoding_reads_what_detection_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str, choice: str, expected
) -> None:
    url = f"sqlite:///{tmp_path / 'p.sqlite3'}"
    path = tmp_path / "export.csv"
    path.write_bytes(saved_as(how))
    code = main(["import", str(path), "--db", url, "--encoding", choice])
    out, err = capsys.readouterr()
    if expected is None:  # the mixed file is not UTF-8 as a whole: the line is named
        assert code == 1
        assert "export.csv: the file is not valid utf-8 text (line 3, byte" in err
        assert stored_names(url) == []
    else:
        assert code == 0, err
        assert stored_names(url) == expected
        if choice != "utf-8":
            assert "(as chosen)" in out


def test_the_mixed_file_refusal_names_every_cell_in_doubt() -> None:
    with pytest.raises(UnreadableFile) as caught:
        read_table("export.csv", saved_as("mixed"))
    first, *cells = caught.value.problems
    assert first.message.startswith(
        "the file mixes encodings: some cells are UTF-8 and others are not; "
        "the bytes in doubt are in row 3 (client_name)."
    )
    assert [(p.row, p.column, p.value) for p in cells] == [(3, "client_name", NAME)]


def test_an_unknown_encoding_name_is_refused_by_name() -> None:
    with pytest.raises(UnreadableFile, match="cannot be read as 'klingon': no such encoding"):
        read_table("export.csv", saved_as("cp1252"), encoding="klingon")


def test_a_longer_mac_roman_export_is_detected() -> None:
    lines = HEADER + "".join(
        ROW.format(name=name).replace("C1", f"C{i}")
        for i, name in enumerate(["Zoë Müller", "Anaïs Lefèvre", "Jürgen Groß", "Ødegård"])
    )
    table = read_table("export.csv", lines.encode("mac_roman"))
    assert (table.encoding, table.encoding_source) == ("mac-roman", "detected")
    assert table.cells["client_name"].tolist() == [
        "Zoë Müller",
        "Anaïs Lefèvre",
        "Jürgen Groß",
        "Ødegård",
    ]


# --- wide files -------------------------------------------------------------------------------


def wide_file(columns: int) -> bytes:
    header = ",".join(f"c{i}" for i in range(columns))
    return (header + "\n" + "," * (columns - 1) + "x\n").encode()


@pytest.mark.parametrize("columns", [10_000, 1_000_000])
def test_a_header_wider_than_the_limit_is_refused_before_parsing(
    monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    parsed: list[int] = []
    monkeypatch.setattr(reading.pd, "read_csv", lambda *a, **k: parsed.append(1))
    with pytest.raises(UnreadableFile) as caught:
        read_table("wide.csv", wide_file(columns))
    assert parsed == []  # refused from the header line alone: no parsing, no per-column work
    assert str(caught.value) == (
        f"wide.csv: the file has {columns:,} columns, more than the limit of "
        f"{config.MAX_COLUMNS:,} (setting PRACTICE_MAX_COLUMNS); no practice export has that "
        "many: check that the file is the right one"
    )


def test_a_header_of_exactly_the_limit_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "MAX_COLUMNS", 50)
    assert read_table("ok.csv", wide_file(50)).cells.shape == (1, 50)
    with pytest.raises(UnreadableFile, match="has 51 columns"):
        read_table("wide.csv", wide_file(51))


def test_a_wide_mixed_encoding_file_is_refused_before_its_cells_are_examined(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = wide_file(10_000) + "Zoë".encode() + "Zoë\n".encode("cp1252")
    monkeypatch.setattr(reading.pd, "read_csv", lambda *a, **k: pytest.fail("parsed"))
    with pytest.raises(UnreadableFile, match="has 10,000 columns"):
        read_table("wide.csv", data)


def test_unknown_headers_make_one_notice_whatever_their_number() -> None:
    headers = ["client_id", "session_date", "therapist", "techniques"] + [
        f"extra {i}" for i in range(10_000)
    ]
    mapping = map_columns("wide.csv", headers)
    notices = [p for p in mapping.problems if p.severity == "notice"]
    assert len(notices) == 1
    assert notices[0].message == "10,000 columns not used by Headway (ignored)"
    assert notices[0].column == (
        "extra 0, extra 1, extra 2, extra 3, extra 4, extra 5, extra 6, extra 7, extra 8, "
        "extra 9 and 9,990 more"
    )


def test_a_file_read_already_is_not_parsed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    data = saved_as("utf-8")
    table = read_table("export.csv", data)
    monkeypatch.setattr(reading.pd, "read_csv", lambda *a, **k: pytest.fail("parsed twice"))
    batch = prepare_batch([("export.csv", data)], tables={"export.csv": table})
    assert batch.errors.empty
    assert batch.clients["client_name"].tolist() == [NAME]


def test_accented_words_late_in_a_large_file_are_judged_too() -> None:
    ascii_rows = "".join(
        ROW.format(name="Ann Lee").replace("C1", f"A{i}") for i in range(40_000)
    )  # about 2 MB of plain ASCII first
    late = (HEADER + ascii_rows + ROW.format(name=NAME).replace("C1", "Z1")).encode("mac_roman")
    with pytest.raises(UnreadableFile) as caught:
        read_table("late.csv", late)
    assert "cannot be told with confidence" in caught.value.problem.message
    assert [(p.row, p.column) for p in caught.value.problems[1:]] == [(40_002, "client_name")]
