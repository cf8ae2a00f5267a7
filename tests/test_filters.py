"""The sidebar filters applied to outcome and session frames."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from practice.filters import Filters, filter_outcomes, filter_sessions

OUTCOMES = pd.DataFrame(
    {
        "client_id": ["A", "B", "C"],
        "therapist": ["Jo", "Sam", "Jo"],
        "primary_technique": ["swedish", "trigger_point", "trigger_point"],
        "headache_type": ["migraine", "tension_type", "migraine"],
        "first_session_date": pd.to_datetime(["2025-01-01", "2025-03-01", "2025-06-01"]),
        "last_session_date": pd.to_datetime(["2025-02-01", "2025-04-01", "2025-07-01"]),
    }
)
SESSIONS = pd.DataFrame(
    {
        "client_id": ["A", "A", "B", "C"],
        "therapist": ["Jo", "Jo", "Sam", "Jo"],
        "session_date": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01", "2025-06-01"]),
        "techniques": ["swedish", "swedish;stretching", "trigger_point", ""],
    }
)
CLIENTS = OUTCOMES[["client_id", "headache_type"]]


def test_no_filter_keeps_everything() -> None:
    assert filter_outcomes(OUTCOMES, Filters()).equals(OUTCOMES)
    assert Filters().describe() == "all clients"


def test_period_keeps_series_that_overlap_it() -> None:
    chosen = Filters(start=dt.date(2025, 1, 15), end=dt.date(2025, 3, 15))
    assert filter_outcomes(OUTCOMES, chosen)["client_id"].tolist() == ["A", "B"]
    assert filter_sessions(SESSIONS, CLIENTS, chosen)["session_date"].dt.day.tolist() == [1, 1]


def test_therapist_technique_and_type_combine() -> None:
    chosen = Filters(therapists=("Jo",), techniques=("trigger_point",))
    assert filter_outcomes(OUTCOMES, chosen)["client_id"].tolist() == ["C"]
    by_type = Filters(headache_types=("migraine",))
    assert filter_sessions(SESSIONS, CLIENTS, by_type)["client_id"].tolist() == ["A", "A", "C"]


def test_session_technique_filter_matches_any_listed_technique() -> None:
    chosen = Filters(techniques=("stretching",))
    assert filter_sessions(SESSIONS, CLIENTS, chosen).index.tolist() == [1]
    assert "technique: Stretching" in chosen.describe()


def test_the_description_uses_labels_not_internal_codes() -> None:
    chosen = Filters(techniques=("trigger_point",), headache_types=("migraine_with_aura",))
    described = chosen.describe()
    assert "technique: Trigger point therapy" in described
    assert "headache type: Migraine with aura" in described
    assert "_" not in described


def test_location_filter_keeps_the_series_and_sessions_of_the_chosen_locations() -> None:
    outcomes = OUTCOMES.assign(location=["North", "Harbour", None])
    sessions = SESSIONS.assign(location=["North", "North", "Harbour", None])
    chosen = Filters(locations=("North",))
    assert filter_outcomes(outcomes, chosen)["client_id"].tolist() == ["A"]
    assert filter_sessions(sessions, CLIENTS, chosen).index.tolist() == [0, 1]
    both = Filters(locations=("North", "Harbour"))
    assert filter_outcomes(outcomes, both)["client_id"].tolist() == ["A", "B"]
    assert both.describe() == "location: North, Harbour"
    assert both.for_every_location() == Filters()


def test_frames_without_a_location_column_filter_as_before_when_no_location_is_chosen() -> None:
    # A practice without locations never shows the filter; its frames may lack the column.
    assert filter_outcomes(OUTCOMES, Filters()).equals(OUTCOMES)
    assert filter_sessions(SESSIONS, CLIENTS, Filters()).equals(SESSIONS)
