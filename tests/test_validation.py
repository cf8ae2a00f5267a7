"""Step 3 of an import: text cells -> typed rows and every problem (validation.py)."""

from __future__ import annotations

import csv
import io
import math
import warnings
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from practice import config
from practice.columns import INTAKE_COLUMNS
from practice.importing.batch import prepare_batch
from practice.importing.dates import DateOrder
from practice.importing.mapping import map_columns
from practice.importing.problems import describe_problems
from practice.importing.reading import read_table
from practice.importing.validation import ParsedFile, parse_file

SESSION_HEADER = ["client_id", "session_date", "therapist", "techniques"]
T = TypeVar("T")


def parse(
    text: str,
    *,
    file: str = "visits.csv",
    mapping: Mapping[str, str] | None = None,
    date_order: DateOrder | None = None,
) -> ParsedFile:
    table = read_table(file, text.encode())
    return parse_file(table, map_columns(file, list(table.cells.columns), mapping), date_order)


def to_csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def lines(parsed: ParsedFile) -> list[str]:
    return describe_problems(parsed.problems)


def outcome(function: Callable[..., T], *args: Any) -> T | Exception:
    """`function(*args)`, or the exception it raised.

    A known crash (an xfail test) then fails on a plain assertion in the test, instead of a
    traceback through pandas that pytest would spend a second formatting.
    """
    try:
        return function(*args)
    except Exception as exc:
        return exc


# --- one file, one row per case ---------------------------------------------------------------
# Parsing costs a few tens of milliseconds whatever the rows, so the per-cell cases share one
# file: row R of CELL_FILE holds case R - 2 and nothing else that could go wrong.

NOT_A_NUMBER = "is not a number"
WHOLE = "must be a whole number"
HEADACHE_TYPES = (
    "must be one of: migraine, migraine_with_aura, tension_type, cervicogenic, "
    "cluster, mixed, other"
)
DATE = "is not a valid date (expected e.g. 2025-03-14)"

