"""What the upload page shows: previews, the mapping step, the check report and the history."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import Engine

from practice.importing import import_files
from practice.importing.memory import source_signature
from practice.importing.preview import (
    MAPPING_OPTIONS,
    FilePreview,
    change_table,
    check_upload,
    column_table,
    history_table,
    mapping_for_file,
    mapping_key,
    option_label,
    preview_file,
    remembered_choices,
    report_table,
    severity_counts,
    undo_question,
    undo_summary,
    undoable_import,
    unrecognised_headers,
)
from practice.importing.problems import PROBLEM_COLUMNS
from practice.importing.writing import ImportResult
from tests.conftest import csv_bytes
from tests.test_import_db import snapshot

JANE = csv_bytes(
    "Client ID,Appointment Date,Practitioner,Visit Type,Room",
    "C1,2025-01-05,Jo Park,TPT,2",
    "C1,2025-01-12,Jo Park,TPT,2",
)
INTAKE = csv_bytes("client_id,intake_date,Room", "C1,2025-01-02,1")


def previewed(name: str, data: bytes) -> FilePreview:
    return preview_file(name, data)


# --- files ----------------------------------------------------------------------------------
def test_a_preview_shows_headers_row_count_and_first_rows_numbered_as_a_spreadsheet() -> None:
    preview = preview_file("jane.csv", JANE, rows=1)
    assert preview.headers == (
        "Client ID",
        "Appointment Date",
        "Practitioner",
        "Visit Type",
        "Room",
    )
    assert preview.rows == 2
    assert preview.problem is None
    assert preview.signature == source_signature(preview.headers)
    expected = pd.DataFrame(
        {
            "Client ID": ["C1"],
            "Appointment Date": ["2025-01-05"],
            "Practitioner": ["Jo Park"],
            "Visit Type": ["TPT"],
            "Room": ["2"],
        },
        index=pd.RangeIndex(2, 3, name="row"),
    )
    pd.testing.assert_frame_equal(preview.first_rows, expected, check_dtype=False)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty.csv: the file is empty"),
        (b"client_id,intake_date\n", "empty.csv: the file has a header but no rows"),
        (b"PK\x03\x04\x00\x00", "empty.csv: the file is not a text CSV file"),
    ],
)
def test_an_unreadable_file_gets_a_problem_naming_it_instead_of_an_exception(
    data: bytes, message: str
) -> None:
    preview = preview_file("empty.csv", data)
    assert preview.problem is not None
    assert preview.problem.startswith(message)
    assert (preview.headers, preview.rows) == ((), 0)


# --- column mapping -------------------------------------------------------------------------
def test_unrecognised_headers_are_listed_once_with_the_files_holding_them() -> None:
    previews = [previewed("jane.csv", JANE), previewed("intake.csv", INTAKE)]
    assert unrecognised_headers(previews) == [
        ("Visit Type", ("jane.csv",)),
        ("Room", ("jane.csv", "intake.csv")),
    ]


@pytest.mark.parametrize(
    ("header", "key"),
    [("Visit Type", "map_visit_type"), ("ROOM #", "map_room"), ("Kind/Art", "map_kind_art")],
)
def test_mapping_keys_are_stable_slugs(header: str, key: str) -> None:
    assert mapping_key(header) == key


def test_the_mapping_options_offer_ignore_first_then_every_column_with_its_part() -> None:
    assert MAPPING_OPTIONS[:3] == ("", "client_id", "client_name")
    assert "techniques" in MAPPING_OPTIONS
    assert option_label("") == "ignore (not imported)"
    assert option_label("techniques") == "techniques (session)"
    assert option_label("baseline_pain") == "baseline_pain (intake)"


def test_remembered_choices_come_from_each_files_source_first_file_winning() -> None:
    jane, intake = previewed("jane.csv", JANE), previewed("intake.csv", INTAKE)
    remembered = {
        jane.signature: {"visit_type": "techniques", "Room": ""},
        intake.signature: {"Room": "notes"},
    }
    headers = ["Visit Type", "Room"]
    assert remembered_choices([jane, intake], remembered, headers) == {
        "Visit Type": "techniques",
        "Room": "",
    }
    assert remembered_choices([intake, jane], remembered, headers) == {
        "Visit Type": "techniques",
        "Room": "notes",
    }
    assert remembered_choices([intake], remembered, headers) == {"Room": "notes"}
    assert remembered_choices([jane], {}, headers) == {}


def test_the_mapping_remembered_for_a_file_holds_only_its_own_headers() -> None:
    choices = {"Visit Type": "techniques", "room": ""}
    assert mapping_for_file(["Client ID", "Visit Type", "Room"], choices) == {
        "Visit Type": "techniques",
        "Room": "",
    }
    assert mapping_for_file(["client_id", "Room"], choices) == {"Room": ""}


def test_the_column_table_says_where_each_column_goes_and_why() -> None:
    headers = ["Client ID", "Appointment Date", "Practitioner", "Visit Type", "Room", "Notes"]
    table = column_table(headers, {"Visit Type": "techniques", "Room": ""})
    expected = pd.DataFrame(
        {
            "File column": headers,
            "Headway column": [
                "client_id",
                "session_date",
                "therapist",
                "techniques",
                "ignored",
                "notes",
            ],
            "How": [
                "recognised",
                "recognised",
                "recognised",
                "your mapping",
                "not used",
                "recognised",
            ],
        }
    )
    pd.testing.assert_frame_equal(table, expected)


def test_the_column_table_says_when_a_mapping_takes_a_recognised_columns_place() -> None:
    table = column_table(["techniques", "Visit Type", "Room"], {"Visit Type": "techniques"})
    assert table["Headway column"].tolist() == ["ignored", "techniques", "ignored"]
    assert table["How"].tolist() == [
        "replaced by your mapping",
        "your mapping",
        "not used",
    ]


def test_the_column_table_points_to_the_check_for_a_header_with_an_error() -> None:
    table = column_table(["client_id", "Visit"], {"Visit": "visit_kind"})
    assert table.values.tolist() == [
        ["client_id", "client_id", "recognised"],
        ["Visit", "ignored", "see the check"],
    ]


# --- checking -------------------------------------------------------------------------------
NEW = csv_bytes(
    "client_id,intake_date,session_date,therapist,techniques,pain_pre",
    "C1,2025-01-02,2025-01-05,Jo Park,TPT,6",
    "C1,2025-01-02,2025-01-12,Jo Park,TPT,11",
    "C2,,2025-01-06,Sam Wu,CST,5",
)


def test_a_check_with_errors_reports_them_all_and_writes_nothing(sqlite_engine: Engine) -> None:
    before = snapshot(sqlite_engine)
    check = check_upload(sqlite_engine, [("new.csv", NEW)])
    assert check.result is None
    assert check.errors[["file", "row", "column", "message"]].values.tolist() == [
        ["new.csv", 3, "pain_pre", "must be between 0 and 10"],
        ["new.csv", 4, "intake_date", "client C2 is new to Headway and needs an intake date"],
    ]
    assert snapshot(sqlite_engine) == before


def test_a_clean_check_says_what_the_import_would_change_and_writes_nothing(
    sqlite_engine: Engine,
) -> None:
    import_files(sqlite_engine, [("old.csv", csv_bytes(*NEW.decode().splitlines()[:2]))])
    before = snapshot(sqlite_engine)
    fixed = NEW.replace(b",11\n", b",4\n").replace(b"C2,,", b"C2,2025-01-03,")
    check = check_upload(sqlite_engine, [("new.csv", fixed)], mapping={"pain_pre": ""})
    assert check.errors.empty
    assert check.result is not None and check.result.dry_run
    table = change_table(check.result, len(check.batch.clients))
    assert table.to_dict("list") == {
        "Records": ["Clients", "Sessions"],
        "Added": [1, 2],
        "Updated": [0, 0],
        "Unchanged": [1, 1],
    }
    assert check.report["message"].tolist() == ["column not used by Headway (ignored)"]
    assert snapshot(sqlite_engine) == before


def test_a_check_takes_the_date_order_chosen_for_ambiguous_dates(sqlite_engine: Engine) -> None:
    data = csv_bytes(
        "client_id,intake_date,session_date,therapist,techniques",
        "C1,03/04/2025,03/05/2025,Jo Park,TPT",
    )
    assert not check_upload(sqlite_engine, [("eu.csv", data)]).errors.empty
    check = check_upload(sqlite_engine, [("eu.csv", data)], date_order="dayfirst")
    assert check.errors.empty
    assert check.batch.sessions["session_date"].tolist() == [pd.Timestamp("2025-05-03")]


def test_severity_counts_always_name_all_three_severities() -> None:
    report = pd.DataFrame({"severity": ["error", "notice", "error"]})
    assert severity_counts(report) == {"error": 2, "warning": 0, "notice": 1}
    assert severity_counts(pd.DataFrame({"severity": []})) == {
        "error": 0,
        "warning": 0,
        "notice": 0,
    }


def test_the_report_table_keeps_the_documented_columns_in_order() -> None:
    report = pd.DataFrame(
        {
            "value": ["11"],
            "message": ["m"],
            "severity": ["error"],
            "column": ["c"],
            "row": [3],
            "file": ["f"],
        },
        index=[7],
    )
    table = report_table(report)
    assert (
        list(table.columns)
        == PROBLEM_COLUMNS
        == ["file", "row", "column", "severity", "message", "value"]
    )
    assert table.index.tolist() == [0]


def test_the_change_table_never_shows_negative_unchanged_clients() -> None:
    result = ImportResult(None, ("a.csv",), 3, clients_added=2, clients_updated=1, sessions_added=3)
    assert change_table(result, 2)["Unchanged"].tolist() == [0, 0]


# --- history --------------------------------------------------------------------------------
def imports_frame() -> pd.DataFrame:
    """Three imports as fetch_imports returns them: #3 undone, so #2 is the newest in place."""
    return pd.DataFrame(
        {
            "id": [3, 2, 1],
            "source": ["upload", "cli", "sample"],
            "file_names": ["may.csv", "intake.csv, april.csv", "sample.csv"],
            "started_at": pd.to_datetime(
                ["2025-06-01 09:30", "2025-05-02 08:00", "2025-05-01 07:00"]
            ),
            "status": ["undone", "completed", "completed"],
            "rows_read": [10, 20, 979],
            "clients_added": [1, 2, 150],
            "clients_updated": [0, 1, 0],
            "sessions_added": [10, 18, 979],
            "sessions_updated": [0, 2, 0],
            "sessions_unchanged": [0, 0, 0],
            "undone_at": pd.to_datetime(["2025-06-02 10:00", None, None]),
            "notices": [None, "notice: x", None],
        }
    )


