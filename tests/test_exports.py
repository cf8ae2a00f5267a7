"""Downloads: formulas neutralised as OWASP recommends, charts rendered to PNG."""

from __future__ import annotations

import altair as alt
import pandas as pd
import pytest

from practice.charts import client as charts
from practice.exports import chart_png, chart_spec, chart_title, neutralise_formulas, table_csv
from tests.altair_globals import foreign_settings, foreign_settings_on_another_thread


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


def client_charts() -> list[alt.TopLevelMixin]:
    """The four charts of Client progress (a layer, a layer of layers, a facet, a plain chart)."""
    dates = pd.to_datetime(["2026-01-05", "2026-01-12", "2026-01-19"])
    pain = pd.DataFrame(
        {
            "session_date": dates.repeat(2),
            "session_number": [1, 1, 2, 2, 3, 3],
            "when": ["Before session", "After session"] * 3,
            "pain": [6.5, 4.0, 5.5, 3.0, 4.5, 2.5],
        }
    )
    days = pd.DataFrame(
        {
            "session_date": dates,
            "session_number": [1, 2, 3],
            "days_per_28": [12.0, 8.0, 4.0],
            "source": ["weekly count x 4"] * 3,
        }
    )
    wellbeing = pd.DataFrame(
        {
            "session_date": dates,
            "session_number": [1, 2, 3],
            "measure": ["Stress (0-10)"] * 3,
            "value": [7.0, 6.0, 4.0],
            "baseline": [7.0] * 3,
        }
    )
    used = pd.DataFrame(
        {
            "session_date": dates,
            "session_number": [1, 2, 3],
            "technique": ["swedish"] * 3,
            "technique_label": ["Swedish massage"] * 3,
        }
    )
    return [
        charts.pain_chart(pain, baseline=6.5),
        charts.headache_days_chart(days, baseline=12.0),
        charts.wellbeing_chart(wellbeing),
        charts.techniques_chart(used),
    ]


@pytest.mark.parametrize("index", range(4))
def test_chart_spec_is_altairs_own_spec_under_default_settings(index: int) -> None:
    chart = client_charts()[index]
    assert chart_spec(chart) == chart.to_dict()


@pytest.mark.parametrize("index", range(4))
def test_chart_spec_ignores_the_data_transformer_and_theme_enabled_elsewhere(index: int) -> None:
    chart = client_charts()[index]
    expected = chart.to_dict()
    with foreign_settings():
        assert chart.to_dict() != expected  # the settings do change what Altair itself writes
        assert chart_spec(chart) == expected


def test_chart_spec_leaves_the_chart_it_is_given_unchanged() -> None:
    chart = client_charts()[0]
    before = chart.to_dict()
    chart_spec(chart)
    assert chart.to_dict() == before
    assert isinstance(chart.layer[-1].data, pd.DataFrame)


def test_chart_png_is_the_same_while_another_thread_has_switched_altairs_settings() -> None:
    chart = client_charts()[0]
    expected = chart_png(chart)
    with foreign_settings_on_another_thread():
        assert chart_png(chart) == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        (alt.TitleParams("Pain", subtitle="sub"), "Pain"),
        (alt.TitleParams(["Two", "lines"]), "Two"),
        ("Plain", "Plain"),
        (None, "untitled"),
    ],
)
def test_chart_title(title: object, expected: str) -> None:
    chart = alt.Chart(pd.DataFrame({"x": [1]})).mark_point().encode(x="x:Q")
    if title is not None:
        chart = chart.properties(title=title)
    assert chart_title(chart) == expected
