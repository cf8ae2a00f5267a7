"""Charts people can read: the monthly charts (thin and part months, per-month n, month
labels), subtitles that are wrapped rather than cut, client date ticks that name the month,
and funnel names kept off the practice line. Tested through `to_dict()`, never pixels."""

from __future__ import annotations

import datetime as dt
from typing import Any

import altair as alt
import pandas as pd
import pytest

from practice import config, overview
from practice.charts import client as client_charts
from practice.charts import groups as group_charts
from practice.charts import overview as charts
from practice.charts.style import HALF_WIDTH_LINE_CHARS, SUBTITLE_LINE_CHARS, titled
from practice.filters import Filters, filter_sessions
from tests.test_charts_groups import funnel_limits, funnel_points


def spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    return chart.to_dict()


def layer_rows(chart_spec: dict[str, Any], layer: dict[str, Any] | None = None) -> pd.DataFrame:
    name = (layer or chart_spec)["data"]["name"]
    return pd.DataFrame(chart_spec["datasets"][name])


def month_sessions(counts: dict[str, int], *, pain: float = 5.0) -> pd.DataFrame:
    """`counts[month]` attended sessions on days 1..n of each month ("2026-07")."""
    rows = [
        {
            "client_id": f"C{day}",
            "session_date": pd.Timestamp(f"{month}-{day:02d}"),
            "status": "attended",
            "therapist": "Jo",
            "techniques": "swedish",
            "pain_pre": pain,
            "headache_days_7d": 2.0,
        }
        for month, n in counts.items()
        for day in range(1, n + 1)
    ]
    frame = pd.DataFrame(rows)
    for column in ("pain_post", "headache_days_28d", "medication_days_7d", "hit6", "midas"):
        frame[column] = float("nan")
    for column in ("stress", "sleep_quality"):
        frame[column] = float("nan")
    return frame


def test_a_month_with_one_session_is_left_out_of_the_means_and_named() -> None:
    sessions = month_sessions({"2026-07": 20, "2026-08": 25})
    last = month_sessions({"2026-09": 1}, pain=0.0)  # one client at 0: the "plunge to 0"
    trend = overview.monthly_trend(pd.concat([sessions, last], ignore_index=True))
    assert trend["pain_pre_enough"].tolist() == [True, True, False]
    chart_spec = spec(charts.monthly_outcomes_chart(trend))
    data = layer_rows(chart_spec)
    assert "Sep 2026" not in set(data["month_label"])
    assert data["mean"].min() == 5.0
    subtitle = " ".join(chart_spec["title"]["subtitle"])
    assert "Left out: Sep 2026" in subtitle
    assert f"fewer than {config.MONTHLY_MIN_SCORES}" in subtitle


def test_each_month_shows_its_n() -> None:
    trend = overview.monthly_trend(month_sessions({"2026-07": 12, "2026-08": 15}))
    chart_spec = spec(charts.monthly_outcomes_chart(trend))
    marks = {layer["mark"]["type"]: layer for layer in chart_spec["spec"]["layer"]}
    assert marks["text"]["encoding"]["text"]["field"] == "n"
    data = layer_rows(chart_spec)
    assert sorted(data["n"].unique().tolist()) == [12, 15]
    sessions_spec = spec(charts.monthly_sessions_chart(trend))
    # Only the width is fitted: the bars keep their 220 px however tall the labels are.
    assert sessions_spec["autosize"] == {"type": "fit-x", "contains": "padding"}
    _bars, counts = sessions_spec["layer"]
    assert counts["mark"]["type"] == "text"
    assert counts["encoding"]["text"]["field"] == "sessions"


def test_the_threshold_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "MONTHLY_MIN_SCORES", 1)
    trend = overview.monthly_trend(month_sessions({"2026-07": 20, "2026-09": 1}))
    assert trend["pain_pre_enough"].all()


def test_sessions_per_month_end_with_the_date_filter_and_name_each_month() -> None:
    sessions = month_sessions({"2026-01": 3, "2026-06": 30, "2026-07": 5})
    clients = pd.DataFrame({"client_id": sessions["client_id"].unique(), "headache_type": "other"})
    period = Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 6, 30))
    trend = overview.monthly_trend(
        filter_sessions(sessions, clients, period), start=period.start, end=period.end
    )
    chart_spec = spec(charts.monthly_sessions_chart(trend))
    bars = chart_spec["layer"][0]
    x = bars["encoding"]["x"]
    # One band per month, labelled with its own name: no July tick at the end of June's bar.
    assert x["type"] == "ordinal" and x["sort"] == ["Jan 2026", "Jun 2026"]
    data = layer_rows(chart_spec)
    assert data["month_label"].tolist() == ["Jan 2026", "Jun 2026"]
    assert data["month_kind"].tolist() == [charts.WHOLE_MONTH, charts.WHOLE_MONTH]


def test_a_part_month_is_greyed_not_shown_as_a_drop() -> None:
    trend = overview.monthly_trend(month_sessions({"2026-07": 30, "2026-08": 31, "2026-09": 1}))
    # The data run from 1 July to 1 September: September is covered for one day only.
    assert trend["complete"].tolist() == [True, True, False]
    data = layer_rows(spec(charts.monthly_sessions_chart(trend)))
    assert data["month_kind"].tolist()[-1] == charts.PART_MONTH


def test_long_subtitles_are_wrapped_into_lines_not_cut() -> None:
    long = "A sentence that explains a chart in plain words, " * 4
    title = spec(titled(alt.Chart(pd.DataFrame({"x": [1]})).mark_point(), "T", long))["title"]
    assert isinstance(title["subtitle"], list) and len(title["subtitle"]) > 1
    assert all(len(line) <= SUBTITLE_LINE_CHARS for line in title["subtitle"])
    assert " ".join(title["subtitle"]) == long.strip()
    trend = overview.monthly_trend(month_sessions({"2026-07": 20}))
    # The Overview's half-width pair (one of them a fixed-width faceted chart): shorter lines.
    for chart in (charts.monthly_outcomes_chart(trend), charts.monthly_sessions_chart(trend)):
        lines = spec(chart)["title"]["subtitle"]
        assert all(len(line) <= HALF_WIDTH_LINE_CHARS for line in lines)


def test_client_chart_date_ticks_name_the_month() -> None:
    axis = client_charts.DATE_AXIS.to_dict()
    assert "%b" in axis["format"]


def test_funnel_names_stay_off_the_practice_line() -> None:
    chart_spec = spec(
        group_charts.funnel_chart(
            funnel_points(), funnel_limits(), value_title="Responder rate", percent=True
        )
    )
    above, below = chart_spec["layer"][3], chart_spec["layer"][4]
    assert (above["mark"]["type"], below["mark"]["type"]) == ("text", "text")
    # On or above the line: the name sits above the dot; under the line: below it.
    assert above["mark"]["dy"] < 0 and above["mark"]["baseline"] == "bottom"
    assert below["mark"]["dy"] > 0 and below["mark"]["baseline"] == "top"
    assert above["transform"] == [{"filter": "datum.value >= datum.target"}]
    assert below["transform"] == [{"filter": "!(datum.value >= datum.target)"}]
