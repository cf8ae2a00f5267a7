"""Downloads: formulas neutralised as OWASP recommends, charts rendered to PNG."""

from __future__ import annotations

import altair as alt
import pandas as pd
import pytest

from practice.exports import chart_png, neutralise_formulas, table_csv


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Ann Lee", "Ann Lee"),
        ("", ""),
    ],
)
def test_text_cells_that_start_a_formula_are_prefixed(cell: str, expected: str) -> None:
    frame = pd.DataFrame({"notes": [cell]})
    assert neutralise_formulas(frame)["notes"].tolist() == [expected]


def test_numbers_and_missing_values_are_left_alone_and_input_is_not_mutated() -> None:
    frame = pd.DataFrame({"change": [-4.5, 2.0], "name": ["=1", None]})
    safe = neutralise_formulas(frame)
    assert safe["change"].tolist() == [-4.5, 2.0]
    assert safe["name"].tolist()[0] == "'=1"
    assert pd.isna(safe["name"].tolist()[1])
    assert frame["name"].tolist()[0] == "=1"


def test_table_csv_has_a_bom_and_defused_cells() -> None:
    data = table_csv(pd.DataFrame({"client": ["=cmd"], "n": [3]}))
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig").splitlines() == ["client,n", "'=cmd,3"]


def test_chart_png_renders_without_a_browser() -> None:
    chart = alt.Chart(pd.DataFrame({"x": [1, 2], "y": [3, 4]})).mark_line().encode(x="x:Q", y="y:Q")
    assert chart_png(chart).startswith(b"\x89PNG\r\n\x1a\n")