# column, cell as exported, typed value, problem message (None: accepted)
CELL_CASES: list[tuple[str, str, object, str | None]] = [
    # numbers
    ("pain_pre", "0", 0.0, None),
    ("pain_pre", "10", 10.0, None),
    ("pain_pre", "6.5", 6.5, None),
    ("pain_pre", "6,5", 6.5, None),  # decimal comma
    ("pain_pre", " 7 ", 7.0, None),
    ("pain_pre", "+5", 5.0, None),
    ("pain_pre", ".5", 0.5, None),
    ("pain_pre", "5.", 5.0, None),
    ("pain_pre", "", math.nan, None),
    ("pain_pre", "11", math.nan, "must be between 0 and 10"),
    ("pain_pre", "-1", math.nan, "must be between 0 and 10"),
    ("pain_pre", "-0,5", math.nan, "must be between 0 and 10"),
    ("pain_pre", "10.01", math.nan, "must be between 0 and 10"),
    ("pain_pre", "inf", math.nan, "must be between 0 and 10"),
    ("pain_pre", "abc", math.nan, NOT_A_NUMBER),
    ("pain_pre", "5/10", math.nan, NOT_A_NUMBER),
    ("pain_pre", "6,", math.nan, NOT_A_NUMBER),
    ("pain_pre", "6, 5", math.nan, NOT_A_NUMBER),
    ("pain_pre", "1.234,5", math.nan, NOT_A_NUMBER),
    ("pain_pre", "nan", math.nan, NOT_A_NUMBER),
    ("pain_pre", "N/A", math.nan, NOT_A_NUMBER),
    ("pain_post", "3,25", 3.25, None),
    ("pain_post", "seven", math.nan, NOT_A_NUMBER),
    ("stress", "9.9", 9.9, None),
    ("sleep_quality", "10,0", 10.0, None),
    ("headache_days_7d", "7", 7.0, None),
    ("headache_days_7d", "8", math.nan, "must be between 0 and 7"),
    ("headache_days_28d", "28", 28.0, None),
    ("headache_days_28d", "28.5", math.nan, "must be between 0 and 28"),
    ("medication_days_7d", "2.5", 2.5, None),  # not required to be whole
    ("duration_min", "45.5", 45.5, None),
    ("duration_min", "4", math.nan, "must be between 5 and 240"),
    ("duration_min", "241", math.nan, "must be between 5 and 240"),
    ("hit6", "60", 60.0, None),
    ("hit6", "60.0", 60.0, None),
    ("hit6", "60,0", 60.0, None),
    ("hit6", "60.5", math.nan, WHOLE),
    ("hit6", "60,5", math.nan, WHOLE),
    ("hit6", "35", math.nan, "must be between 36 and 78"),
    ("hit6", "78.5", math.nan, "must be between 36 and 78"),
    ("midas", "270", 270.0, None),
    ("midas", "12.5", math.nan, WHOLE),
    ("midas", "271", math.nan, "must be between 0 and 270"),
    ("birth_year", "1980", 1980.0, None),
    ("birth_year", "1980.5", math.nan, WHOLE),
    ("birth_year", "1899", math.nan, "must be between 1900 and 2100"),
    ("birth_year", "'80", math.nan, NOT_A_NUMBER),
    ("baseline_hit6", "50,5", math.nan, WHOLE),
    ("baseline_midas", "3.5", math.nan, WHOLE),
    ("baseline_pain", "6,5", 6.5, None),
    ("baseline_headache_days_28d", "29", math.nan, "must be between 0 and 28"),
    ("baseline_medication_days_28d", "0", 0.0, None),
    ("baseline_stress", "-2", math.nan, "must be between 0 and 10"),
    ("baseline_sleep_quality", "x", math.nan, NOT_A_NUMBER),
    ("headache_years", "100", 100.0, None),
    ("headache_years", "101", math.nan, "must be between 0 and 100"),
    # coded values and their aliases
    ("headache_type", "Migraine", "migraine", None),
    ("headache_type", "TTH", "tension_type", None),
    ("headache_type", "Tension-type headache", "tension_type", None),
    ("headache_type", "migraine with aura", "migraine_with_aura", None),
    ("headache_type", "MwoA", "migraine", None),
    ("headache_type", "cervicogenic_headache", "cervicogenic", None),
    ("headache_type", "sinus", None, HEADACHE_TYPES),
    ("headache_type", "", None, None),
    ("sex", "F", "female", None),
    ("sex", "w", "female", None),
    ("sex", "Male", "male", None),
    ("sex", "Non-binary", "other", None),
    ("sex", "Q", None, "must be one of: female, male, other"),
    ("pressure", "Deep", "firm", None),
    ("pressure", "medium", "moderate", None),
    ("pressure", "LIGHT", "light", None),
    ("pressure", "hard", None, "must be one of: light, moderate, firm"),
    ("status", "no show", "no_show", None),
    ("status", "No-Show", "no_show", None),
    ("status", "DNA", "no_show", None),
    ("status", "Canceled", "cancelled", None),
    ("status", "Late cancel", "cancelled", None),
    ("status", "Checked out", "attended", None),
    ("status", "maybe", None, "must be one of: attended, no_show, cancelled, follow_up"),
    ("baseline_source", "Headache diary", "diary", None),
    ("baseline_source", "estimate", "recall", None),
    ("baseline_source", "guess", None, "must be one of: diary, recall"),
    # dates (ISO and month names only: numeric dates would decide this file's order)
    ("intake_date", "2024-02-29", pd.Timestamp("2024-02-29"), None),
    ("intake_date", "2024-03-14T10:30:00", pd.Timestamp("2024-03-14"), None),
    ("intake_date", "5 Mar 2024", pd.Timestamp("2024-03-05"), None),
    ("intake_date", "", pd.NaT, None),
    ("intake_date", "2025-02-30", pd.NaT, DATE),
    ("intake_date", "2025-02-29", pd.NaT, DATE),
    ("intake_date", "2025-13-01", pd.NaT, DATE),
    ("intake_date", "soon", pd.NaT, DATE),
    ("intake_date", "1899-12-31", pd.NaT, "is before 1900"),
    # technique labels and aliases: keys, ";"-joined, each once
    ("techniques", "NMT", "neuromuscular", None),
    ("techniques", "NMT; CST", "neuromuscular;craniosacral", None),
    ("techniques", "trigger point therapy, MFR", "trigger_point;myofascial_release", None),
    ("techniques", "Trigger-Point Therapy | cranio-sacral", "trigger_point;craniosacral", None),
    ("techniques", "Swedish + Stretch", "swedish;stretching", None),
    ("techniques", "deep tissue massage;DTM", "deep_tissue", None),
    ("techniques", "NMT;neuromuscular therapy;nmt", "neuromuscular", None),
    ("techniques", "NMT;;", "neuromuscular", None),
    ("techniques", "myofascial_release", "myofascial_release", None),
    # lists: any of ; , | + in, ";" out
    ("triggers", "stress, sleep | screens + wine;", "stress;sleep;screens;wine", None),
    ("triggers", "bright light", "bright light", None),
    ("self_care", "neck stretches; water", "neck stretches;water", None),
    # text, stored exactly as given (after trimming)
    ("notes", '=HYPERLINK("x")', '=HYPERLINK("x")', None),
    ("notes", "  padded  ", "padded", None),
    ("notes", "line 1\nline 2, with comma", "line 1\nline 2, with comma", None),
    ("notes", "<script>alert(1)</script>", "<script>alert(1)</script>", None),
    ("cancel_reason", "sick; kid", "sick; kid", None),
    ("client_name", "Zoë O'Brien-Łukasz", "Zoë O'Brien-Łukasz", None),
    ("series_id", "S-01", "S-01", None),
]
CELL_COLUMNS = list(
    dict.fromkeys(column for column, *_ in CELL_CASES if column not in SESSION_HEADER)
)


