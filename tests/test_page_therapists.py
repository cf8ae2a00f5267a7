"""The Therapists page, run headless on the seeded sample practice."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import streamlit as st
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest

from practice import analysis, comparisons, queries, ui
from practice.bootstrap import open_database

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/3_Therapists.py"
SMALL = "Lena Fischer"  # 3 clients in the sample practice


def open_page(path: str) -> AppTest:
    """Run a page with app.py as the entry script, as in the app (page links resolve)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page(path)
    return at.run()


def sample_outcomes() -> pd.DataFrame:
    engine = open_database()
    try:
        with engine.connect() as conn:
            clients, sessions = queries.fetch_clients(conn), queries.fetch_sessions(conn)
    finally:
        engine.dispose()
    return analysis.compute_client_outcomes(clients, sessions)


def table_rows(at: AppTest, index: int) -> dict[str, dict[str, object]]:
    frame = at.dataframe[index].value.reset_index(drop=True)
    return frame.set_index(frame.columns[0]).to_dict("index")


def funnel_dots(at: AppTest) -> pd.DataFrame:
    el = at.get("vega_lite_chart")[0]
    for dataset in el.proto.datasets:
        frame = dataframe_util.convert_arrow_bytes_to_pandas_df(dataset.data.data)
        if "position" in frame.columns:
            return frame
    raise AssertionError("the funnel has no points")


def test_funnel_and_table_never_judge_the_small_caseload(seeded_db_env: str) -> None:
    at = open_page(PAGE)
    assert not at.exception
    outcomes = sample_outcomes()

    table = at.dataframe[0].value
    assert table["Clients"].tolist() == sorted(table["Clients"], reverse=True)  # by caseload
    rows = table_rows(at, 0)
    assert rows[SMALL]["Clients"] == 3
    assert rows[SMALL]["Position"] == "not judged (small n)"
    assert rows[SMALL]["Note"] == "small group: not judged"
    judged = {name: row["Position"] for name, row in rows.items() if name != SMALL}
    assert set(judged.values()) <= set(comparisons.POSITION_ORDER[:-1])

    groups = analysis.compare_groups(outcomes, by="therapist", measure="hd28")
    expected = comparisons.format_interval(
        groups["responder_rate"],
        groups["responder_rate_ci_low"],
        groups["responder_rate_ci_high"],
        digits=0,
        percent=True,
    )
    assert table["Responder rate (95 % CI)"].tolist() == expected.tolist()

    dots = funnel_dots(at).set_index("group")
    assert dots.loc[SMALL, "position"] == "not judged (small n)"
    assert bool(dots.loc[SMALL, "small_n"])
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    lines = spec["layer"][0]
    assert lines["encoding"]["strokeDash"]["scale"]["domain"] == ["95 %", "99.8 %"]

    # The adjusted residual funnel: target 0, small caseload still not judged.
    at.radio(key="statistic").set_value("adjusted_residual").run()
    assert not at.exception
    points = analysis.funnel_data(outcomes, measure="hd28", statistic="adjusted_residual")
    dots = funnel_dots(at)
    assert dots["value"].round(6).tolist() == points["value"].round(6).tolist()
    assert table_rows(at, 0)[SMALL]["Position"] == "not judged (small n)"

    # Stress has no responder rule: only the residual is offered.
    at.selectbox(key="measure").set_value("stress").run()
    assert not at.exception
    assert at.radio(key="statistic").options == [comparisons.STATISTICS["adjusted_residual"]]
    assert "Responder rate (95 % CI)" not in at.dataframe[0].value.columns


def test_caseload_shows_only_the_chosen_therapists_clients(seeded_db_env: str) -> None:
    at = open_page(PAGE)
    assert not at.exception
    outcomes = sample_outcomes()

    at.selectbox(key="therapist").set_value(SMALL).run()
    assert not at.exception
    caseload = at.dataframe[1].value
    own = outcomes.loc[outcomes["therapist"] == SMALL]
    assert sorted(caseload["Client"]) == sorted(
        "/Client_Progress?client=" + own["client_id"].astype(str)
    )
    assert len(caseload) == len(own) == 3
    assert set(caseload["Name"]) == set(own["client_name"])

    alerts = analysis.off_track_alerts(outcomes)
    own_alerts = alerts.loc[alerts["therapist"] == SMALL, "client_id"]
    shown = at.dataframe[2].value if len(at.dataframe) > 2 else pd.DataFrame({"Client": []})
    assert sorted(shown["Client"]) == sorted("/Client_Progress?client=" + own_alerts)

    at.selectbox(key="therapist").set_value("Sarah Okafor").run()
    assert not at.exception
    others = at.dataframe[1].value
    sarah = outcomes.loc[outcomes["therapist"] == "Sarah Okafor"]
    assert len(others) == len(sarah)
    assert set(others["Client"]) == set("/Client_Progress?client=" + sarah["client_id"])


def test_a_long_caseload_pages_and_its_download_holds_every_row(
    seeded_db_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ui, "TABLE_PAGE_ROWS", 10)  # the sample's caseloads are under 50
    downloads = {}
    draw = st.download_button

    def record(label: str, data: Callable[[], bytes], **options: Any) -> bool:
        downloads[options.get("key")] = data
        return draw(label, data, **options)

    monkeypatch.setattr(st, "download_button", record)
    at = open_page(PAGE)
    at.selectbox(key="therapist").set_value("Sarah Okafor").run()
    assert not at.exception
    full = comparisons.caseload_table(sample_outcomes(), "Sarah Okafor")
    assert len(full) == 39
    pager = at.number_input(key="caseload-page")
    assert pager.value == 1 and pager.label == "Page (of 4)"
    shown = [at.dataframe[1].value]
    assert any("Rows 1-10 of 39, newest first" in c.value for c in at.caption)
    for number in (2, 3, 4):
        at.number_input(key="caseload-page").set_value(number).run()
        assert not at.exception
        shown.append(at.dataframe[1].value)
    assert [len(rows) for rows in shown] == [10, 10, 10, 9]
    assert any("Rows 31-39 of 39" in c.value for c in at.caption)
    pd.testing.assert_frame_equal(
        pd.concat(shown).reset_index(drop=True)[["Client", "Name", "Series"]],
        full[["Client", "Name", "Series"]],
        check_dtype=False,
    )

    csv = pd.read_csv(io.BytesIO(downloads["csv-caseload"]()))
    assert (
        len(csv) == 39 and csv["Client"].tolist() == full["Client"].str.split("=").str[-1].tolist()
    )

    # A shorter caseload has one page: no pager, and the page number is forgotten.
    at.selectbox(key="therapist").set_value(SMALL).run()
    assert not at.exception
    assert not at.number_input and len(at.dataframe[1].value) == 3
