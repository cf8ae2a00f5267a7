"""Headache and medication days per 28 days from diaries, against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from practice import progress
from practice.analysis import compute_client_outcomes
from practice.analysis.diary import WINDOW_COLUMNS, diary_source_summary, diary_windows
from practice.reports import summarise_client
from practice.reports.practice_report import summarise_practice
from tests.analysis_frames import make_clients, make_sessions, weekly

DAY0 = pd.Timestamp("2025-01-06")  # every client's first session (analysis_frames' day 0)


def days(client: str, offsets: range | list[int], *, headache: list[int] = (), **values) -> list:
    """Diary rows of `client` on days `offsets` after DAY0; headache on the `headache` days."""
    rows = []
    for offset in offsets:
        hurt = offset in headache
        rows.append(
            {
                "client_id": client,
                "diary_date": DAY0 + pd.Timedelta(days=offset),
                "headache": hurt,
                "severity": values.get("severity", {}).get(offset, 2.0 if hurt else 0.0),
                "medication": 1.0 if offset in values.get("medication", ()) else 0.0,
            }
        )
    return rows


@pytest.fixture(scope="module")
def diary() -> pd.DataFrame:
    """A: complete baseline (7 of 28 days), window 1 with 16 logged days (2 headache days),
    window 2 with 10 (left out), and days outside every window. C: a diary from day 0 only."""
    rows = (
        days(
            "A", range(-28, 0), headache=[-28, -24, -20, -16, -12, -8, -4], medication=[-28, -8, -4]
        )
        + days("A", [-29], headache=[-29])  # before the baseline window
        + days("A", range(16), headache=[0, 8], severity={0: 1.0, 8: 3.0}, medication=[8])
        + days("A", range(28, 38), headache=[28, 29, 30, 31, 32])
        + days("A", [60], headache=[60])  # after the series' last window
        + days("C", range(25), headache=[1, 2, 3, 4, 5])
    )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def practice() -> tuple[pd.DataFrame, pd.DataFrame]:
    clients = make_clients(
        [
            {"client_id": "A", "baseline_headache_days_28d": 12},
            {"client_id": "B", "baseline_headache_days_28d": 10},
            {"client_id": "C", "baseline_headache_days_28d": 12},
        ]
    )
    sessions = make_sessions(
        weekly("A", {"pain_pre": [6] * 7, "headache_days_7d": [3, 3, 2, 2, 2, 1, 1]})
        + weekly("B", {"pain_pre": [5] * 4, "headache_days_7d": [2, 2, 1, 1]})
        + weekly("C", {"pain_pre": [5] * 4, "headache_days_7d": [3, 3, 3, 3]})
    )
    return clients, sessions


def test_windows_count_prorate_and_leave_out_by_logged_days(diary: pd.DataFrame) -> None:
    series = pd.DataFrame(
        {
            "client_id": ["A"],
            "series_number": [1],
            "first_session_date": [DAY0],
            "last_session_date": [DAY0 + pd.Timedelta(days=42)],  # windows 1 and 2
        }
    )
    windows = diary_windows(diary, series)
    assert list(windows.columns) == WINDOW_COLUMNS
    expected = pd.DataFrame(
        {
            "client_id": ["A", "A", "A"],
            "series_number": [1, 1, 1],
            "window": [0, 1, 2],
            "window_start": pd.to_datetime(["2024-12-09", "2025-01-06", "2025-02-03"]),
            "window_end": pd.to_datetime(["2025-01-05", "2025-02-02", "2025-03-02"]),
            "days_logged": [28, 16, 10],
            "headache_days": [7, 2, 5],
            "medication_days": [3, 1, 0],
            "severity_mean": [2.0, 2.0, 2.0],  # window 1: (1 + 3) / 2
            "pain_mean": [np.nan] * 3,
            "hd28": [7.0, 2 * 28 / 16, np.nan],  # 16 of 28 days: pro-rated; 10: left out
            "medication_days_28": [3.0, 1 * 28 / 16, np.nan],
            "prorated": [False, True, False],
            "included": [True, True, False],
        }
    )
    pd.testing.assert_frame_equal(windows, expected, check_dtype=False)


def test_the_diary_wins_over_reported_figures_and_says_so(
    practice: tuple[pd.DataFrame, pd.DataFrame], diary: pd.DataFrame
) -> None:
    outcomes = compute_client_outcomes(*practice, diary=diary).set_index("client_id")
    a, b, c = outcomes.loc["A"], outcomes.loc["B"], outcomes.loc["C"]
    # A: baseline 7 from the diary (the intake said 12); latest 3.5 from window 1 (window 2 has
    # too few days); change -3.5 = -50 %: a responder.
    assert (a["hd28_baseline"], a["hd28_baseline_from"], a["hd28_baseline_reported"]) == (
        7.0,
        "diary",
        12.0,
    )
    assert (a["hd28_latest"], a["hd28_latest_from"], a["hd28_source"]) == (3.5, "diary", "diary")
    assert a["hd28_change"] == -3.5 and bool(a["hd28_responder_50"])
    # The reported latest: the weekly counts of the last 28 days (2, 2, 1, 1) x 4 averaged.
    assert a["hd28_latest_reported"] == 4 * (2 + 2 + 1 + 1) / 4
    assert (a["medication_days_baseline"], a["medication_days_latest"]) == (3.0, 1.75)
    assert a["medication_days_source"] == "diary"
    assert a["diary_days_logged"] == 28 + 16 + 10
    # B kept no diary: everything as reported.
    assert (b["hd28_baseline_from"], b["hd28_latest_from"], b["hd28_source"]) == (
        "intake",
        "sessions",
        "reported",
    )
    assert b["diary_days_logged"] == 0
    # C began the diary at the first session: baseline from the intake, latest from a complete
    # window (25 logged days count as they are: 5 headache days).
    assert (c["hd28_baseline"], c["hd28_latest"], c["hd28_source"]) == (12.0, 5.0, "mixed")


def test_without_a_diary_outcomes_are_unchanged_and_marked_reported(
    practice: tuple[pd.DataFrame, pd.DataFrame], diary: pd.DataFrame
) -> None:
    plain = compute_client_outcomes(*practice)
    empty = compute_client_outcomes(*practice, diary=diary.iloc[0:0])
    pd.testing.assert_frame_equal(plain, empty)
    assert set(plain["hd28_source"]) == {"reported"}
    assert (plain["hd28_baseline_reported"] == plain["hd28_baseline"]).all()


def test_settings_change_the_minimums_and_are_checked(diary: pd.DataFrame) -> None:
    series = pd.DataFrame(
        {
            "client_id": ["A"],
            "series_number": [1],
            "first_session_date": [DAY0],
            "last_session_date": [DAY0 + pd.Timedelta(days=42)],
        }
    )
    lenient = diary_windows(diary, series, complete_days=10, min_days=10)
    assert lenient["hd28"].tolist() == [7.0, 2.0, 5.0]  # nothing pro-rated or left out
    with pytest.raises(ValueError, match=r"min_days \(21\) <= complete_days \(20\)"):
        diary_windows(diary, series, complete_days=20, min_days=21)
    with pytest.raises(ValueError, match="diary is missing columns"):
        diary_windows(diary.drop(columns="headache"), series)


def test_the_input_frames_are_not_changed(
    practice: tuple[pd.DataFrame, pd.DataFrame], diary: pd.DataFrame
) -> None:
    before = diary.copy()
    compute_client_outcomes(*practice, diary=diary)
    pd.testing.assert_frame_equal(diary, before)


def test_progress_and_the_client_report_say_which_figures_came_from_the_diary(
    practice: tuple[pd.DataFrame, pd.DataFrame], diary: pd.DataFrame
) -> None:
    outcomes = compute_client_outcomes(*practice, diary=diary)
    a = outcomes.set_index("client_id").loc["A"]
    summary = progress.change_summary(a).set_index("measure")
    hd28 = summary.loc[summary.index.str.startswith("Headache days")].iloc[0]
    assert (hd28["baseline_from"], hd28["latest_from"]) == ("headache diary", "headache diary")
    pain = summary.loc[summary.index.str.startswith("Pain")].iloc[0]
    assert pain["latest_from"] == "session reports"
    assert progress.diary_source_text(a, "hd28") == "from the headache diary"
    c = outcomes.set_index("client_id").loc["C"]
    assert progress.diary_source_text(c, "hd28") == "latest from the headache diary"
    assert progress.diary_source_text(outcomes.set_index("client_id").loc["B"], "hd28") == ""
    report = summarise_client(*practice, "A", outcomes=outcomes)
    assert report.headline[0][0] == "Headache days per 28 days (from the headache diary)"


def test_the_source_summary_counts_series_that_took_figures_from_the_diary(
    practice: tuple[pd.DataFrame, pd.DataFrame], diary: pd.DataFrame
) -> None:
    outcomes = compute_client_outcomes(*practice, diary=diary)
    assert diary_source_summary(outcomes) == (
        "from a headache diary in 2 of 3 series (1 baseline and latest, 1 one of the two); "
        "the rest from reports"
    )
    assert diary_source_summary(compute_client_outcomes(*practice)) == ""
    rows = dict(summarise_practice(*practice, outcomes=outcomes).population)
    assert rows["Headache days per 28 days came"].startswith("from a headache diary in 2 of 3")


@pytest.mark.parametrize(
    ("at", "latest", "latest_from"),
    [
        ("4w", 3.5, "diary"),  # window 1 (days 0-27) ends at the time point: pro-rated 2 of 16
        ("8w", 6.0, "sessions"),  # window 2 has too few logged days: the reports' value stays
    ],
)
def test_at_a_time_point_the_diary_window_ending_there_is_used(
    practice: tuple[pd.DataFrame, pd.DataFrame],
    diary: pd.DataFrame,
    at: str,
    latest: float,
    latest_from: str,
) -> None:
    outcomes = compute_client_outcomes(*practice, diary=diary, at=at).set_index("client_id")
    a = outcomes.loc["A"]
    assert (a["hd28_latest"], a["hd28_latest_from"]) == (pytest.approx(latest), latest_from)
    assert a["hd28_baseline_from"] == "diary"


def test_the_window_table_shows_how_each_window_was_counted(
    practice: tuple[pd.DataFrame, pd.DataFrame], diary: pd.DataFrame
) -> None:
    outcomes = compute_client_outcomes(*practice, diary=diary)
    table = progress.diary_window_table(diary, outcomes[outcomes["client_id"] == "A"].iloc[0])
    assert table["Window"].tolist() == ["baseline", "1", "2"]
    assert table["Days logged"].tolist() == [28, 16, 10]
    assert table["Headache days per 28 days"].tolist()[:2] == [7.0, 3.5]
    assert table["Counted"].tolist() == [
        "as logged",
        "pro-rated to 28 days",
        "left out: too few days logged",
    ]
    assert str(table["From"].iloc[0]) == "2024-12-09"