def cell_file() -> str:
    rows = [SESSION_HEADER + CELL_COLUMNS]
    for i, (column, cell, _, _) in enumerate(CELL_CASES):
        base = {
            "client_id": f"C{i}",
            "session_date": "2025-06-01",
            "therapist": "Ann",
            "techniques": "NMT",
        }
        rows.append(list((base | {c: "" for c in CELL_COLUMNS} | {column: cell}).values()))
    return to_csv(rows)


@pytest.fixture(scope="module")
def cells_parsed() -> ParsedFile:
    return parse(cell_file(), file="cells.csv")


@pytest.mark.parametrize(
    ("row", "column", "cell", "value", "message"),
    [(i + 2, *case) for i, case in enumerate(CELL_CASES)],
    ids=[f"{column}:{cell!r}" for column, cell, *_ in CELL_CASES],
)
def test_parse_file_types_and_checks_each_cell(
    cells_parsed: ParsedFile, row: int, column: str, cell: str, value: object, message: str | None
) -> None:
    frame = cells_parsed.intake if column in INTAKE_COLUMNS else cells_parsed.sessions
    assert frame is not None
    name = "series_code" if column == "series_id" else column
    typed = frame.set_index("row").loc[row, name]
    if pd.isna(value):
        assert pd.isna(typed)
    else:
        assert typed == value
    problems = cells_parsed.problems[cells_parsed.problems["row"] == row]
    expected = (
        []
        if message is None
        else [f"error: cells.csv row {row}, column {column}: {message} ({cell.strip()!r})"]
    )
    assert describe_problems(problems) == expected