def test_the_history_table_is_newest_first_with_readable_names() -> None:
    table = history_table(imports_frame().sort_values("id"))
    assert table["Import"].tolist() == [3, 2, 1]
    assert table["From"].tolist() == ["upload page", "command line", "sample practice"]
    assert table["Notices"].tolist() == ["", "notice: x", ""]
    assert list(table.columns[:5]) == ["Import", "Started", "From", "Files", "Status"]


def test_only_the_newest_completed_import_can_be_undone() -> None:
    imports = imports_frame()
    newest = undoable_import(imports)
    assert newest is not None and int(newest["id"]) == 2
    assert undoable_import(imports.assign(status="undone")) is None


def test_the_undo_question_says_what_will_be_removed_and_restored() -> None:
    newest = undoable_import(imports_frame())
    assert newest is not None
    assert undo_question(newest) == (
        "Undo import #2 (intake\\.csv, april\\.csv, 02 May 2025 08:00)? This removes the "
        "18 session(s) and 2 client(s) it added and restores the previous values of the "
        "3 record(s) it changed."
    )
    nothing_changed = newest.copy()
    nothing_changed[["clients_updated", "sessions_updated"]] = 0
    assert undo_question(nothing_changed).endswith(
        "18 session(s) and 2 client(s) it added; it changed no stored records."
    )


def test_the_undo_summary_counts_what_was_removed_and_restored() -> None:
    undone = {
        "sessions_removed": 18,
        "clients_removed": 2,
        "sessions_restored": 2,
        "clients_restored": 1,
    }
    assert undo_summary(2, undone) == (
        "Import #2 was undone: 18 session(s) and 2 client(s) removed, 2 session(s) and "
        "1 client(s) restored."
    )
