"""What the pages show people (issue 13 items 6, 7, 12, 13, 15), headless on the sample practice:
the baseline source counted and filtered, the time-point choice, the monthly chart's months,
readable users and audit tables, and long text that wraps instead of running off the page."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest

from practice import analysis, auth, comparisons, queries
from practice.bootstrap import open_database
from practice.charts import overview as overview_charts
from practice.filters import Filters, filter_outcomes
from tests.test_roles import open_page as open_routed

ROOT = Path(__file__).resolve().parent.parent
# Streamlit wraps text cells only in rows taller than 4rem (64 px).
WRAPPING_ROW = 64


def open_page(page: str, user: auth.SignedInUser | None = None, **state: Any) -> AppTest:
    """Run `page` the way the app does (app.py routes, then the page runs), without errors."""
    at = open_routed(page, user, **state)
    assert not at.exception, at.exception
    return at


def sample_frames(url: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    engine = open_database(url)
    try:
        with engine.connect() as conn:
            return queries.fetch_clients(conn), queries.fetch_sessions(conn)
    finally:
        engine.dispose()


def column_config(at: AppTest, index: int) -> dict[str, Any]:
    return json.loads(at.dataframe[index].proto.columns)


def test_overview_counts_baselines_and_the_filter_keeps_one_kind(seeded_db_env: str) -> None:
    at = open_page("pages/0_Overview.py")
    clients, _ = sample_frames(seeded_db_env)
    sources = clients["baseline_source"].value_counts()
    caption = at.caption[0].value
    assert (
        f"Baselines: {sources['diary']} from a headache diary, {sources['recall']} recalled "
        "at intake." in caption
    )
    at.multiselect(key="widget.baseline_sources").set_value(["diary"]).run()
    assert not at.exception
    caption = at.caption[0].value
    assert "baseline: Headache diary" in caption
    assert f"Baselines: {sources['diary']} from a headache diary." in caption
    assert "recalled" not in caption.split("Baselines:")[1]
    explained = " ".join(e.value for e in at.markdown)
    assert "last observation carried forward" in explained


def test_overview_monthly_chart_ends_with_the_period_and_names_each_month(
    seeded_db_env: str,
) -> None:
    at = open_page("pages/0_Overview.py")
    at.date_input(key="widget.period").set_value((dt.date(2026, 1, 1), dt.date(2026, 6, 30)))
    at.run()
    assert not at.exception
    element = at.get("vega_lite_chart")[0]
    spec = json.loads(element.proto.spec)
    x = spec["layer"][0]["encoding"]["x"]
    # A band per month of the period, January to June: no July.
    assert x["type"] == "ordinal"
    assert x["sort"] == [f"{m} 2026" for m in ("Jan", "Feb", "Mar", "Apr", "May", "Jun")]
    data = dataframe_util.convert_arrow_bytes_to_pandas_df(element.proto.datasets[0].data.data)
    # The period covers every month whole: none is greyed as a part month.
    assert set(data["month_kind"]) == {overview_charts.WHOLE_MONTH}


def test_techniques_compare_at_a_time_point(seeded_db_env: str) -> None:
    at = open_page("pages/2_Techniques.py")
    last = at.dataframe[0].value
    at.selectbox(key="when").set_value("3m").run()
    assert not at.exception
    at_3m = at.dataframe[0].value
    clients, sessions = sample_frames(seeded_db_env)
    outcomes = analysis.compute_client_outcomes(clients, sessions, at="3m")
    expected = analysis.compare_groups(filter_outcomes(outcomes, Filters()), by="primary_technique")
    shown = comparisons.group_table(expected, by="primary_technique", measure="hd28")
    assert at_3m["Series with a score"].tolist() == shown["Series with a score"].tolist()
    assert at_3m["Series with a score"].sum() < last["Series with a score"].sum()
    assert any("at 3 months after each client's first session" in c.value for c in at.caption)


def test_users_and_audit_tables_read_as_words(seeded_db_env: str) -> None:
    engine = open_database(seeded_db_env)
    with engine.begin() as conn:
        auth.add_user(conn, "anna", "owner", "owner-password")
        auth.add_user(conn, "fred", "front_desk", "front-desk-password")
        auth.record_event(conn, "undo", "anna", "import #2: {'sessions_removed': 3}")
    engine.dispose()
    at = open_page("pages/5_Users_and_Audit.py", auth.SignedInUser("anna", "owner"))
    users, events = at.dataframe[0].value, at.dataframe[1].value
    assert users["role"].tolist() == ["Owner", "Front desk"]
    assert users["therapist_name"].tolist() == ["", ""]
    assert "Undo" in set(events["event"])
    assert "import #2: sessions removed 3" in set(events["detail"])
    assert not {"user_added", "undo"} & set(events["event"])


@pytest.mark.parametrize(
    ("page", "index", "column"),
    [
        ("pages/0_Overview.py", 0, "reason"),  # "Why"
        ("pages/2_Techniques.py", 0, "Note"),
    ],
)
def test_long_text_columns_wrap_inside_the_page(
    seeded_db_env: str, page: str, index: int, column: str
) -> None:
    at = open_page(page)
    assert at.dataframe[index].proto.row_height > WRAPPING_ROW
    assert isinstance(column_config(at, index)[column]["width"], int)


def test_client_progress_change_table_wraps_what_it_means(seeded_db_env: str) -> None:
    at = open_page("pages/1_Client_Progress.py", **{"client": "C0042"})
    tables = [i for i, df in enumerate(at.dataframe) if "meaning" in df.value.columns]
    assert tables, "the change table is shown"
    index = tables[0]
    assert at.dataframe[index].proto.row_height > WRAPPING_ROW
    config = column_config(at, index)
    assert config["meaning"]["width"] <= 300
    assert "intake, recalled" in set(at.dataframe[index].value["baseline_from"]) | {
        "intake, from a headache diary"
    }
