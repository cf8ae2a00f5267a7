"""Dates in exports: one order per file (practice/importing/dates.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from practice.importing.dates import (
    AmbiguousDateOrder,
    DateOrder,
    MixedDateOrder,
    infer_date_order,
    parse_dates,
)

T = TypeVar("T")


def text(*values: str) -> pd.Series:
    """A column as read_table returns it: text cells, "" for blank."""
    return pd.Series(list(values), dtype="str")


def outcome(function: Callable[..., T], *args: Any) -> T | Exception:
    """`function(*args)`, or the exception it raised.

    A known crash (an xfail test) then fails on a plain assertion in the test, instead of a
    traceback through pandas that pytest would spend a second formatting.
    """
    try:
        return function(*args)
    except Exception as exc:
        return exc


# --- infer_date_order -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("columns", "order"),
    [
        ({"session_date": ["2025-03-14", "2025-01-02", ""]}, None),
        ({"session_date": ["14/03/2025"]}, "dayfirst"),
        ({"session_date": ["03/14/2025"]}, "monthfirst"),
        ({"session_date": ["14.03.2025"]}, "dayfirst"),
        ({"session_date": ["14-03-2025"]}, "dayfirst"),
        ({"session_date": ["14.03.25 10:00"]}, "dayfirst"),
        ({"session_date": ["12/31/24"]}, "monthfirst"),
        ({"session_date": ["3/14/2025 9:30 AM"]}, "monthfirst"),
        # a day equal to the month reads the same either way
        ({"session_date": ["05/05/2025", "2025-01-02"]}, None),
        # one decisive date settles the ambiguous ones
        ({"session_date": ["01/02/2025", "03/04/2025", "13/02/2025"]}, "dayfirst"),
        ({"session_date": ["01/02/2025", "03/04/2025", "02/13/2025"]}, "monthfirst"),
        # ... even when it is in another date column of the file
        ({"intake_date": ["13/01/2025"], "session_date": ["01/02/2025"]}, "dayfirst"),
        ({"intake_date": ["01/02/2025"], "session_date": ["1/31/2025"]}, "monthfirst"),
        # month names are unambiguous and do not take part
        ({"session_date": ["5 Mar 2025", "March 14, 2025"]}, None),
        ({"session_date": ["", ""]}, None),
        ({"session_date": []}, None),
        ({}, None),
    ],
)
def test_infer_date_order(columns: dict[str, list[str]], order: DateOrder | None) -> None:
    assert infer_date_order({name: text(*values) for name, values in columns.items()}) == order


@pytest.mark.parametrize(
    ("columns", "example", "column"),
    [
        (
            {"session_date": ["2025-01-01", "01/02/2025", "03/04/2025"]},
            "01/02/2025",
            "session_date",
        ),
        ({"session_date": ["1/2/25"]}, "1/2/25", "session_date"),
        (
            {"intake_date": ["05/06/2025"], "session_date": ["01/02/2025"]},
            "05/06/2025",
            "intake_date",
        ),
        (
            {"intake_date": ["2025-01-01"], "session_date": ["05/05/2025", "07/08/2025"]},
            "07/08/2025",
            "session_date",
        ),
    ],
)
def test_infer_date_order_raises_when_the_file_cannot_decide(
    columns: dict[str, list[str]], example: str, column: str
) -> None:
    with pytest.raises(AmbiguousDateOrder) as caught:
        infer_date_order({name: text(*values) for name, values in columns.items()})
    assert (caught.value.example, caught.value.column, str(caught.value)) == (
        example,
        column,
        example,
    )


@pytest.mark.parametrize(
    "columns",
    [
        {"session_date": ["13/01/2025", "01/13/2025"]},
        {"intake_date": ["13/01/2025"], "session_date": ["01/13/2025"]},
        {"intake_date": ["01/02/2025", "13/01/2025"], "session_date": ["2/2/25", "01/13/2025"]},
    ],
)
def test_infer_date_order_raises_when_the_file_mixes_orders(columns: dict[str, list[str]]) -> None:
    with pytest.raises(MixedDateOrder) as caught:
        infer_date_order({name: text(*values) for name, values in columns.items()})
    assert (caught.value.dayfirst_example, caught.value.monthfirst_example) == (
        "13/01/2025",
        "01/13/2025",
    )
    assert str(caught.value) == "13/01/2025 / 01/13/2025"


def test_infer_date_order_ignores_a_date_impossible_in_either_order() -> None:
    # "13/13/2025" has a first part > 12 and a second part > 12, so it is taken as proof of
    # day-first *and* of month-first, and the whole file is refused as mixing orders,
    # instead of the one impossible date being reported at its row.
    columns = {"session_date": text("13/13/2025", "14/01/2025")}
    assert infer_date_order(columns) == "dayfirst"


# --- parse_dates ------------------------------------------------------------------------------

CASES = [
    # text, dayfirst, monthfirst
    ("2025-03-14", "2025-03-14", "2025-03-14"),
    ("2025/3/4", "2025-03-04", "2025-03-04"),
    ("2025.03.04", "2025-03-04", "2025-03-04"),
    ("2025-03-14T10:30:00", "2025-03-14", "2025-03-14"),
    ("2025-03-14 10:30", "2025-03-14", "2025-03-14"),
    ("14/03/2025", "2025-03-14", None),
    ("03/14/2025", None, "2025-03-14"),
    ("04/03/2025", "2025-03-04", "2025-04-03"),
    ("4.3.2025", "2025-03-04", "2025-04-03"),
    ("14-03-2025 10:00", "2025-03-14", None),
    ("14.3.25", "2025-03-14", None),
    ("3/14/25 9:30 AM", None, "2025-03-14"),
    ("5 Mar 2025", "2025-03-05", "2025-03-05"),
    ("March 5, 2025", "2025-03-05", "2025-03-05"),
    ("Wed, 5 March 2025", "2025-03-05", "2025-03-05"),
    ("29/02/2024", "2024-02-29", None),
    ("01/01/1899", "1899-01-01", "1899-01-01"),  # validation, not parsing, refuses it
    # impossible or not a date at all
    ("2025-02-30", None, None),
    ("2025-13-01", None, None),
    ("2025-02-29", None, None),
    ("29/02/2025", None, None),
    ("31/04/2025", None, None),
    ("32/01/2025", None, None),
    ("00/01/2025", None, None),
    ("1/2/3", None, None),
    ("garbage", None, None),
    ("tomorrow", None, None),
    ("14032025", None, None),
    ("Foo 2025", None, None),
]


@pytest.fixture(scope="module")
def parsed_cases() -> dict[DateOrder, pd.Series]:
    """Every case parsed once per order (each call has a fixed cost of a few milliseconds)."""
    values = text(*(value for value, _, _ in CASES))
    return {order: parse_dates(values, order) for order in ("dayfirst", "monthfirst")}


@pytest.mark.parametrize(
    ("index", "order", "expected"),
    [pytest.param(i, "dayfirst", d, id=f"dayfirst:{v}") for i, (v, d, _) in enumerate(CASES)]
    + [pytest.param(i, "monthfirst", m, id=f"monthfirst:{v}") for i, (v, _, m) in enumerate(CASES)],
)
def test_parse_dates(
    parsed_cases: dict[DateOrder, pd.Series], index: int, order: DateOrder, expected: str | None
) -> None:
    parsed = parsed_cases[order]
    assert parsed.dtype == "datetime64[ns]"
    if expected is None:
        assert pd.isna(parsed.iloc[index])
    else:
        assert parsed.iloc[index] == pd.Timestamp(expected)


def test_parse_dates_without_an_order_reads_day_first() -> None:
    # Only reached when the file decided nothing: every numeric date reads the same both ways.
    values = text("05/05/2025", "2025-01-02", "14/03/2025")
    expected = pd.Series(
        pd.to_datetime(["2025-05-05", "2025-01-02", "2025-03-14"]), dtype="datetime64[ns]"
    )
    pd.testing.assert_series_equal(parse_dates(values, None), expected)


def test_parse_dates_keeps_the_index_and_repeats() -> None:
    values = pd.Series(["14/03/2025", "x", "14/03/2025", ""], index=[10, 11, 12, 13], dtype="str")
    expected = pd.Series(
        [pd.Timestamp("2025-03-14"), pd.NaT, pd.Timestamp("2025-03-14"), pd.NaT],
        index=[10, 11, 12, 13],
        dtype="datetime64[ns]",
    )
    pd.testing.assert_series_equal(parse_dates(values, "dayfirst"), expected)


@pytest.mark.parametrize("values", [["", ""], [""], []], ids=["two-blank", "one-blank", "empty"])
def test_parse_dates_of_a_blank_column_is_all_nat(values: list[str]) -> None:
    parsed = outcome(parse_dates, text(*values), "dayfirst")
    assert not isinstance(parsed, Exception), repr(parsed)
    assert parsed.dtype == "datetime64[ns]"
    assert parsed.isna().all()
    assert len(parsed) == len(values)


# --- properties -------------------------------------------------------------------------------

FORMATS = {
    "dayfirst": ["%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%y", "%Y-%m-%d"],
    "monthfirst": ["%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y", "%Y-%m-%d", "%Y/%m/%d"],
}
# Two-digit years up to next year read as 20xx, later ones as 19xx (birth years).
DATES = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(dt.date.today().year + 1, 12, 31))


@settings(max_examples=20, deadline=None)
@given(
    order=st.sampled_from(["dayfirst", "monthfirst"]),
    data=st.data(),
)
def test_any_date_written_in_the_files_order_parses_back(
    order: DateOrder, data: st.DataObject
) -> None:
    dates = data.draw(st.lists(DATES, min_size=1, max_size=20))
    formats = data.draw(
        st.lists(st.sampled_from(FORMATS[order]), min_size=len(dates), max_size=len(dates))
    )
    values = text(*(d.strftime(f) for d, f in zip(dates, formats, strict=True)))
    expected = pd.Series(pd.to_datetime(dates), dtype="datetime64[ns]")
    pd.testing.assert_series_equal(parse_dates(values, order), expected)


@settings(max_examples=20, deadline=None)
@given(dates=st.lists(DATES, min_size=1, max_size=20))
def test_day_first_dates_are_never_inferred_month_first(dates: list[dt.date]) -> None:
    values = text(*(d.strftime("%d/%m/%Y") for d in dates))
    try:
        order = infer_date_order({"session_date": values})
    except AmbiguousDateOrder as exc:
        assert exc.column == "session_date"
        return
    assert order in ("dayfirst", None)
    if order is None:  # nothing to decide: every date reads the same both ways
        assert all(d.day == d.month or d.day > 12 for d in dates)