def test_parse_file_types_whole_columns() -> None:
    parsed = parse(
        to_csv(
            [
                [*SESSION_HEADER, "intake_date", "hit6", "pressure", "notes", "triggers"],
                ["C1", "2025-01-10", "Ann", "NMT", "2025-01-02", "60", "Deep", " hi ", "a|b"],
                ["C2", "2025-01-11", "Bob", "CST+MFR", "", "", "", "", ""],
            ]
        )
    )
    intake = pd.DataFrame(
        {
            "file": pd.Series(["visits.csv", "visits.csv"], dtype="str"),
            "row": [2, 3],
            "client_id": pd.Series(["C1", "C2"], dtype="str"),
            "intake_date": pd.to_datetime(["2025-01-02", None]).astype("datetime64[ns]"),
            "triggers": pd.Series(["a;b", np.nan], dtype=object),
        }
    )
    sessions = pd.DataFrame(
        {
            "client_id": pd.Series(["C1", "C2"], dtype="str"),
            "session_date": pd.to_datetime(["2025-01-10", "2025-01-11"]).astype("datetime64[ns]"),
            "therapist": pd.Series(["Ann", "Bob"], dtype="str"),
            "techniques": pd.Series(
                ["neuromuscular", "craniosacral;myofascial_release"], dtype=object
            ),
            "intake_date": pd.to_datetime(["2025-01-02", None]).astype("datetime64[ns]"),
            "hit6": pd.array([60, None], dtype="Int64"),  # whole-number columns are Int64
            "pressure": pd.Series(["firm", None], dtype=object),
            "notes": pd.Series(["hi", np.nan], dtype="str"),
            "triggers": pd.Series(["a;b", np.nan], dtype=object),
            "row": [2, 3],
            "file": pd.Series(["visits.csv", "visits.csv"], dtype="str"),
        }
    )
    pd.testing.assert_frame_equal(parsed.intake, intake)
    assert parsed.sessions is not None
    pd.testing.assert_frame_equal(parsed.sessions, sessions)
    assert parsed.columns == (
        *SESSION_HEADER,
        "intake_date",
        "hit6",
        "pressure",
        "notes",
        "triggers",
    )
    assert parsed.new_techniques == {}
    assert lines(parsed) == []


# --- techniques -------------------------------------------------------------------------------


def test_parse_file_keeps_a_new_technique_with_a_notice() -> None:
    parsed = parse(
        to_csv(
            [
                SESSION_HEADER,
                ["C1", "2025-01-10", "Ann", "NMT"],
                ["C1", "2025-01-17", "Ann", "Hot Stones + NMT"],
                ["C1", "2025-01-24", "Ann", "hot stones"],
                ["C1", "2025-01-31", "Ann", "Cupping"],
            ]
        )
    )
    assert parsed.sessions is not None
    assert parsed.sessions["techniques"].tolist() == [
        "neuromuscular",
        "hot_stones;neuromuscular",
        "hot_stones",
        "cupping",
    ]
    assert parsed.new_techniques == {"hot_stones": "Hot Stones", "cupping": "Cupping"}
    assert lines(parsed) == [
        "notice: visits.csv row 3, column techniques: technique 'Hot Stones' is not in "
        "Headway's vocabulary; kept as a new technique 'hot_stones' ('Hot Stones')",
        "notice: visits.csv row 5, column techniques: technique 'Cupping' is not in "
        "Headway's vocabulary; kept as a new technique 'cupping' ('Cupping')",
    ]


def test_new_technique_notice_names_a_row_that_holds_it() -> None:
    # The row is found by substring search, so "Cupping" is reported at row 2, whose cell
    # holds only "Cupping therapy" (another new technique).
    parsed = parse(
        to_csv(
            [
                SESSION_HEADER,
                ["C1", "2025-01-10", "Ann", "Cupping therapy"],
                ["C1", "2025-01-17", "Ann", "Cupping"],
            ]
        )
    )
    rows = parsed.problems.set_index("value")["row"]
    assert rows.to_dict() == {"Cupping therapy": 2, "Cupping": 3}


