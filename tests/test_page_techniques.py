"""The Techniques page, run headless on the seeded sample practice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest

from practice import analysis, comparisons, queries
from practice.bootstrap import open_database
from practice.filters import Filters, filter_outcomes

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/2_Techniques.py"


def open_page(path: str) -> AppTest:
    """Run a page as Streamlit does in the app: with app.py as the entry script.

    app.py routes every request (sign-in, sidebar filters, st.navigation), so the test starts
    from app.py and switches to the page.
    """
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page(path)
    return at.run()


def sample_outcomes() -> pd.DataFrame:
    """The outcomes the page computes, straight from the seeded database."""
    engine = open_database()
    try:
        with engine.connect() as conn:
            clients, sessions = queries.fetch_clients(conn), queries.fetch_sessions(conn)
    finally:
        engine.dispose()
    return analysis.compute_client_outcomes(clients, sessions)


def expected_table(outcomes: pd.DataFrame, **options: Any) -> pd.DataFrame:
    table = analysis.compare_groups(outcomes, by="primary_technique", **options)
    return comparisons.group_table(
        table, by="primary_technique", measure=options.get("measure", "hd28")
    )


def shown_table(at: AppTest) -> pd.DataFrame:
    return at.dataframe[0].value.reset_index(drop=True)


def assert_same(shown: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert shown.astype(str).to_dict("list") == expected.astype(str).to_dict("list")


def chart_specs(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(el.proto.spec) for el in at.get("vega_lite_chart")]


def chart_layer_data(at: AppTest, index: int, field: str) -> pd.DataFrame:
    """The dataset of chart `index` that has `field` (layered charts carry several)."""
    for dataset in at.get("vega_lite_chart")[index].proto.datasets:
        frame = dataframe_util.convert_arrow_bytes_to_pandas_df(dataset.data.data)
        if field in frame.columns:
            return frame
    raise AssertionError(f"no dataset with {field!r}")


@pytest.fixture
def page(seeded_db_env: str) -> Iterator[tuple[AppTest, pd.DataFrame]]:
    at = open_page(PAGE)
    assert not at.exception
    yield at, sample_outcomes()


def test_measure_and_reference_change_the_numbers_shown(
    page: tuple[AppTest, pd.DataFrame],
) -> None:
    at, outcomes = page
    hd28 = shown_table(at)
    assert_same(hd28, expected_table(outcomes, measure="hd28"))
    # Largest group first, and it is the default reference.
    assert hd28["Clients"].tolist() == sorted(hd28["Clients"], reverse=True)
    assert hd28["Note"].iloc[0] == "reference"
    assert at.selectbox(key="reference").value == "trigger_point"

    # Five charts: change, responders, adjusted differences, relief, time to response.
    specs = chart_specs(at)
    assert len(specs) == 5
    forest = chart_layer_data(at, 0, "change_mean")
    expected = analysis.compare_groups(outcomes, by="primary_technique", measure="hd28")
    assert forest["group"].tolist() == expected["group"].tolist()
    assert forest["change_mean"].tolist() == pytest.approx(expected["change_mean"].tolist())
    assert specs[0]["layer"][0]["encoding"]["x"]["field"] == "zero"

    at.selectbox(key="measure").set_value("pain").run()
    assert not at.exception
    pain = shown_table(at)
    assert_same(pain, expected_table(outcomes, measure="pain"))
    assert pain["Change (95 % CI)"].tolist() != hd28["Change (95 % CI)"].tolist()

    at.selectbox(key="reference").set_value("swedish").run()
    assert not at.exception
    against_swedish = shown_table(at)
    assert_same(against_swedish, expected_table(outcomes, measure="pain", reference="swedish"))
    notes = dict(zip(against_swedish["Group"], against_swedish["Note"], strict=True))
    assert notes["Swedish massage"] == "reference"
    assert notes["Trigger point therapy"] == ""
    column = "Adjusted difference (95 % CI)"
    assert against_swedish[column].tolist() != pain[column].tolist()
    assert "minus Swedish massage" in chart_specs(at)[2]["layer"][1]["encoding"]["x"]["title"]

    # Stress has no responder rule: no responder chart, and time to response falls back.
    at.selectbox(key="measure").set_value("stress").run()
    assert not at.exception
    assert "Responder rate (95 % CI)" not in shown_table(at).columns
    assert any("no published responder threshold" in info.value for info in at.info)
    assert len(at.get("vega_lite_chart")) == 4


def test_headache_type_filter_and_exposure_view(page: tuple[AppTest, pd.DataFrame]) -> None:
    at, outcomes = page
    everyone = shown_table(at)["Clients"].sum()

    at.sidebar.multiselect(key="widget.headache_types").set_value(["migraine"]).run()
    assert not at.exception
    migraine = filter_outcomes(outcomes, Filters(headache_types=("migraine",)))
    shown = shown_table(at)
    assert shown["Clients"].sum() < everyone
    expected = analysis.compare_groups(migraine, by="primary_technique")
    assert shown["Clients"].tolist() == expected["n_clients"].tolist()
    assert shown["Series with a score"].tolist() == expected["n"].tolist()
    # The filter leaves a technique with fewer than five clients: greyed, never judged.
    small = shown.loc[shown["Note"].str.contains("small group")]
    assert small["Clients"].lt(5).all() and len(small) >= 1
    forest = chart_layer_data(at, 0, "change_mean")
    assert forest.loc[forest["n_clients"] < 5, "small_n"].all()

    at.selectbox(key="grouping").set_value("technique_exposure").run()
    assert not at.exception
    exposure = shown_table(at)
    expected = analysis.compare_groups(migraine, by="technique_exposure")
    assert exposure["Clients"].tolist() == expected["n_clients"].tolist()
    assert "Adjusted difference (95 % CI)" not in exposure.columns
    assert not [box for box in at.selectbox if box.key == "reference"]
