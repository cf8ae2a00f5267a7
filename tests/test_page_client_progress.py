"""The Client progress page, run headless with AppTest on the seeded sample practice.

The page is opened through app.py (`switch_page`), as a user reaches it: app.py signs the
visitor in, draws the sidebar filters and routes every request. Expected numbers
come from `data/sample.csv` through the analysis, independently of the database.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit import dataframe_util
from streamlit.proto.Metric_pb2 import Metric as MetricProto
from streamlit.testing.v1 import AppTest

from practice import db
from practice.analysis import compute_client_outcomes
from practice.auth import SignedInUser, add_user
from practice.importing import import_files
from tests.conftest import csv_bytes

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/1_Client_Progress.py"
INTAKE_COLUMNS = [
    "client_id", "client_name", "intake_date", "birth_year", "sex", "headache_type",
    "headache_years", "baseline_pain", "baseline_headache_days_28d",
    "baseline_medication_days_28d", "baseline_hit6", "baseline_midas", "baseline_stress",
    "baseline_sleep_quality", "baseline_source", "triggers", "referral_source",
]  # fmt: skip


@functools.cache
def sample_outcomes() -> pd.DataFrame:
    """Outcomes of every client and series of data/sample.csv."""
    sample = pd.read_csv(ROOT / "data/sample.csv", parse_dates=["intake_date", "session_date"])
    clients = sample.drop_duplicates("client_id")[INTAKE_COLUMNS]
    sessions = sample.rename(columns={"series_id": "series_code"})
    return compute_client_outcomes(clients, sessions)


def expected_row(client_id: str, series_number: int | None = None) -> pd.Series:
    rows = sample_outcomes().loc[sample_outcomes()["client_id"] == client_id]
    number = rows["series_number"].max() if series_number is None else series_number
    return rows.loc[rows["series_number"] == number].iloc[0]


def open_page(user: SignedInUser | None = None, **query: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if user is not None:
        at.session_state["user"] = user
    for name, value in query.items():
        at.query_params[name] = value
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def metrics(at: AppTest) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.delta) for m in at.metric}


def expected_delta(row: pd.Series, key: str) -> str:
    pct = row[f"{key}_pct_change"]
    return f"{row[f'{key}_change']:+.1f}" + ("" if pd.isna(pct) else f" ({pct:+.0f} %)")


def assert_headlines_match(at: AppTest, row: pd.Series) -> None:
    shown = metrics(at)
    assert shown["Headache days per 28 days"] == (
        f"{row['hd28_latest']:.1f}",
        expected_delta(row, "hd28"),
    )
    assert shown["Pain before sessions (0-10)"] == (
        f"{row['pain_latest']:.1f}",
        expected_delta(row, "pain"),
    )
    assert shown["Sessions attended"][0] == str(row["sessions_attended"])
    assert shown["Series status"][0] == row["series_status"].capitalize()


def delta_colour(at: AppTest, label: str) -> str:
    metric = next(m for m in at.metric if m.label == label)
    return MetricProto.MetricColor.Name(metric.proto.color)


def charts(at: AppTest) -> dict[str, tuple[dict[str, Any], dict[str, pd.DataFrame]]]:
    """Each drawn chart's spec and datasets, by title."""
    found = {}
    for element in at.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        data = {
            d.name: dataframe_util.convert_arrow_bytes_to_pandas_df(d.data.data)
            for d in element.proto.datasets
        }
        found[spec["title"]["text"]] = (spec, data)
    return found


def rule_levels(spec: dict[str, Any], data: dict[str, pd.DataFrame]) -> dict[float, Any]:
    """The y level of every horizontal rule of a layered chart, with its dash pattern."""
    levels = {}
    for group in spec["layer"]:
        for layer in group.get("layer", [group]):
            mark = layer["mark"]
            if isinstance(mark, dict) and mark["type"] == "rule":
                frame = data[group["data"]["name"]]
                levels[float(frame["level"].iloc[0])] = mark["strokeDash"]
    return levels


def test_deep_link_preselects_the_client_and_picking_another_updates_everything(
    seeded_db_env: str,
) -> None:
    at = open_page(client="C0042")
    assert at.selectbox(key="client").value == "C0042"
    row = expected_row("C0042")
    assert at.header[0].value == f"C0042 · {row['client_name']}"
    assert_headlines_match(at, row)
    # Fewer headache days and less pain are good news: shown green (delta_color="inverse").
    assert row["hd28_change"] < 0
    assert delta_colour(at, "Headache days per 28 days") == "GREEN"

    drawn = charts(at)
    assert set(drawn) == {
        "Pain before and after each session",
        "Headache days per 28 days",
        "Stress, sleep and medication",
        "Techniques used at each session",
    }
    pain_spec, pain_data = drawn["Pain before and after each session"]
    assert rule_levels(pain_spec, pain_data) == {row["pain_baseline"]: [1, 0]}
    days_spec, days_data = drawn["Headache days per 28 days"]
    assert rule_levels(days_spec, days_data) == {
        row["hd28_baseline"]: [1, 0],
        row["hd28_baseline"] / 2: [6, 4],
    }
    summary = at.dataframe[1].value.set_index("measure")
    assert summary.loc["Headache days per 28 days", "result"] == row["hd28_change_label"]
    assert summary.loc["Pain (0-10)", "latest"] == row["pain_latest"]

    at.selectbox(key="client").set_value("C0004").run()
    assert not at.exception
    assert at.header[0].value == f"C0004 · {expected_row('C0004')['client_name']}"
    assert at.query_params["client"] == "C0004"
    assert at.selectbox(key="series").value == 2  # the latest of two series
    assert_headlines_match(at, expected_row("C0004", 2))
    assert expected_row("C0004", 2)["pain_change"] > 0  # more pain is bad news: red
    assert delta_colour(at, "Pain before sessions (0-10)") == "RED"

    at.selectbox(key="series").set_value(1).run()
    assert not at.exception
    assert_headlines_match(at, expected_row("C0004", 1))
    assert at.query_params["series"] == "1"
    sessions = at.dataframe[2].value
    assert len(sessions) == expected_row("C0004", 1)["sessions_booked"]