def test_punctuation_only_technique_is_not_a_new_technique() -> None:
    # slugify("-") is "", which is recorded as a new technique with the empty key "" (and a
    # notice "kept as a new technique ''"); the writer would then store a nameless technique.
    parsed = parse(
        to_csv(
            [
                SESSION_HEADER,
                ["C1", "2025-01-10", "Ann", "NMT; -"],
                ["C1", "2025-01-11", "Ann", "NMT, ?"],
                ["C1", "2025-01-12", "Ann", "NMT + *"],
            ]
        )
    )
    assert parsed.new_techniques == {}
    assert lines(parsed) == []


def test_only_attended_sessions_need_a_technique() -> None:
    parsed = parse(
        to_csv(
            [
                [*SESSION_HEADER, "status"],
                ["C1", "2025-01-10", "Ann", "", ""],  # a blank status means attended
                ["C2", "2025-01-10", "Ann", "", "attended"],
                ["C3", "2025-01-10", "Ann", "", "cancelled"],
                ["C4", "2025-01-10", "Ann", "", "no show"],
                ["C5", "2025-01-10", "Ann", "", "maybe"],  # an unknown status is not an excuse
                ["C6", "2025-01-10", "Ann", "NMT", "attended"],
            ]
        )
    )
    need = "an attended session needs at least one technique"
    assert lines(parsed) == [
        f"error: visits.csv row 2, column techniques: {need}",
        f"error: visits.csv row 3, column techniques: {need}",
        "error: visits.csv row 6, column status: must be one of: attended, no_show, cancelled, "
        "follow_up ('maybe')",
        f"error: visits.csv row 6, column techniques: {need}",
    ]


def test_a_file_of_cancelled_sessions_without_techniques_is_future_proof() -> None:
    # _parse_techniques maps no cell at all, so raw.map({}) is float64 NaN and
    # .fillna("") warns: "In a future version, calling fillna with an incompatible value
    # will raise". Under pandas 4 such a file would crash the import.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parsed = parse(
            to_csv([[*SESSION_HEADER, "status"], ["C1", "2025-01-10", "Ann", "", "DNA"]])
        )
    assert [str(w.message) for w in caught if w.category is pd.errors.Pandas4Warning] == []
    assert lines(parsed) == []


def test_a_session_file_without_a_status_column_needs_techniques() -> None:
    parsed = parse(
        to_csv(
            [SESSION_HEADER, ["C1", "2025-01-10", "Ann", " "], ["C1", "2025-01-11", "Ann", "MFR"]]
        )
    )
    assert lines(parsed) == [
        "error: visits.csv row 2, column techniques: "
        "an attended session needs at least one technique",
    ]


# --- required columns and values --------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "row", "problems"),
    [
        (
            ["client_id", "session_date"],
            ["C1", "2025-01-10"],
            [
                "error: visits.csv row 1, column techniques: required column is missing",
                "error: visits.csv row 1, column therapist: required column is missing",
            ],
        ),
        (
            ["Date", "Practitioner", "Treatment"],
            ["2025-01-10", "Ann", "NMT"],
            [
                "error: visits.csv row 1, column client_id: required column is missing",
            ],
        ),
        # an intake-only file needs only the client
        (
            ["client_name", "intake_date"],
            ["Ann", "2025-01-10"],
            [
                "error: visits.csv row 1, column client_id: required column is missing",
            ],
        ),
        (
            ["Room", "Invoice"],
            ["3", "17"],
            [
                "error: visits.csv row 1, column client_id: required column is missing",
                "notice: visits.csv row 1, column Room, Invoice: 2 columns not used by Headway "
                "(ignored)",
            ],
        ),
    ],
    ids=["session-columns", "client-column", "intake-only", "nothing-known"],
)
def test_parse_file_reports_missing_required_columns(
    header: list[str], row: list[str], problems: list[str]
) -> None:
    assert lines(parse(to_csv([header, row]))) == problems


