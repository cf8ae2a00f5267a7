"""The diary calendar: one cell a day coloured by severity, sessions marked (via to_dict)."""

from __future__ import annotations

import pandas as pd

from practice.analysis.diary import CALENDAR_LEVELS, calendar_days
from practice.charts.diary import CALENDAR_COLORS, diary_calendar_chart

DIARY = pd.DataFrame(
    {
        "client_id": ["A"] * 5,
        "diary_date": pd.to_datetime(
            ["2025-01-30", "2025-01-31", "2025-02-02", "2025-02-03", "2025-02-04"]
        ),
        "headache": [True, False, True, True, True],
        "severity": [3.0, 0.0, None, None, 1.0],
        "pain": [None, None, 8.0, None, None],
        "medication": [2.0, 0.0, 1.0, 0.0, 0.0],
        "notes": ["bad night", None, None, None, None],
    }
)
SESSIONS = pd.Series(pd.to_datetime(["2025-02-01", "2025-02-04"]))


def test_calendar_days_has_one_row_a_day_with_its_level_and_sessions() -> None:
    days = calendar_days(DIARY, SESSIONS)
    assert days["date"].dt.strftime("%m-%d").tolist() == [
        "01-30",
        "01-31",
        "02-01",
        "02-02",
        "02-03",
        "02-04",
    ]
    assert days["level"].tolist() == [
        "severe",
        "no headache",
        "not logged",  # a session day without a diary entry
        "severe",  # pain 8 of 10 (7-10 is severe)
        "headache (severity not given)",
        "mild",
    ]
    assert days["session"].tolist() == [False, False, True, False, False, True]
    assert days["day"].tolist() == [30, 31, 1, 2, 3, 4]
    assert days["month"].dt.strftime("%Y-%m").tolist() == ["2025-01"] * 2 + ["2025-02"] * 4


def test_the_calendar_chart_is_a_rect_per_day_coloured_by_severity_with_session_dots() -> None:
    spec = diary_calendar_chart(calendar_days(DIARY, SESSIONS)).to_dict()
    cells, dots = spec["layer"]
    assert cells["mark"]["type"] == "rect"
    assert cells["encoding"]["x"]["field"] == "day"
    assert cells["encoding"]["y"]["field"] == "month_label"
    assert cells["encoding"]["y"]["sort"] == ["Jan 2025", "Feb 2025"]
    color = cells["encoding"]["color"]
    assert (color["field"], color["type"]) == ("level", "nominal")
    assert color["scale"] == {"domain": list(CALENDAR_LEVELS), "range": list(CALENDAR_COLORS)}
    assert dots["mark"]["type"] == "point"
    datasets = spec["datasets"]
    rows = {len(v): v for v in datasets.values()}
    assert sorted(rows) == [2, 6]  # six days, two of them sessions
    assert [r["date_text"] for r in rows[2]] == ["Sat 1 Feb 2025", "Tue 4 Feb 2025"]
    assert spec["title"]["text"] == "Headache diary"
    assert spec["height"] == 2 * 22
    # Streamlit squeezes title and legend into `height` unless only the width is fitted.
    assert spec["autosize"] == {"type": "fit-x", "contains": "padding"}
