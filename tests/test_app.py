"""The Overview page (the home page app.py routes to), run headless with AppTest on the seeded
sample practice; the sidebar filters app.py draws once and keeps across page changes."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest

from practice import analysis, overview
from practice.bootstrap import open_database
from practice.charts import overview as charts
from practice.formatting import estimate_text
from practice.queries import fetch_clients, fetch_sessions

ROOT = Path(__file__).resolve().parent.parent


def run_page(path: str) -> AppTest:
    return AppTest.from_file(str(ROOT / path), default_timeout=60).run()


def chart_spec_and_data(at: AppTest, index: int) -> tuple[dict, pd.DataFrame]:
    element = at.get("vega_lite_chart")[index]
    spec = json.loads(element.proto.spec)
    data = dataframe_util.convert_arrow_bytes_to_pandas_df(element.proto.datasets[0].data.data)
    return spec, data


@pytest.fixture
def sample_frames(seeded_db_env: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    engine = open_database(seeded_db_env)
    with engine.connect() as conn:
        clients, sessions = fetch_clients(conn), fetch_sessions(conn)
    return clients, sessions, analysis.compute_client_outcomes(clients, sessions)


def test_overview_cards_match_the_analysis_of_the_sample(sample_frames) -> None:
    _, sessions, outcomes = sample_frames
    at = run_page("app.py")
    assert not at.exception
    expected = overview.compute_headlines(outcomes, sessions)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Active clients"] == f"{expected.active_clients:,}"
    assert metrics["Sessions in the last 30 days"] == f"{expected.recent_sessions:,}"
    assert metrics["Headache-day responders"] == estimate_text(
        expected.hd28_responder_rate, percent=True
    )
    assert metrics["Median change in headache days"] == estimate_text(
        expected.hd28_median_change, signed=True, unit=" days"
    )
    assert "synthetic sample practice" in at.sidebar.info[0].value
    assert any(f"n = {expected.hd28_responder_rate.n:,}" in c.value for c in at.caption)


def test_a_rerun_replays_the_charts_without_building_them_again(
    sample_frames, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = []
    original = charts.monthly_sessions_chart

    @functools.wraps(original)
    def counted(trend: pd.DataFrame) -> object:
        built.append(len(trend))
        return original(trend)

    monkeypatch.setattr(charts, "monthly_sessions_chart", counted)
    at = run_page("app.py")
    first = [(e.proto.spec, e.proto.datasets[0].data.data) for e in at.get("vega_lite_chart")]
    at.run()
    assert not at.exception
    again = [(e.proto.spec, e.proto.datasets[0].data.data) for e in at.get("vega_lite_chart")]
    assert len(first) == 3 and again == first  # the same charts, drawn from the cache
    assert len(built) == 1
    at.multiselect(key="widget.headache_types").set_value(["tension_type"]).run()
    assert len(built) == 2  # other data: built anew
    assert chart_spec_and_data(at, 0)[1]["sessions"].sum() < (
        dataframe_util.convert_arrow_bytes_to_pandas_df(first[0][1])["sessions"].sum()
    )


def test_a_sidebar_filter_changes_the_numbers(sample_frames) -> None:
    _, sessions, outcomes = sample_frames
    at = run_page("app.py")
    at.multiselect(key="widget.headache_types").set_value(["tension_type"]).run()
    assert not at.exception
    tension = outcomes[outcomes["headache_type"] == "tension_type"]
    tension_ids = set(tension["client_id"])
    expected = overview.compute_headlines(
        tension, sessions[sessions["client_id"].isin(tension_ids)]
    )
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Active clients"] == f"{expected.active_clients:,}"
    assert any(f"n = {expected.hd28_responder_rate.n:,}" in c.value for c in at.caption)
    assert expected.hd28_responder_rate.n < outcomes["hd28_responder_50"].notna().sum()
    assert "headache type: Tension-type headache" in at.caption[0].value


def test_charts_are_aggregated_before_they_reach_the_browser(sample_frames) -> None:
    _, sessions, outcomes = sample_frames
    at = run_page("app.py")
    spec, data = chart_spec_and_data(at, 0)
    assert spec["layer"][0]["encoding"]["y"]["field"] == "sessions"
    trend = overview.monthly_trend(sessions)
    assert data["sessions"].tolist() == trend["sessions"].tolist()
    _, bands = chart_spec_and_data(at, 2)
    assert bands["series"].sum() == outcomes["hd28_pct_change"].notna().sum()


def test_clients_needing_attention_link_to_their_progress(sample_frames) -> None:
    _, _, outcomes = sample_frames
    alerts = analysis.off_track_alerts(outcomes)
    at = run_page("app.py")
    table = at.dataframe[0].value
    assert len(table) == len(alerts) > 0
    assert table["link"].iloc[0] == f"/Client_Progress?client={alerts['client_id'].iloc[0]}"


def test_filters_hold_across_five_page_changes_and_the_numbers_with_them(seeded_db_env) -> None:
    at = run_page("app.py")
    at.multiselect(key="widget.therapists").set_value(["Ana Duarte"]).run()
    at.multiselect(key="widget.headache_types").set_value(["tension_type"]).run()
    at.radio(key="widget.population").set_value("completers").run()
    before = {m.label: m.value for m in at.metric}
    caption = at.caption[0].value
    # Client progress draws no "Who is counted"; Import data and Users draw no filters at all.
    for page in (
        "pages/1_Client_Progress.py",
        "pages/4_Import_Data.py",
        "pages/2_Techniques.py",
        "pages/5_Users_and_Audit.py",
        "pages/0_Overview.py",
    ):
        at.switch_page(page).run()
        assert not at.exception
    assert at.multiselect(key="widget.therapists").value == ["Ana Duarte"]
    assert at.multiselect(key="widget.headache_types").value == ["tension_type"]
    assert at.radio(key="widget.population").value == "completers"
    assert {m.label: m.value for m in at.metric} == before
    assert at.caption[0].value == caption