def test_parse_file_reports_blank_required_values() -> None:
    parsed = parse(
        to_csv(
            [
                ["Patient ID", "Date", "Practitioner", "Treatment"],
                ["", "2025-01-10", "Ann", "NMT"],
                ["C2", "", "Ann", "NMT"],
                ["C3", "2025-01-10", " ", "NMT"],
                ["C4", "2025-01-10", "Ann", "NMT"],
            ]
        )
    )
    assert lines(parsed) == [
        "error: visits.csv row 2, column Patient ID (client_id): a value is required",
        "error: visits.csv row 3, column Date (session_date): a value is required",
        "error: visits.csv row 4, column Practitioner (therapist): a value is required",
    ]


def test_an_intake_only_file_is_accepted() -> None:
    parsed = parse(
        to_csv(
            [
                ["Client ID", "Intake Date", "Diagnosis", "Year of birth"],
                ["C1", "2025-01-02", "TTH", "1980"],
                ["", "2025-01-03", "migraine", "1990"],
            ]
        ),
        file="intake.csv",
    )
    assert parsed.sessions is None
    assert parsed.columns == ("client_id", "intake_date", "headache_type", "birth_year")
    expected = pd.DataFrame(
        {
            "file": "intake.csv",
            "row": [2, 3],
            "client_id": pd.Series(["C1", np.nan], dtype="str"),
            "intake_date": pd.to_datetime(["2025-01-02", "2025-01-03"]).astype("datetime64[ns]"),
            "birth_year": pd.array([1980, 1990], dtype="Int64"),
            "headache_type": pd.Series(["tension_type", "migraine"], dtype=object),
        }
    )
    pd.testing.assert_frame_equal(parsed.intake, expected)
    assert lines(parsed) == [
        "error: intake.csv row 3, column Client ID: a value is required",
    ]


# --- dates across a file ----------------------------------------------------------------------


def test_a_session_before_the_intake_is_a_warning() -> None:
    text = to_csv(
        [
            [*SESSION_HEADER, "intake_date"],
            ["C1", "2025-01-02", "Ann", "NMT", "2025-01-05"],
            ["C1", "2025-01-05", "Ann", "NMT", "2025-01-05"],
        ]
    )
    batch = prepare_batch([("visits.csv", text.encode())])
    assert describe_problems(batch.problems) == [
        "warning: visits.csv row 2, column session_date: the session is before the client's "
        "intake date ('2025-01-02')",
    ]


@pytest.mark.parametrize(
    ("date_order", "dates"),
    [("dayfirst", ["2025-02-01", "2025-04-03"]), ("monthfirst", ["2025-01-02", "2025-03-04"])],
)
def test_an_explicit_date_order_reads_an_ambiguous_file(
    date_order: DateOrder, dates: list[str]
) -> None:
    parsed = parse(
        to_csv(
            [SESSION_HEADER, ["C1", "01/02/2025", "Ann", "NMT"], ["C1", "03/04/2025", "Ann", "NMT"]]
        ),
        date_order=date_order,
    )
    assert parsed.sessions is not None
    assert parsed.sessions["session_date"].dt.strftime("%Y-%m-%d").tolist() == dates
    assert lines(parsed) == []


def test_an_ambiguous_file_without_an_order_is_an_error() -> None:
    parsed = parse(
        to_csv(
            [
                ["Client ID", "Appointment Date", "Staff", "Service"],
                ["C1", "01/02/2025", "Ann", "NMT"],
                ["C1", "03/04/2025", "Ann", "NMT"],
            ]
        )
    )
    (problem,) = lines(parsed)
    assert problem == (
        "error: visits.csv, column Appointment Date (session_date): dates like '01/02/2025' "
        "read differently day-first and month-first; say which with --dayfirst or "
        "--monthfirst (or the date order choice)"
    )


def test_the_order_is_inferred_from_every_date_column() -> None:
    # The intake date 13/01 can only be day-first, so 01/02 is the 1st of February.
    parsed = parse(
        to_csv(
            [
                [*SESSION_HEADER, "intake_date"],
                ["C1", "01/02/2025", "Ann", "NMT", "13/01/2025"],
            ]
        )
    )
    assert parsed.sessions is not None
    assert parsed.sessions["session_date"].tolist() == [pd.Timestamp("2025-02-01")]
    assert parsed.intake["intake_date"].tolist() == [pd.Timestamp("2025-01-13")]
    assert lines(parsed) == []


