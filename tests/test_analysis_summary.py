"""The summary contract used by `python -m practice summary`: keys, nulls, no NaN, flat table."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from practice.analysis import (
    build_summary,
    compare_groups,
    compute_client_outcomes,
    summary_columns,
    summary_table,
)
from tests.analysis_frames import make_clients, make_sessions, weekly

CONTRACT_MEASURE_KEYS = {
    "hd28": {
        "n",
        "baseline_mean",
        "last_mean",
        "change_mean",
        "change_ci",
        "responders_50",
        "responder_rate_50",
        "responder_rate_50_ci",
        "adjusted_difference",
        "adjusted_difference_ci",
    },
    "pain": {
        "n",
        "baseline_mean",
        "last_mean",
        "change_mean",
        "change_ci",
        "responders_30",
        "responder_rate_30",
        "responder_rate_30_ci",
        "adjusted_difference",
        "adjusted_difference_ci",
    },
}


@pytest.fixture(scope="module")
def practice() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three trigger-point clients, one swedish client (a group of one)."""
    clients = make_clients(
        [
            {"client_id": "A", "baseline_pain": 8, "baseline_headache_days_28d": 12},
            {"client_id": "B", "baseline_pain": 6, "baseline_headache_days_28d": 8},
            {"client_id": "C", "baseline_pain": 7, "baseline_headache_days_28d": 10},
            {"client_id": "D", "baseline_pain": 5, "baseline_headache_days_28d": 6},
        ]
    )
    sessions = make_sessions(
        weekly("A", {"pain_pre": [8, 6, 4], "headache_days_7d": [3, 2, 1]})
        + weekly("B", {"pain_pre": [6, 5, 5], "headache_days_7d": [2, 2, 2]})
        + weekly("C", {"pain_pre": [7, 7, 3], "headache_days_7d": [3, 1, 0]})
        + weekly(
            "D",
            {"pain_pre": [5, 4, 4], "headache_days_7d": [2, 1, 1]},
            techniques="swedish",
            therapist="Ben",
        )
    )
    return clients, sessions


@pytest.fixture(scope="module")
def summary(practice: tuple[pd.DataFrame, pd.DataFrame]) -> dict:
    return build_summary(*practice, by="technique")


def test_contract_keys(summary: dict) -> None:
    assert {"population", "by", "reference", "groups"} <= set(summary)
    assert (summary["population"], summary["by"]) == ("all", "technique")
    assert summary["reference"] == "trigger_point"  # the largest group
    for entry in summary["groups"]:
        assert {"group", "n_clients", "hd28", "pain"} <= set(entry)
        for key, expected in CONTRACT_MEASURE_KEYS.items():
            assert expected <= set(entry[key])


def test_json_has_no_nan(summary: dict) -> None:
    text = json.dumps(summary, allow_nan=False)  # raises on NaN or infinity
    assert json.loads(text) == summary


def test_values_match_compare_groups(
    practice: tuple[pd.DataFrame, pd.DataFrame], summary: dict
) -> None:
    outcomes = compute_client_outcomes(*practice)
    table = compare_groups(outcomes, by="technique", measure="pain").set_index("group")
    entry = next(g for g in summary["groups"] if g["group"] == "trigger_point")
    # Pain: A 8 -> 4, B 6 -> 5, C 7 -> 3: changes -4, -1, -4, mean -3.
    assert entry["pain"]["change_mean"] == pytest.approx(-3.0)
    assert entry["pain"]["change_mean"] == pytest.approx(table.at["trigger_point", "change_mean"])
    assert entry["pain"]["change_ci"] == pytest.approx(
        [table.at["trigger_point", "change_ci_low"], table.at["trigger_point", "change_ci_high"]]
    )
    # Responders (>= 30 % and >= 2 points): A (-50 %) and C (-57 %), not B.
    assert entry["pain"]["responders_30"] == 2
    assert entry["pain"]["responder_rate_30"] == pytest.approx(2 / 3)
    assert entry["n_clients"] == 3
    assert isinstance(entry["n_clients"], int)


def test_nulls_for_a_group_of_one_and_the_reference(summary: dict) -> None:
    groups = {g["group"]: g for g in summary["groups"]}
    single = groups["swedish"]
    assert single["pain"]["n"] == 1
    assert single["pain"]["change_ci"] is None  # one client: no interval
    assert isinstance(single["pain"]["adjusted_difference"], float)
    reference = groups["trigger_point"]
    assert reference["is_reference"] is True
    assert reference["hd28"]["adjusted_difference"] == 0
    assert reference["hd28"]["adjusted_difference_ci"] is None


def test_table_is_the_same_content(summary: dict) -> None:
    table = summary_table(summary)
    assert list(table.columns) == summary_columns()
    assert table["group"].tolist() == [g["group"] for g in summary["groups"]]
    row = table.set_index("group").loc["trigger_point"]
    entry = summary["groups"][0]
    assert row["pain_change_ci_low"] == entry["pain"]["change_ci"][0]
    assert row["hd28_responder_rate_50"] == entry["hd28"]["responder_rate_50"]
    swedish = table.set_index("group").loc["swedish"]
    assert swedish["pain_change_ci_low"] is None or math.isnan(swedish["pain_change_ci_low"])
    with pytest.raises(ValueError, match="summary must be a dict"):
        summary_table({"groups": []})


@pytest.mark.parametrize("population", ["all", "completers", "dropouts_as_nonresponders"])
@pytest.mark.parametrize("by", ["technique", "therapist", "headache_type"])
def test_every_option_is_json_ready(
    practice: tuple[pd.DataFrame, pd.DataFrame], by: str, population: str
) -> None:
    summary = build_summary(*practice, by=by, population=population)
    json.dumps(summary, allow_nan=False)
    assert summary["population"] == population
    assert len(summary_table(summary)) == len(summary["groups"])


def test_reference_can_be_chosen(practice: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    summary = build_summary(*practice, by="technique", reference="swedish")
    groups = {g["group"]: g for g in summary["groups"]}
    assert summary["reference"] == "swedish"
    assert groups["swedish"]["pain"]["adjusted_difference"] == 0
    with pytest.raises(ValueError, match="reference must be one of the groups"):
        build_summary(*practice, by="technique", reference="reiki")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"by": "room"}, "by must be one of"), ({"population": "x"}, "population must be one of")],
)
def test_invalid_arguments(
    practice: tuple[pd.DataFrame, pd.DataFrame], kwargs: dict, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build_summary(*practice, **kwargs)


def test_empty_practice() -> None:
    summary = build_summary(make_clients([]), make_sessions([]))
    assert summary["groups"] == [] and summary["reference"] is None
    table = summary_table(summary)
    assert table.empty and list(table.columns) == summary_columns()
    json.dumps(summary, allow_nan=False)


def test_numpy_values_become_python(summary: dict) -> None:
    def walk(value: object) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        else:
            assert value is None or type(value) in (str, int, float, bool)  # no numpy types
            assert not (isinstance(value, float) and math.isnan(value))

    walk(summary)
