"""Treatment series and follow-up visits (practice/series.py; docs/metrics.md rule 4)."""

from __future__ import annotations

import pandas as pd
import pytest

from practice.series import NO_SERIES, assign_series


def frame(*rows: tuple[str, str, str] | tuple[str, str, str, str]) -> pd.DataFrame:
    """Sessions from (client, date, status[, series code]) tuples."""
    return pd.DataFrame(
        {
            "client_id": [r[0] for r in rows],
            "session_date": pd.to_datetime([r[1] for r in rows]),
            "status": [r[2] for r in rows],
            "series_code": [r[3] if len(r) > 3 else pd.NA for r in rows],
        }
    )


COURSE = [("A", "2025-01-06", "attended"), ("A", "2025-01-13", "attended")]


@pytest.mark.parametrize(
    ("follow_up_date", "expected"),
    [
        ("2025-04-14", 1),  # 91 days after the last treatment: past the 90-day series gap
        ("2026-01-13", 1),  # exactly 365 days after: still in the window
        ("2026-01-14", NO_SERIES),  # 366 days: no series, never a new one
    ],
)
def test_a_follow_up_joins_the_preceding_series_within_the_window(
    follow_up_date: str, expected: int
) -> None:
    numbers = assign_series(frame(*COURSE, ("A", follow_up_date, "follow_up")))
    assert numbers.tolist() == [1, 1, expected]


def test_the_window_is_a_setting() -> None:
    sessions = frame(*COURSE, ("A", "2025-03-14", "follow_up"))
    assert assign_series(sessions, window_days=30).tolist() == [1, 1, NO_SERIES]
    assert assign_series(sessions, window_days=60).tolist() == [1, 1, 1]


def test_a_follow_up_does_not_bridge_a_gap_between_treatments() -> None:
    # Without the follow-up rule the visits 60 days apart would chain 2025-01 and 2025-05
    # into one series; a follow-up is not treatment, so the second course is series 2.
    sessions = frame(
        *COURSE,
        ("A", "2025-03-14", "follow_up"),
        ("A", "2025-05-12", "attended"),
        ("A", "2025-07-01", "follow_up"),
    )
    assert assign_series(sessions).tolist() == [1, 1, 1, 2, 2]


def test_a_follow_up_before_any_treatment_belongs_to_no_series() -> None:
    sessions = frame(("A", "2025-01-01", "follow_up"), *COURSE)
    assert assign_series(sessions).tolist() == [NO_SERIES, 1, 1]


def test_a_follow_up_with_a_series_code_joins_that_series() -> None:
    sessions = frame(
        ("A", "2025-01-06", "attended", "S1"),
        ("A", "2025-06-02", "attended", "S2"),
        ("A", "2025-07-01", "follow_up", "S1"),
    )
    assert assign_series(sessions).tolist() == [1, 2, 1]


def test_the_window_counts_from_the_last_attended_session() -> None:
    # The no-show on day 200 is not treatment: 400 days after the last attended session.
    sessions = frame(
        *COURSE,
        ("A", "2025-07-25", "no_show"),
        ("A", "2026-02-17", "follow_up"),
    )
    assert assign_series(sessions, gap_days=365).tolist() == [1, 1, 1, NO_SERIES]


def test_follow_ups_of_other_clients_stay_apart_and_order_is_kept() -> None:
    sessions = frame(
        ("B", "2025-09-01", "follow_up"),
        *COURSE,
        ("B", "2025-02-01", "attended"),
        ("A", "2025-09-01", "follow_up"),
    )
    assert assign_series(sessions).tolist() == [1, 1, 1, 1, 1]


def test_without_a_status_column_nothing_is_a_follow_up() -> None:
    sessions = frame(*COURSE, ("A", "2025-06-01", "follow_up")).drop(columns="status")
    assert assign_series(sessions).tolist() == [1, 1, 2]


def test_a_negative_window_is_refused() -> None:
    with pytest.raises(ValueError, match="window_days must be >= 0"):
        assign_series(frame(*COURSE), window_days=-1)
