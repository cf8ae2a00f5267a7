"""Steps 1-3 for the files of one import (practice/importing/batch.py, problems.py)."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pytest

from practice import config
from practice.importing.batch import (
    PreparedBatch,
    drop_repeated_sessions,
    hash_files,
    merge_intakes,
    prepare_batch,
)
from practice.importing.problems import (
    PROBLEM_COLUMNS,
    Problem,
    concat_problems,
    describe_problems,
    format_problem,
    problems_frame,
)

SESSION_HEADER = ["client_id", "session_date", "therapist", "techniques"]
T = TypeVar("T")


def csv_bytes(rows: list[list[str]], *, sep: str = ",", encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=sep, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def lines(batch: PreparedBatch) -> list[str]:
    return describe_problems(batch.problems)


def outcome(function: Callable[..., T], *args: Any) -> T | Exception:
    """`function(*args)`, or the exception it raised.

    A known crash (an xfail test) then fails on a plain assertion in the test, instead of a
    traceback through pandas that pytest would spend a second formatting.
    """
    try:
        return function(*args)
    except Exception as exc:
        return exc


def dates(*values: str | None) -> pd.Series:
    return pd.Series(pd.to_datetime(list(values)), dtype="datetime64[ns]")


# --- a clean batch ----------------------------------------------------------------------------


def test_prepare_batch_types_a_clean_export() -> None:
    data = csv_bytes(
        [
            [
                "Patient ID",
                "Intake",
                "Diagnosis",
                "Appointment Date",
                "Practitioner",
                "Service",
                "Pain before",
                "Notes",
            ],
            ["C1", "02/01/2025", "TTH", "13/01/2025", "Ann", "NMT; CST", "6,5", '=HYPERLINK("x")'],
            ["C1", "02/01/2025", "TTH", "20/01/2025", "Ann", "trigger point therapy", "5", ""],
            ["C2", "03/01/2025", "Migraine", "14/01/2025", " Bob ", "Hot stones", "", "  ok  "],
        ],
        sep=";",
        encoding="cp1252",
    )
    batch = prepare_batch([("visits.csv", data)])
    clients = pd.DataFrame(
        {
            "client_id": pd.Series(["C1", "C2"], dtype="str"),
            "file": pd.Series(["visits.csv", "visits.csv"], dtype="str"),
            "row": [2, 4],
            "intake_date": dates("2025-01-02", "2025-01-03"),
            "headache_type": pd.Series(["tension_type", "migraine"], dtype=object),
        }
    )
    sessions = pd.DataFrame(
        {
            "client_id": pd.Series(["C1", "C1", "C2"], dtype="str"),
            "intake_date": dates("2025-01-02", "2025-01-02", "2025-01-03"),
            "headache_type": pd.Series(["tension_type", "tension_type", "migraine"], dtype=object),
            "session_date": dates("2025-01-13", "2025-01-20", "2025-01-14"),
            "therapist": pd.Series(["Ann", "Ann", "Bob"], dtype="str"),
            "techniques": pd.Series(
                ["neuromuscular;craniosacral", "trigger_point", "hot_stones"], dtype=object
            ),
            "pain_pre": [6.5, 5.0, np.nan],
            "notes": pd.Series(['=HYPERLINK("x")', np.nan, "ok"], dtype="str"),
            "row": [2, 3, 4],
            "file": pd.Series(["visits.csv"] * 3, dtype="str"),
        }
    )
    pd.testing.assert_frame_equal(batch.clients, clients)
    pd.testing.assert_frame_equal(batch.sessions, sessions)
    assert batch.files == ("visits.csv",)
    assert batch.rows_read == 3
    assert batch.intake_columns == ("intake_date", "headache_type")
    assert batch.session_columns == ("session_date", "therapist", "techniques", "pain_pre", "notes")
    assert batch.new_techniques == {"hot_stones": "Hot stones"}
    assert batch.content_hash == hash_files([("visits.csv", data)])
    assert lines(batch) == [
        "notice: visits.csv row 4, column Service (techniques): technique 'Hot stones' is not "
        "in Headway's vocabulary; kept as a new technique 'hot_stones' ('Hot stones')",
    ]
    assert batch.errors.empty


def test_prepare_batch_needs_at_least_one_file() -> None:
    with pytest.raises(ValueError, match=r"^prepare_batch needs at least one file$"):
        prepare_batch([])


def test_hash_files_depends_on_contents_and_order_not_names() -> None:
    a, b = b"client_id\nC1\n", b"client_id\nC2\n"
    expected = hashlib.sha256(hashlib.sha256(a).digest() + hashlib.sha256(b).digest())
    assert hash_files([("a.csv", a), ("b.csv", b)]) == expected.hexdigest()
    assert hash_files([("x.csv", a), ("y.csv", b)]) == expected.hexdigest()
    assert hash_files([("b.csv", b), ("a.csv", a)]) != expected.hexdigest()


# --- intake files -----------------------------------------------------------------------------


def test_an_intake_only_file_is_accepted() -> None:
    batch = prepare_batch(
        [
            (
                "intake.csv",
                csv_bytes(
                    [
                        ["Client", "Intake date", "Gender", "Year of birth", "Known triggers"],
                        ["C1", "2025-01-02", "F", "1980", "stress, sleep"],
                        ["C2", "2025-01-03", "m", "", ""],
                    ]
                ),
            )
        ]
    )
    clients = pd.DataFrame(
        {
            "client_id": pd.Series(["C1", "C2"], dtype="str"),
            "file": pd.Series(["intake.csv", "intake.csv"], dtype="str"),
            "row": [2, 3],
            "intake_date": dates("2025-01-02", "2025-01-03"),
            "birth_year": pd.array([1980, None], dtype="Int64"),
            "sex": pd.Series(["female", "male"], dtype=object),
            "triggers": pd.Series(["stress;sleep", None], dtype=object),
        }
    )
    pd.testing.assert_frame_equal(batch.clients, clients)
    assert batch.sessions.empty
    assert batch.session_columns == ()
    assert batch.intake_columns == ("intake_date", "birth_year", "sex", "triggers")
    assert lines(batch) == []


def test_an_intake_file_and_a_sessions_file_are_imported_together() -> None:
    intake = csv_bytes(
        [
            ["client_id", "intake_date", "headache_type"],
            ["C1", "2025-01-02", "TTH"],
            ["C2", "2025-01-03", "cluster"],
        ]
    )
    sessions = csv_bytes(
        [SESSION_HEADER, ["C1", "2025-01-10", "Ann", "NMT"], ["C2", "2025-01-11", "Ann", "CST"]]
    )
    batch = prepare_batch([("intake.csv", intake), ("sessions.csv", sessions)])
    clients = pd.DataFrame(
        {
            "client_id": pd.Series(["C1", "C2"], dtype="str"),
            "file": pd.Series(["intake.csv", "intake.csv"], dtype="str"),
            "row": [2, 3],
            "intake_date": dates("2025-01-02", "2025-01-03"),
            "headache_type": pd.Series(["tension_type", "cluster"], dtype=object),
        }
    )
    pd.testing.assert_frame_equal(batch.clients, clients)
    assert batch.sessions[["client_id", "file", "row"]].to_dict("list") == {
        "client_id": ["C1", "C2"],
        "file": ["sessions.csv", "sessions.csv"],
        "row": [2, 3],
    }
    assert batch.rows_read == 4
    assert lines(batch) == []


def test_a_session_before_an_intake_from_another_file_is_a_warning() -> None:
    # The warning is raised in validation._session_rules, which sees one file at a time, so a
    # session dated before an intake that comes from the batch's intake file passes silently.
    intake = csv_bytes([["client_id", "intake_date"], ["C1", "2025-02-01"]])
    sessions = csv_bytes([SESSION_HEADER, ["C1", "2025-01-10", "Ann", "NMT"]])
    batch = prepare_batch([("intake.csv", intake), ("sessions.csv", sessions)])
    assert lines(batch) == [
        "warning: sessions.csv row 2, column session_date: the session is before the "
        "client's intake date ('2025-01-10')",
    ]


def test_two_different_intake_values_for_one_client_are_errors() -> None:
    intake = csv_bytes(
        [
            ["client_id", "intake_date", "headache_type", "baseline_pain", "birth_year"],
            ["C1", "2025-01-02", "TTH", "6", "1980"],
            ["C1", "", "tension type", "6.0", ""],  # the same values, or none: no conflict
            ["C1", "2025-01-03", "migraine", "6,5", "1981"],
            ["C2", "2025-01-02", "", "", ""],
        ]
    )
    sessions = csv_bytes(
        [
            [*SESSION_HEADER, "Diagnosis"],
            ["C2", "2025-01-10", "Ann", "NMT", "MwA"],
            ["C1", "2025-01-10", "Ann", "NMT", "cluster"],
        ]
    )
    batch = prepare_batch([("intake.csv", intake), ("sessions.csv", sessions)])
    assert lines(batch) == [
        "error: intake.csv row 4, column baseline_pain: client has two different baseline_pain "
        "values; the first was 6 at intake.csv row 2 ('6.5')",
        "error: intake.csv row 4, column birth_year: client has two different birth_year "
        "values; the first was 1980 at intake.csv row 2 ('1981')",
        "error: intake.csv row 4, column headache_type: client has two different headache_type "
        "values; the first was tension_type at intake.csv row 2 ('migraine')",
        "error: intake.csv row 4, column intake_date: client has two different intake_date "
        "values; the first was 2025-01-02 at intake.csv row 2 ('2025-01-03')",
        "error: sessions.csv row 3, column headache_type: client has two different "
        "headache_type values; the first was tension_type at intake.csv row 2 ('cluster')",
    ]
    # The first value is kept for each client; C2's headache type comes from the sessions file.
    assert batch.clients.set_index("client_id")["headache_type"].to_dict() == {
        "C1": "tension_type",
        "C2": "migraine_with_aura",
    }


def test_merge_intakes_keeps_the_first_given_value_per_client() -> None:
    intake = pd.DataFrame(
        {
            "file": ["a.csv", "a.csv", "b.csv", "b.csv"],
            "row": [2, 3, 2, 3],
            "client_id": ["C1", "C2", "C1", None],
            "client_name": [None, "Bo", "Ann", "Nobody"],
            "baseline_pain": [np.nan, 4.0, 5.0, 1.0],
        }
    )
    clients, problems = merge_intakes(intake)
    expected = pd.DataFrame(
        {
            "client_id": ["C1", "C2"],
            "file": ["a.csv", "a.csv"],
            "row": [2, 3],
            "client_name": ["Ann", "Bo"],
            "baseline_pain": [5.0, 4.0],
        }
    )
    pd.testing.assert_frame_equal(clients, expected)
    pd.testing.assert_frame_equal(problems, problems_frame([]))


def test_merge_intakes_of_nothing() -> None:
    clients, problems = merge_intakes(pd.DataFrame())
    assert list(clients.columns) == ["client_id", "file", "row"]
    assert clients.empty
    assert problems.empty


# --- repeated sessions ------------------------------------------------------------------------


def test_an_identical_repeated_session_is_kept_once_with_a_notice() -> None:
    batch = prepare_batch(
        [
            (
                "visits.csv",
                csv_bytes(
                    [
                        [*SESSION_HEADER, "pain_pre"],
                        ["C1", "2025-01-10", "Ann", "NMT", "5"],
                        [
                            "C1",
                            "10 Jan 2025",
                            "Ann",
                            "neuromuscular therapy",
                            "5,0",
                        ],  # same after typing
                        ["C1", "2025-01-10", "Ann", "NMT", "5"],
                        [
                            "C1",
                            "2025-01-10",
                            "Bob",
                            "NMT",
                            "5",
                        ],  # another therapist: another session
                    ]
                ),
            )
        ]
    )
    assert lines(batch) == [
        "notice: visits.csv row 3: repeats the same session as visits.csv row 2; imported once",
        "notice: visits.csv row 4: repeats the same session as visits.csv row 2; imported once",
    ]
    assert batch.sessions[["therapist", "row"]].to_dict("list") == {
        "therapist": ["Ann", "Bob"],
        "row": [2, 5],
    }
    assert batch.errors.empty


def test_a_repeated_session_with_different_values_is_an_error() -> None:
    first = csv_bytes([[*SESSION_HEADER, "pain_pre"], ["C1", "2025-01-10", "Ann", "NMT", "5"]])
    second = csv_bytes(
        [
            [*SESSION_HEADER, "pain_pre"],
            ["C2", "2025-01-10", "Ann", "NMT", "5"],
            ["C1", "2025-01-10", "Ann", "NMT", "6"],
            ["C1", "2025-01-10", "Ann", "NMT", "5"],
        ]
    )
    batch = prepare_batch([("a.csv", first), ("b.csv", second)])
    assert lines(batch) == [
        "error: b.csv row 3, column session_date: same client, date and therapist as a.csv "
        "row 2 but with different values",
        "notice: b.csv row 4: repeats the same session as a.csv row 2; imported once",
    ]
    assert batch.sessions[["file", "row"]].to_dict("list") == {
        "file": ["a.csv", "b.csv", "b.csv"],
        "row": [2, 2, 3],
    }


def test_drop_repeated_sessions_ignores_rows_without_a_full_key() -> None:
    sessions = pd.DataFrame(
        {
            "client_id": ["C1", "C1", "C1", "C1"],
            "session_date": dates("2025-01-10", "2025-01-10", None, None),
            "therapist": ["Ann", "Ann", "Ann", "Ann"],
            "file": ["a.csv"] * 4,
            "row": [2, 3, 4, 5],
        }
    )
    kept, problems = drop_repeated_sessions(sessions)
    pd.testing.assert_frame_equal(kept, sessions.drop(index=[1]))
    assert describe_problems(problems) == [
        "notice: a.csv row 3: repeats the same session as a.csv row 2; imported once",
    ]


def test_the_same_session_in_a_full_export_and_a_sessions_export_is_kept_once() -> None:
    # drop_repeated_sessions compares every column of the combined frame, so the session from
    # the file without intake columns (NaN there) "differs" from the same session in the file
    # with them, and the batch is refused instead of keeping the session once.
    full = csv_bytes(
        [[*SESSION_HEADER, "intake_date"], ["C1", "2025-01-10", "Ann", "NMT", "2025-01-02"]]
    )
    sessions = csv_bytes([SESSION_HEADER, ["C1", "2025-01-10", "Ann", "NMT"]])
    batch = prepare_batch([("full.csv", full), ("sessions.csv", sessions)])
    assert lines(batch) == [
        "notice: sessions.csv row 2: repeats the same session as full.csv row 2; imported once",
    ]


# --- options ----------------------------------------------------------------------------------


def test_prepare_batch_applies_the_mapping_and_date_order_to_every_file() -> None:
    mapping = {"Who": "therapist", "Visit": "session_date", "Kind": "techniques", "Room": ""}
    first = csv_bytes(
        [["Client", "Visit", "Who", "Kind", "Room"], ["C1", "01/02/2025", "Ann", "NMT", "3"]]
    )
    second = csv_bytes([["Client", "Visit", "Who", "Kind"], ["C2", "03/04/2025", "Bob", "CST"]])
    batch = prepare_batch(
        [("a.csv", first), ("b.csv", second)], mapping=mapping, date_order="monthfirst"
    )
    assert batch.sessions["session_date"].tolist() == [
        pd.Timestamp("2025-01-02"),
        pd.Timestamp("2025-03-04"),
    ]
    assert batch.sessions["therapist"].tolist() == ["Ann", "Bob"]
    assert lines(batch) == [
        "notice: a.csv row 1, column Room: column not used by Headway (ignored)",
    ]


def test_each_file_infers_its_own_date_order() -> None:
    european = csv_bytes(
        [SESSION_HEADER, ["C1", "13/01/2025", "Ann", "NMT"], ["C1", "01/02/2025", "Ann", "NMT"]]
    )
    american = csv_bytes(
        [SESSION_HEADER, ["C2", "01/13/2025", "Ann", "NMT"], ["C2", "02/01/2025", "Ann", "NMT"]]
    )
    batch = prepare_batch([("eu.csv", european), ("us.csv", american)])
    assert batch.sessions["session_date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2025-01-13",
        "2025-02-01",
        "2025-01-13",
        "2025-02-01",
    ]
    assert lines(batch) == []


# --- every problem at once --------------------------------------------------------------------


def test_prepare_batch_reports_every_problem_of_every_file_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(config, "MAX_UPLOAD_MB", 1)
    monkeypatch.setattr(config, "MAX_NOTE_CHARS", 40)
    visits = csv_bytes(
        [
            [
                "Client ID",
                "Date",
                "Staff",
                "Treatment",
                "HIT-6",
                "Status",
                "Pressure",
                "Notes",
                "Intake",
                "Invoice",
            ],
            ["C1", "2025-01-10", "Ann", "NMT", "60.5", "no show", "deep", "ok", "2025-01-12", "1"],
            ["C1", "2025-01-10", "Ann", "NMT", "60.5", "no show", "deep", "ok", "2025-01-12", "1"],
            ["C2", "2025-02-30", "Bob", "", "80", "attended", "hard", "x" * 41, "", "2"],
            ["", "2025-01-11", "", "CST", "seven", "maybe", "", "", "", ""],
        ]
    )
    batch = prepare_batch(
        [
            ("visits.csv", visits),
            ("empty.csv", b""),
            ("header.csv", b"client_id,session_date\r\n"),
            ("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF"),
            ("big.csv", b"client_id\n" + b"C1\n" * 700_000),
            ("nothing.csv", csv_bytes([["therapist"], ["Ann"]])),
        ]
    )
    assert lines(batch) == [
        "error: big.csv: the file is 2.0 MB (2,100,010 bytes), above the limit of 1.0 MB "
        "(1,048,576 bytes) (setting PRACTICE_MAX_UPLOAD_MB)",
        "error: empty.csv: the file is empty",
        "error: header.csv: the file has a header but no rows",
        "error: nothing.csv row 1, column client_id: required column is missing",
        "error: nothing.csv row 1, column session_date: required column is missing",
        "error: nothing.csv row 1, column techniques: required column is missing",
        "error: photo.jpg: the file is not a text CSV file (binary content at byte 4); "
        "export it from your practice software as CSV",
        "error: visits.csv row 2, column HIT-6 (hit6): must be a whole number ('60.5')",
        "error: visits.csv row 3, column HIT-6 (hit6): must be a whole number ('60.5')",
        "error: visits.csv row 4, column Date (session_date): is not a valid date "
        "(expected e.g. 2025-03-14) ('2025-02-30')",
        "error: visits.csv row 4, column HIT-6 (hit6): must be between 36 and 78 ('80')",
        f"error: visits.csv row 4, column Notes: the value is longer than 40 characters "
        f"(setting PRACTICE_MAX_NOTE_CHARS) ('{'x' * 41}')",
        "error: visits.csv row 4, column Pressure: must be one of: light, moderate, firm ('hard')",
        "error: visits.csv row 4, column Treatment (techniques): an attended session needs "
        "at least one technique",
        "error: visits.csv row 5, column Client ID: a value is required",
        "error: visits.csv row 5, column HIT-6 (hit6): is not a number ('seven')",
        "error: visits.csv row 5, column Staff (therapist): a value is required",
        "error: visits.csv row 5, column Status: must be one of: attended, no_show, cancelled, "
        "follow_up ('maybe')",
        "warning: visits.csv row 2, column Date (session_date): the session is before the "
        "client's intake date ('2025-01-10')",
        "notice: visits.csv row 1, column Invoice: column not used by Headway (ignored)",
        "notice: visits.csv row 3: repeats the same session as visits.csv row 2; imported once",
    ]
    assert len(batch.errors) == 18
    assert set(batch.errors["severity"]) == {"error"}


# --- problems as text -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("problem", "text"),
    [
        (
            Problem(
                "a.csv", 7, "Pain before (pain_pre)", "error", "must be between 0 and 10", "11"
            ),
            "a.csv row 7, column Pain before (pain_pre): must be between 0 and 10 ('11')",
        ),
        (
            Problem("a.csv", 1, "therapist", "error", "required column is missing"),
            "a.csv row 1, column therapist: required column is missing",
        ),
        (
            Problem("a.csv", None, "Date", "error", "dates like '01/02/2025' are ambiguous"),
            "a.csv, column Date: dates like '01/02/2025' are ambiguous",
        ),
        (Problem("a.csv", None, None, "error", "the file is empty"), "a.csv: the file is empty"),
        (
            Problem("a.csv", 3, None, "notice", "repeats a session"),
            "a.csv row 3: repeats a session",
        ),
        (
            Problem("a.csv", 3, "", "notice", "repeats a session", ""),
            "a.csv row 3: repeats a session",
        ),
        (Problem("", None, "notes", "error", "too long"), "column notes: too long"),
        (Problem("", None, None, "error", "nothing to import"), "nothing to import"),
        (
            Problem("a.csv", 2, "notes", "error", "too long", "y" * 61),
            f"a.csv row 2, column notes: too long ('{'y' * 60}…')",
        ),
        (
            Problem("a.csv", 2, "notes", "error", "too long", "y" * 60),
            f"a.csv row 2, column notes: too long ('{'y' * 60}')",
        ),
        (
            Problem("a.csv", 2, "notes", "error", "odd", "it's"),
            'a.csv row 2, column notes: odd ("it\'s")',
        ),
    ],
)
def test_str_of_a_problem_names_file_row_and_column(problem: Problem, text: str) -> None:
    assert str(problem) == text
    assert (
        format_problem(problem.file, problem.row, problem.column, problem.message, problem.value)
        == text
    )


def test_format_problem_accepts_a_report_frames_missing_values() -> None:
    assert format_problem("a.csv", pd.NA, np.nan, "the file is empty", None) == (
        "a.csv: the file is empty"
    )


def test_concat_problems_puts_errors_first_then_file_row_and_column() -> None:
    report = concat_problems(
        [
            problems_frame(
                [
                    Problem("b.csv", 3, "x", "notice", "n1"),
                    Problem("b.csv", 2, "y", "error", "e3"),
                    Problem("a.csv", 5, "x", "warning", "w1"),
                ]
            ),
            problems_frame([]),
            problems_frame(
                [
                    Problem("b.csv", 2, "a", "error", "e2"),
                    Problem("b.csv", None, None, "error", "e1"),
                    Problem("a.csv", 9, "z", "error", "e0"),
                ]
            ),
        ]
    )
    assert report["message"].tolist() == ["e0", "e1", "e2", "e3", "w1", "n1"]
    assert report.columns.tolist() == PROBLEM_COLUMNS
    assert str(report["row"].dtype) == "Int64"


def test_describe_problems_prefixes_the_severity_and_honours_the_limit() -> None:
    report = problems_frame(
        [
            Problem("a.csv", 2, "sex", "error", "must be one of: female, male, other", "Q"),
            Problem("a.csv", 1, "Room", "notice", "column not used by Headway (ignored)"),
        ]
    )
    assert describe_problems(report) == [
        "error: a.csv row 2, column sex: must be one of: female, male, other ('Q')",
        "notice: a.csv row 1, column Room: column not used by Headway (ignored)",
    ]
    assert describe_problems(report, limit=1) == [
        "error: a.csv row 2, column sex: must be one of: female, male, other ('Q')",
    ]


def test_a_date_column_that_is_blank_on_every_row_does_not_crash_the_batch() -> None:
    # e.g. a sessions export with an "Intake date" column nobody filled in:
    # TypeError: Cannot cast DatetimeArray to dtype float64 (dates.parse_dates).
    data = csv_bytes([[*SESSION_HEADER, "Intake date"], ["C1", "2025-01-10", "Ann", "NMT", ""]])
    batch = outcome(prepare_batch, [("visits.csv", data)])
    assert not isinstance(batch, Exception), repr(batch)
    assert lines(batch) == []