def test_unknown_id_warns_and_the_therapist_filter_narrows_the_list(seeded_db_env: str) -> None:
    at = open_page(client="C9999")
    assert "C9999" in at.warning[0].value
    assert at.selectbox(key="client").value is None
    assert not at.metric
    # The picker offers the first 50 clients by id, never the whole practice (issue 12).
    assert sample_outcomes()["client_id"].nunique() > 50
    assert len(at.selectbox(key="client").options) == 50

    at.multiselect(key="widget.therapists").set_value(["Ana Duarte"]).run()
    assert not at.exception
    sample = pd.read_csv(ROOT / "data/sample.csv")
    seen = sample.loc[sample["therapist"] == "Ana Duarte", "client_id"].nunique()
    assert len(at.selectbox(key="client").options) == seen
    assert any("match the sidebar" in caption.value for caption in at.caption)

    linked = open_page(client="c0004", series="1")  # ids are matched ignoring case
    assert linked.selectbox(key="client").value == "C0004"
    assert linked.selectbox(key="series").value == 1
    assert_headlines_match(linked, expected_row("C0004", 1))


def client_ids(at: AppTest) -> list[str]:
    return [option.split(" · ")[0] for option in at.selectbox(key="client").options]


def test_the_picker_offers_at_most_50_matches_of_a_search_by_name_or_id(
    seeded_db_env: str,
) -> None:
    at = open_page()
    assert client_ids(at) == [f"C{n:04d}" for n in range(1, 51)]  # the first 50, by id
    assert any("first 50" in caption.value for caption in at.caption)

    sample = pd.read_csv(ROOT / "data/sample.csv").drop_duplicates("client_id")
    name = sample.set_index("client_id").loc["C0142", "client_name"]
    at.text_input(key="client_search").set_value(name.split()[-1].lower()).run()
    assert not at.exception
    surname = sample.loc[
        sample["client_name"].str.casefold().str.contains(name.split()[-1].casefold()),
        "client_id",
    ]
    assert client_ids(at) == sorted(surname)
    assert "C0142" in client_ids(at)

    at.text_input(key="client_search").set_value(" c014 ").run()  # part of an id, any case
    assert client_ids(at) == [f"C{n:04d}" for n in range(140, 150)]
    at.selectbox(key="client").set_value("C0142").run()
    assert not at.exception
    assert at.header[0].value == f"C0142 · {name}"
    assert at.query_params["client"] == "C0142"

    # Another search keeps the chosen client in the list (first), beside the new matches.
    at.text_input(key="client_search").set_value("C0001").run()
    assert client_ids(at) == ["C0142", "C0001"]
    assert at.selectbox(key="client").value == "C0142"

    at.text_input(key="client_search").set_value("nobody by this name").run()
    assert client_ids(at) == ["C0142"]
    assert any("0 of all 150 clients" in caption.value for caption in at.caption)


def test_a_deep_link_opens_a_client_beyond_the_first_50(seeded_db_env: str) -> None:
    at = open_page(client="C0150")
    assert at.selectbox(key="client").value == "C0150"
    assert client_ids(at)[0] == "C0150" and len(client_ids(at)) == 51
    assert at.header[0].value.startswith("C0150 · ")
    assert_headlines_match(at, expected_row("C0150"))


def test_clients_without_follow_up_baseline_or_attended_session(seeded_db_env: str) -> None:
    open_page()  # opens (and seeds) the database
    engine = db.create_engine_for(seeded_db_env)
    extra = csv_bytes(
        "client_id,client_name,intake_date,headache_type,session_date,therapist,techniques,"
        "status,pain_pre,pain_post,headache_days_7d,cancel_reason",
        "Z001,Zoe Missed,2026-08-01,migraine,2026-08-03,Jo Park,swedish,no_show,,,,forgot",
        "Z001,Zoe Missed,2026-08-01,migraine,2026-08-10,Jo Park,swedish,cancelled,,,,ill",
        "Z002,Zed Once,2026-08-01,tension type,2026-08-04,Jo Park,TPT,attended,6,4,3,",
    )
    import_files(engine, [("extra.csv", extra)])
    # Real data beyond the sample needs a signed-in user (demo mode is for the sample only).
    with engine.begin() as conn:
        add_user(conn, "owner", "owner", "owner-password")
    engine.dispose()
    owner = SignedInUser("owner", "owner")

    missed = open_page(owner, client="Z001")
    assert metrics(missed)["Headache days per 28 days"] == ("–", "no follow-up score yet")
    assert metrics(missed)["Sessions attended"][0] == "0"
    assert any("No session of this series was attended" in i.value for i in missed.info)
    assert not missed.get("vega_lite_chart")
    assert missed.dataframe[2].value["Notes"].tolist() == ["Reason: forgot", "Reason: ill"]

    once = open_page(owner, client="Z002")
    assert metrics(once)["Pain before sessions (0-10)"] == ("–", "no follow-up score yet")
    summary = once.dataframe[1].value.set_index("measure")
    assert summary.loc["Pain (0-10)", "baseline"] == pytest.approx(6.0)
    assert summary.loc["Pain (0-10)", "baseline_from"] == "first report"
    assert summary.loc["Pain (0-10)", "result"] == "no follow-up score yet"
    assert summary.loc["HIT-6 (36-78)", "result"] == "not recorded"
    assert any("No baseline was recorded at intake" in c.value for c in once.caption)
