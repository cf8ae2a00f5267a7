"""Lasting change at follow-up visits: per series, per group and in the summary JSON."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from practice.analysis import build_summary, compare_groups, compute_client_outcomes
from practice.importing import import_files
from practice.queries import fetch_clients, fetch_sessions
from practice.series import NO_SERIES
from tests.analysis_frames import make_clients, make_sessions
from tests.conftest import csv_bytes


def course(client: str, hd28: list[float], **fixed: object) -> list[dict[str, object]]:
    """Weekly attended sessions reporting headache days per 28 days."""
    return [
        {"client_id": client, "day": 7 * i, "headache_days_28d": v, **fixed}
        for i, v in enumerate(hd28)
    ]


def follow_up(client: str, day: int, **scores: object) -> dict[str, object]:
    return {"client_id": client, "day": day, "status": "follow_up", "techniques": "", **scores}


def test_end_of_treatment_and_follow_up_are_reported_apart() -> None:
    clients = make_clients([{"client_id": "A", "baseline_headache_days_28d": 12.0}])
    sessions = make_sessions(
        [
            *course("A", [12, 8, 6, 4]),  # end of treatment (4-week mean of 8, 6, 4): 6
            follow_up("A", 120, headache_days_7d=2, pain_pre=3),  # 8 per 28 days
            follow_up("A", 300, headache_days_28d=9),  # the latest one wins: 9
        ]
    )
    row = compute_client_outcomes(clients, sessions).iloc[0]
    assert (row["hd28_baseline"], row["hd28_latest"], row["hd28_change"]) == (12, 6, -6)
    assert (row["hd28_followup"], row["hd28_followup_change"]) == (9, -3)
    # Pain: no baseline in the intake or the course, so no change, but the value is kept.
    assert row["pain_followup"] == 3 and np.isnan(row["pain_followup_change"])
    assert row["followup_visits"] == 2 and row["followup_days"] == 300 - 21
    assert row["last_followup_date"] == pd.Timestamp("2025-01-06") + pd.Timedelta(days=300)
    # Follow-up visits are not treatment sessions.
    assert (row["sessions_booked"], row["sessions_attended"]) == (4, 4)
    assert row["last_session_date"] == pd.Timestamp("2025-01-27")


def test_a_review_during_the_course_is_not_a_lasting_change_visit() -> None:
    clients = make_clients([{"client_id": "A", "baseline_headache_days_28d": 12.0}])
    sessions = make_sessions([*course("A", [12, 8, 6, 4]), follow_up("A", 10, headache_days_28d=1)])
    row = compute_client_outcomes(clients, sessions).iloc[0]
    assert row["followup_visits"] == 0 and np.isnan(row["hd28_followup"])
    assert row["hd28_latest"] == 6  # and it never enters the end-of-treatment value


def test_a_follow_up_outside_the_window_is_not_analysed() -> None:
    clients = make_clients([{"client_id": "A", "baseline_headache_days_28d": 12.0}])
    sessions = make_sessions([*course("A", [12, 8]), follow_up("A", 500, headache_days_28d=1)])
    assert sessions["series_number"].tolist() == [1, 1, NO_SERIES]
    outcomes = compute_client_outcomes(clients, sessions)
    assert len(outcomes) == 1 and outcomes.iloc[0]["followup_visits"] == 0


def test_only_follow_ups_without_a_series_give_no_outcome() -> None:
    clients = make_clients([{"client_id": "A"}])
    sessions = make_sessions([follow_up("A", 0, pain_pre=4)])
    assert compute_client_outcomes(clients, sessions).empty


def practice() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three trigger-point clients; two came back for a follow-up (changes -4 and -8)."""
    clients = make_clients(
        [{"client_id": c, "baseline_headache_days_28d": 12.0} for c in ("A", "B", "C")]
    )
    sessions = make_sessions(
        [
            *course("A", [12, 6, 6, 6]),
            follow_up("A", 200, headache_days_28d=8),
            *course("B", [12, 6, 6, 6]),
            follow_up("B", 90, headache_days_28d=4),
            *course("C", [12, 6, 6, 6]),
        ]
    )
    return clients, sessions


def test_groups_report_the_follow_up_with_its_own_n() -> None:
    outcomes = compute_client_outcomes(*practice())
    row = compare_groups(outcomes, by="technique", measure="hd28").iloc[0]
    assert (row["n"], row["change_mean"]) == (3, -6)
    assert (row["followup_n"], row["followup_mean"], row["followup_change_mean"]) == (2, 6, -6)
    # t interval with 1 df: -6 +- 12.706 * sd(-4, -8) / sqrt(2) = -6 +- 12.706 * 2
    assert row["followup_change_ci_low"] == pytest.approx(-6 - 12.7062047 * 2)
    assert row["followup_change_ci_high"] == pytest.approx(-6 + 12.7062047 * 2)


def test_the_summary_json_gains_the_follow_up_keys() -> None:
    summary = build_summary(*practice(), by="technique")
    block = summary["groups"][0]["hd28"]
    assert block["followup_n"] == 2
    assert block["followup_mean"] == 6
    assert block["followup_change_mean"] == -6
    assert block["followup_change_ci"] == pytest.approx([-6 - 2 * 12.7062047, -6 + 2 * 12.7062047])
    assert block["change_mean"] == -6 and block["n"] == 3  # the existing keys are kept
    pain = summary["groups"][0]["pain"]
    assert pain["followup_n"] == 0 and pain["followup_change_ci"] is None


def test_an_imported_review_joins_the_series_across_the_gap(sqlite_engine: Engine) -> None:
    export = csv_bytes(
        "client_id,intake_date,baseline_headache_days_28d,session_date,therapist,techniques,"
        "status,headache_days_28d",
        "C1,2025-01-02,12,2025-01-06,Jo Park,TPT,,10",
        "C1,2025-01-02,12,2025-01-13,Jo Park,TPT,attended,6",
        "C1,2025-01-02,12,2025-07-14,Jo Park,,Review,8",
        "C1,2025-01-02,12,2027-01-04,Jo Park,,check-up,2",
    )
    result = import_files(sqlite_engine, [("export.csv", export)])
    assert result.sessions_added == 4
    with sqlite_engine.connect() as conn:
        sessions, clients = fetch_sessions(conn), fetch_clients(conn)
    assert sessions["status"].tolist() == ["attended", "attended", "follow_up", "follow_up"]
    assert sessions["series_number"].tolist() == [1, 1, 1, NO_SERIES]
    row = compute_client_outcomes(clients, sessions).iloc[0]
    assert (row["hd28_latest"], row["hd28_followup"], row["hd28_followup_change"]) == (6, 8, -4)