def test_a_file_mixing_date_orders_is_an_error() -> None:
    parsed = parse(
        to_csv(
            [
                [*SESSION_HEADER, "intake_date"],
                ["C1", "01/13/2025", "Ann", "NMT", "13/01/2025"],
            ]
        )
    )
    assert lines(parsed) == [
        "error: visits.csv: the file mixes day-first dates ('13/01/2025') with month-first "
        "dates ('01/13/2025'); fix the export or choose the order",
        "error: visits.csv row 2, column session_date: is not a valid date "
        "(expected e.g. 2025-03-14) ('01/13/2025')",
    ]


def test_an_impossible_european_date_is_reported_at_its_row() -> None:
    parsed = parse(
        to_csv(
            [
                SESSION_HEADER,
                ["C1", "14/01/2025", "Ann", "NMT"],
                ["C1", "31/04/2025", "Ann", "NMT"],
                ["C1", "30.02.2025", "Ann", "NMT"],
            ]
        )
    )
    assert lines(parsed) == [
        "error: visits.csv row 3, column session_date: is not a valid date "
        "(expected e.g. 2025-03-14) ('31/04/2025')",
        "error: visits.csv row 4, column session_date: is not a valid date "
        "(expected e.g. 2025-03-14) ('30.02.2025')",
    ]


def test_a_date_column_left_blank_on_every_row_is_accepted() -> None:
    # parse_dates builds its lookup from no dates at all, and Series.map then fails with
    # "TypeError: Cannot cast DatetimeArray to dtype float64": the import crashes.
    text = to_csv([[*SESSION_HEADER, "intake_date"], ["C1", "2025-01-10", "Ann", "NMT", ""]])
    parsed = outcome(parse, text)
    assert not isinstance(parsed, Exception), repr(parsed)
    assert lines(parsed) == []


# --- size of a field, row numbers, all problems at once ---------------------------------------


