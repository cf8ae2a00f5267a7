"""Importing headache diaries: recognised by their columns, checked, stored per day, undone."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, text

from practice.columns import DIARY_COLUMNS
from practice.importing import ImportRejected, import_files, undo_import
from practice.importing.diary import looks_like_diary, read_days_of
from practice.importing.mapping import map_columns
from practice.importing.problems import describe_problems
from tests.conftest import csv_bytes
from tests.diary_files import (
    DIARY_HEADER,
    client_code,
    diary_csv,
    diary_rows,
    first_session,
    late_starter,
    sessions_csv,
)
from tests.test_import_db import snapshot

CLIENTS = 40
CSV_FORMAT = (Path(__file__).resolve().parent.parent / "docs" / "csv-format.md").read_text()


def stored_days(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return read_days_of(conn, list(range(1, CLIENTS + 1)))


@pytest.mark.parametrize(
    ("headers", "diary"),
    [
        (["client_id", "date", "headache"], True),
        (["ID", "Day", "Headache", "Intensity", "Acute medication", "Notes"], True),
        (["Patient ID", "Date", "Headache day", "Medication taken"], True),
        (["id", "diary date", "severity"], True),
        (["client", "day", "pain"], True),
        # a session export: its `headache` is the headache type, its date the appointment
        (["client_id", "date", "headache", "therapist", "techniques"], False),
        (["client_id", "intake_date", "headache"], False),
        (["client_id", "date", "notes"], False),  # says nothing about headache
    ],
)
def test_a_diary_is_recognised_by_its_columns(headers: list[str], diary: bool) -> None:
    assert looks_like_diary(headers) is diary


def test_a_diary_s_own_words_land_in_the_diary_columns() -> None:
    headers = ["ID", "Day", "Headache", "Intensity", "Acute medication", "Notes"]
    mapping = map_columns("d.csv", headers, kind="diary")
    assert mapping.to_header == {
        "client_id": "ID",
        "diary_date": "Day",
        "headache": "Headache",
        "severity": "Intensity",
        "medication": "Acute medication",
        "notes": "Notes",
    }
    # The session importer keeps reading `headache` as the headache type.
    assert map_columns("s.csv", ["headache"]).to_header == {"headache_type": "headache"}
    # ... and a bare `ID` there is left alone (usually the appointment's number).
    assert map_columns("s.csv", ["ID"]).to_header == {}
    assert map_columns("s.csv", ["ID"], {"ID": "client_id"}).to_header == {"client_id": "ID"}


def test_a_real_shaped_diary_is_stored_one_row_per_client_and_day(engine: Engine) -> None:
    import_files(engine, [("sessions.csv", sessions_csv(CLIENTS))])
    rows = diary_rows(CLIENTS)
    assert len(rows) >= 4000
    result = import_files(engine, [("diary.csv", diary_csv(CLIENTS, repeat_row=100))])
    assert result.kind == "diary"
    assert result.rows_read == len(rows) + 1
    assert (result.diary_days_added, result.diary_days_updated) == (len(rows), 0)
    assert result.sessions_added == 0
    notices = describe_problems(result.problems)
    assert notices == ["notice: diary.csv row 103: repeats the same diary day as diary.csv row 102"]
    days = stored_days(engine)
    assert len(days) == len(rows)
    assert not days.duplicated(["client_id", "diary_date"]).any()
    # Day-first dates, yes/no, intensity and "2" doses arrive typed.
    first = days.sort_values(["client_id", "diary_date"]).iloc[0]
    assert first["diary_date"] == pd.Timestamp(first_session(1)) - pd.Timedelta(days=35)
    assert set(days["severity"].unique()) <= {0.0, 1.0, 2.0, 3.0}
    assert set(days["medication"].unique()) <= {0.0, 1.0, 2.0}
    assert (days["headache"] == (days["severity"] > 0)).all()
    # A client who started the diary after treatment began has no day before it.
    with engine.connect() as conn:
        late = conn.execute(
            text(
                "SELECT MIN(d.diary_date) FROM diary_days d JOIN clients c ON c.id = d.client_id "
                "WHERE c.client_code = :code"
            ),
            {"code": client_code(5)},
        ).scalar_one()
    assert late_starter(5)
    assert pd.Timestamp(late) > pd.Timestamp(first_session(5))
    with engine.connect() as conn:
        history = conn.execute(
            text("SELECT diary_days_added, sessions_added FROM imports WHERE id = 2")
        ).one()
    assert tuple(history) == (len(rows), 0)


def test_reimporting_a_diary_changes_nothing_and_a_corrected_day_is_updated_and_undone(
    engine: Engine,
) -> None:
    import_files(engine, [("sessions.csv", sessions_csv(3))])
    lines = [DIARY_HEADER, "D001;14/03/2025;yes;2;no;", "D001;15/03/2025;no;0;no;"]
    import_files(engine, [("diary.csv", csv_bytes(*lines))])
    before = snapshot(engine)
    again = import_files(engine, [("diary.csv", csv_bytes(*lines))])
    assert (again.diary_days_added, again.diary_days_unchanged) == (0, 2)
    corrected = [*lines[:2], "D001;15/03/2025;yes;3;2;migraine", "D002;13/03/2025;no;0;no;"]
    result = import_files(engine, [("corrected.csv", csv_bytes(*corrected))])
    assert (result.diary_days_added, result.diary_days_updated) == (1, 1)
    assert result.diary_days_unchanged == 1
    days = stored_days(engine).set_index("diary_date")
    assert days.loc["2025-03-15", ["severity", "medication", "notes"]].tolist() == [
        3.0,
        2.0,
        "migraine",
    ]
    assert undo_import(engine, 4) == {
        "sessions_removed": 0,
        "sessions_restored": 0,
        "clients_removed": 0,
        "clients_restored": 0,
        "diary_days_removed": 1,
        "diary_days_restored": 1,
    }
    undo_import(engine, 3)
    after = snapshot(engine)
    after.pop("imports"), before.pop("imports")
    assert after == before


def test_undoing_a_diary_import_removes_its_days(engine: Engine) -> None:
    import_files(engine, [("sessions.csv", sessions_csv(CLIENTS))])
    before = snapshot(engine)
    import_files(engine, [("diary.csv", diary_csv(CLIENTS))])
    done = undo_import(engine, 2)
    assert done["diary_days_removed"] == len(diary_rows(CLIENTS))
    after = snapshot(engine)
    after.pop("imports"), before.pop("imports")
    assert after == before


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            ["D001;14/03/2025;yes;2;no;", "D001;14/03/2025;yes;3;no;"],
            "error: diary.csv row 3, column severity: same client and day as diary.csv row 2 "
            "but a different value ('3')",
        ),
        (
            ["D001;14/03/2025;no;2;no;"],
            "error: diary.csv row 2, column Intensity (severity): contradicts Headache 'no' ('2')",
        ),
        (
            ["D001;14/03/2025;;;no;"],
            "error: diary.csv row 2, column Headache/Intensity (severity): the day "
            "has no headache answer, severity or pain; fill one in or leave the day out",
        ),
        (
            ["D001;14/03/2025;sometimes;2;no;"],
            "error: diary.csv row 2, column Headache: must be yes or no "
            "(also 1/0, true/false) ('sometimes')",
        ),
        (
            ["D001;14/03/2025;yes;5;no;"],
            "error: diary.csv row 2, column Intensity (severity): must be between 0 and 3 ('5')",
        ),
        (
            ["D001;31/02/2025;yes;2;no;"],
            "error: diary.csv row 2, column Day (diary_date): is not a valid date "
            "(expected e.g. 2025-03-14) ('31/02/2025')",
        ),
        (
            ["D009;14/03/2025;yes;2;no;", "D009;15/03/2025;no;0;no;"],
            "error: diary.csv row 2, column client_id: client D009 is not in Headway "
            "(2 diary day(s)); import their intake or sessions first, then the diary ('D009')",
        ),
    ],
)
def test_a_bad_diary_is_refused_naming_row_and_column_and_nothing_is_written(
    engine: Engine, rows: list[str], expected: str
) -> None:
    import_files(engine, [("sessions.csv", sessions_csv(3))])
    before = snapshot(engine)
    with pytest.raises(ImportRejected) as refused:
        import_files(engine, [("diary.csv", csv_bytes(DIARY_HEADER, *rows))])
    errors = refused.value.report[refused.value.report["severity"] == "error"]
    assert describe_problems(errors) == [expected]
    assert snapshot(engine) == before


def test_a_diary_with_only_severity_or_pain_decides_the_headache_day(engine: Engine) -> None:
    import_files(engine, [("sessions.csv", sessions_csv(3))])
    diary = csv_bytes(
        "client,date,pain,medication",
        "D001,2025-03-01,0,0",
        "D001,2025-03-02,4.5,1",
        "D002,2025-03-02,,1",
    )
    with pytest.raises(ImportRejected):  # D002's day says nothing about headache
        import_files(engine, [("diary.csv", diary)])
    result = import_files(engine, [("diary.csv", diary.replace(b"D002,2025-03-02,,1", b""))])
    assert result.diary_days_added == 2
    days = stored_days(engine)
    assert days["headache"].tolist() == [False, True]
    assert days["pain"].tolist() == [0.0, 4.5]


def test_kind_forces_how_a_file_is_read(engine: Engine) -> None:
    import_files(engine, [("sessions.csv", sessions_csv(3))])
    diary = csv_bytes("client_id,date,headache", "D001,2025-03-01,yes")
    with pytest.raises(ImportRejected) as as_sessions:
        import_files(engine, [("diary.csv", diary)], kind="sessions")
    assert "therapist" in set(as_sessions.value.report["column"])  # read as a session file
    odd = csv_bytes("client_id,when,headache", "D001,2025-03-01,yes")  # `when`: not recognised
    result = import_files(engine, [("odd.csv", odd)], kind="diary", mapping={"when": "diary_date"})
    assert result.diary_days_added == 1


def test_a_diary_and_a_session_file_in_one_import_are_refused(engine: Engine) -> None:
    with pytest.raises(ImportRejected) as refused:
        import_files(
            engine,
            [("sessions.csv", sessions_csv(3)), ("diary.csv", diary_csv(3, repeat_row=None))],
        )
    assert describe_problems(refused.value.report) == [
        "error: diary.csv: is a headache diary, imported on its own: import sessions.csv first, "
        "then the diary"
    ]
    assert snapshot(engine)["imports"] == []


@pytest.mark.parametrize("column", [c.name for c in DIARY_COLUMNS])
def test_every_diary_column_is_documented_in_the_format_page(column: str) -> None:
    assert f"| `{column}` |" in CSV_FORMAT.split("## Headache diaries")[1]


def test_the_documented_diary_example_imports(engine: Engine) -> None:
    example = CSV_FORMAT.split("## Headache diaries")[1].split("```csv\n")[1].split("```")[0]
    import_files(engine, [("sessions.csv", sessions_csv(1).replace(b"D001", b"C0001"))])
    result = import_files(engine, [("diary.csv", example.encode())])
    assert (result.diary_days_added, result.problems.empty) == (3, True)
