"""Downloads: formulas neutralised as OWASP recommends, charts rendered to PNG."""

from __future__ import annotations

import altair as alt
import pandas as pd
import pytest

from practice.charts import client as charts
from practice.exports import (
    chart_png,
    chart_spec,
    chart_title,
    decimals,
    neutralise_formulas,
    readable_header,
    spreadsheet_frame,
    table_csv,
)
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


def test_table_csv_has_a_bom_readable_headers_and_defused_cells() -> None:
    data = table_csv(pd.DataFrame({"client": ["=cmd"], "n_clients": [3]}))
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig").splitlines() == ["Client,Clients", "'=cmd,3"]


@pytest.mark.parametrize("cell", ["-4.6", "+2", "-0.5", "1e-3", "-7"])
def test_a_text_cell_that_is_only_a_number_stays_a_number(cell: str) -> None:
    assert neutralise_formulas(pd.DataFrame({"change": [cell]}))["change"].tolist() == [cell]


@pytest.mark.parametrize(
    ("column", "header"),
    [
        ("client_id", "Client"),
        ("pct_change", "Change (%)"),
        ("change_ci_low", "Change 95 % CI low"),
        ("responder_rate_ci_high", "Responder rate 95 % CI high"),
        ("hd28_baseline", "Headache days per 28 days baseline"),
        ("baseline_sd", "Baseline SD"),
        ("adjusted_p_value", "Adjusted p value"),
        ("responders", "Responders"),
        ("Pain before", "Pain before"),
        ("HIT-6", "HIT-6"),
    ],
)
def test_readable_header(column: str, header: str) -> None:
    assert readable_header(column) == header


@pytest.mark.parametrize(
    ("column", "places"),
    [
        ("adjusted_p_value", 4),
        ("responder_rate", 3),
        ("responder_rate_ci_low", 3),
        ("survival_ci_high", 3),
        ("cumulative_response", 3),
        ("pct_change", 1),
        ("Pain change (%)", 2),
        ("change_mean", 2),
    ],
)
def test_decimals(column: str, places: int) -> None:
    assert decimals(column) == places


def test_spreadsheet_frame_writes_numbers_dates_and_flags_as_a_spreadsheet_reads_them() -> None:
    frame = pd.DataFrame(
        {
            "change": [-4.56789, 2.0],
            "pct_change": [-71.428571, float("nan")],
            "time": [0.0, 2.0],
            "small_n": [True, False],
            "label": ["\u22124.6 [\u22126.1 to \u22123.0]", "\u2013"],
            "session_date": pd.to_datetime(["2026-05-18", "2026-05-25"]),
            "at": pd.to_datetime(["2026-12-02 11:21:55.123", "2026-12-02 12:00:00.000"], utc=True),
            "mixed": [0.123456, "text"],
        }
    )
    out = spreadsheet_frame(frame)
    assert list(out.columns) == [
        "Change",
        "Change (%)",
        "Time",
        "Small group",
        "Label",
        "Session date",
        "When (UTC)",
        "Mixed",
    ]
    assert out["Change"].tolist() == [-4.57, 2.0]
    assert out["Change (%)"].tolist()[0] == -71.4
    assert out["Time"].tolist() == [0, 2]
    assert out["Small group"].tolist() == ["yes", "no"]
    assert out["Label"].iloc[0] == "-4.6 [-6.1 to -3.0]"
    assert pd.isna(out["Label"].iloc[1])
    assert out["Session date"].tolist() == ["2026-05-18", "2026-05-25"]
    assert out["When (UTC)"].tolist() == ["2026-12-02 11:21:55", "2026-12-02 12:00:00"]
    assert out["Mixed"].tolist() == [0.12, "text"]
    assert frame["label"].iloc[0].startswith("\u2212")  # the input is left as it was


def test_table_csv_headers_given_by_the_page_win() -> None:
    data = table_csv(pd.DataFrame({"value": [6.5]}), headers={"value": "At intake"})
    assert data.decode("utf-8-sig").splitlines() == ["At intake", "6.5"]


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