def test_notes_are_kept_whole_up_to_their_own_limit_and_only_longer_ones_refused() -> None:
    assert config.MAX_NOTE_CHARS >= 100_000
    pages = "Clinical note, page after page. " * (config.MAX_NOTE_CHARS // 32)
    pages = pages[: config.MAX_NOTE_CHARS]  # far above the limit of every other field
    too_long = pages + "!"
    parsed = parse(
        to_csv(
            [
                [*SESSION_HEADER, "notes"],
                ["C1", "2025-01-10", "Ann", "NMT", pages],
                ["C1", "2025-01-11", "Ann", "NMT", too_long],
            ]
        )
    )
    assert lines(parsed) == [
        f"error: visits.csv row 3, column notes: the value is longer than "
        f"{config.MAX_NOTE_CHARS} characters (setting PRACTICE_MAX_NOTE_CHARS) "
        f"('{too_long[:60]}…')",
    ]
    assert parsed.problems["value"].tolist() == [too_long]  # the report keeps it whole
    assert parsed.sessions["notes"].tolist()[0] == pages.strip()  # stored whole


def test_a_field_limit_applies_to_every_column(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "MAX_FIELD_CHARS", 10)
    parsed = parse(to_csv([SESSION_HEADER, ["C1", "2025-01-10", "Annabel-Marie", "NMT"]]))
    assert lines(parsed) == [
        "error: visits.csv row 2, column therapist: the value is longer than 10 characters "
        "(setting PRACTICE_MAX_FIELD_CHARS) ('Annabel-Marie')",
    ]


def test_a_quoted_newline_still_counts_as_one_row() -> None:
    text = (
        "client_id,session_date,therapist,techniques,notes\r\n"
        'C1,2025-01-10,Ann,NMT,"first line\r\nsecond line\r\nthird line"\r\n'
        "C1,2025-01-11,Ann,NMT,\r\n"
        'C1,2025-01-12,Ann,NMT,"a, b"\r\n'
        "C1,2025-02-30,Ann,NMT,\r\n"
    )
    assert lines(parse(text)) == [
        "error: visits.csv row 5, column session_date: is not a valid date "
        "(expected e.g. 2025-03-14) ('2025-02-30')",
    ]


def test_row_numbers_count_blank_lines_as_a_spreadsheet_does() -> None:
    # A spreadsheet shows the blank line as row 3, so the bad date is on row 4;
    # read_csv(skip_blank_lines=True) drops it and every later row is reported one too low.
    text = (
        "client_id,session_date,therapist,techniques\nC1,2025-01-10,Ann,NMT\n\n"
        "C2,2025-02-30,Bob,CST\n"
    )
    assert lines(parse(text)) == [
        "error: visits.csv row 4, column session_date: is not a valid date "
        "(expected e.g. 2025-03-14) ('2025-02-30')",
    ]


def test_parse_file_reports_every_problem_at_once() -> None:
    parsed = parse(
        to_csv(
            [
                [
                    "Client ID",
                    "Date",
                    "Practitioner",
                    "Treatment",
                    "Pain before",
                    "HIT-6",
                    "Status",
                    "Gender",
                    "Room",
                    "Intake",
                ],
                ["C1", "2025-01-10", "Ann", "NMT", "11", "60.5", "maybe", "F", "3", "2025-01-12"],
                ["", "2025-02-30", "", "", "abc", "80", "", "Q", "4", ""],
                ["C3", "2025-01-10", "Bob", "Hot stones", "6,5", "60", "no show", "", "", ""],
            ]
        )
    )
    assert lines(parsed) == [
        "error: visits.csv row 2, column HIT-6 (hit6): must be a whole number ('60.5')",
        "error: visits.csv row 2, column Pain before (pain_pre): must be between 0 and 10 ('11')",
        "error: visits.csv row 2, column Status: must be one of: attended, no_show, cancelled, "
        "follow_up ('maybe')",
        "error: visits.csv row 3, column Client ID: a value is required",
        "error: visits.csv row 3, column Date (session_date): is not a valid date "
        "(expected e.g. 2025-03-14) ('2025-02-30')",
        "error: visits.csv row 3, column Gender (sex): must be one of: female, male, other ('Q')",
        "error: visits.csv row 3, column HIT-6 (hit6): must be between 36 and 78 ('80')",
        "error: visits.csv row 3, column Pain before (pain_pre): is not a number ('abc')",
        "error: visits.csv row 3, column Practitioner (therapist): a value is required",
        "error: visits.csv row 3, column Treatment (techniques): an attended session needs "
        "at least one technique",
        # (the session-before-intake warning is a batch rule: see test_batch.py)
        "notice: visits.csv row 1, column Room: column not used by Headway (ignored)",
        "notice: visits.csv row 4, column Treatment (techniques): technique 'Hot stones' is "
        "not in Headway's vocabulary; kept as a new technique 'hot_stones' ('Hot stones')",
    ]
    assert parsed.problems.columns.tolist() == [
        "file",
        "row",
        "column",
        "severity",
        "message",
        "value",
    ]


# --- properties -------------------------------------------------------------------------------

SCORES = st.decimals(min_value=0, max_value=10, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=8, deadline=None)
@given(
    scores=st.lists(SCORES, min_size=1, max_size=40),
    decimal_comma=st.lists(st.booleans(), min_size=40, max_size=40),
)
def test_any_number_from_0_to_10_parses_to_itself(
    scores: list[Decimal], decimal_comma: list[bool]
) -> None:
    cells = [
        str(s).replace(".", ",") if comma else str(s)
        for s, comma in zip(scores, decimal_comma, strict=False)
    ]
    parsed = parse(
        to_csv([["client_id", "baseline_pain"], *[[f"C{i}", c] for i, c in enumerate(cells)]])
    )
    assert parsed.intake["baseline_pain"].tolist() == [float(s) for s in scores]
    assert lines(parsed) == []
