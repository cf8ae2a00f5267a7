"""The baseline source (headache diary or recall at intake): carried into the outcomes, shown
beside an intake baseline, counted for the Overview, filterable, and documented."""

from __future__ import annotations

import pandas as pd

from practice import config, overview, progress
from practice.analysis import compute_client_outcomes
from practice.filters import Filters, filter_outcomes, filter_sessions
from tests.analysis_frames import make_clients, make_sessions

SOURCES = {"A": "diary", "B": "recall", "C": None}


def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    clients = make_clients(
        [
            {"client_id": cid, "baseline_source": source, "baseline_pain": 6.0}
            for cid, source in SOURCES.items()
        ]
    )
    # A has two series (a gap of 200 days): still one client in the counts.
    rows = [{"client_id": cid, "day": day, "pain_pre": 4.0} for cid in SOURCES for day in (0, 7)]
    rows += [{"client_id": "A", "day": day, "pain_pre": 3.0} for day in (207, 214)]
    return clients, make_sessions(rows)


def test_outcomes_carry_each_clients_baseline_source() -> None:
    outcomes = compute_client_outcomes(*frames())
    sources = outcomes.groupby("client_id")["baseline_source"].first()
    assert (sources["A"], sources["B"]) == ("diary", "recall")
    assert pd.isna(sources["C"])


def test_the_overview_counts_clients_by_baseline_source() -> None:
    counts = overview.baseline_source_counts(compute_client_outcomes(*frames()))
    assert counts[["source", "clients"]].values.tolist() == [
        ["diary", 1],
        ["recall", 1],
        ["not_recorded", 1],
    ]
    assert overview.baseline_source_text(counts) == (
        "Baselines: 1 from a headache diary, 1 recalled at intake, 1 not recorded."
    )


def test_the_filter_keeps_one_kind_of_baseline() -> None:
    clients, sessions = frames()
    outcomes = compute_client_outcomes(clients, sessions)
    diary = Filters(baseline_sources=("diary",))
    assert set(filter_outcomes(outcomes, diary)["client_id"]) == {"A"}
    assert set(filter_sessions(sessions, clients, diary)["client_id"]) == {"A"}
    unknown = Filters(baseline_sources=("not_recorded", "recall"))
    assert set(filter_outcomes(outcomes, unknown)["client_id"]) == {"B", "C"}
    assert "baseline: Headache diary" in diary.describe()


def test_client_progress_says_how_an_intake_baseline_was_obtained() -> None:
    outcomes = compute_client_outcomes(*frames())
    first = outcomes.set_index(["client_id", "series_number"])
    diary = progress.change_summary(first.loc[("A", 1)]).set_index("measure")
    recall = progress.change_summary(first.loc[("B", 1)]).set_index("measure")
    unknown = progress.change_summary(first.loc[("C", 1)]).set_index("measure")
    later = progress.change_summary(first.loc[("A", 2)]).set_index("measure")
    assert diary.at["Pain (0-10)", "baseline_from"] == "intake, from a headache diary"
    assert recall.at["Pain (0-10)", "baseline_from"] == "intake, recalled"
    assert unknown.at["Pain (0-10)", "baseline_from"] == "intake"
    assert later.at["Pain (0-10)", "baseline_from"] == "first report"


def test_the_docs_explain_recall_and_last_observation_carried_forward() -> None:
    text = (config.PROJECT_ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    assert "### Baseline source" in text
    assert "McKenzie JA, Cutrer FM" in text
    assert "last observation carried forward" in text


def test_the_client_picker_keeps_the_chosen_baseline_source() -> None:
    clients, sessions = frames()
    choices = progress.client_choices(clients, sessions, baseline_sources=("recall",))
    assert choices["client_id"].tolist() == ["B"]
    unknown = progress.client_choices(clients, sessions, baseline_sources=("not_recorded",))
    assert unknown["client_id"].tolist() == ["C"]
