"""Off-track alerts: who is flagged, who is not, and the reason given."""

from __future__ import annotations

import pandas as pd
import pytest

from practice.analysis import ALERT_COLUMNS, compute_client_outcomes, off_track_alerts
from tests.analysis_frames import make_clients, make_outcomes, make_sessions, weekly


def current(client: str, **values: object) -> dict:
    """An active first series with 4 attended sessions and no scores unless given."""
    return {
        "client_id": client,
        "client_name": f"Client {client}",
        "sessions_attended": 4,
        **values,
    }


@pytest.mark.parametrize(
    ("row", "flags", "reason"),
    [
        # pain 6 -> 5.5 is 8 % better: below 30 %.
        (
            current("A", pain_baseline=6, pain_latest=5.5, pain_pct_change=-100 / 12),
            (True, False, False),
            "Not 30 % better after 4 sessions: pain 6 -> 5.5 (-8 %).",
        ),
        # headache days 10 -> 8 (-20 %), pain 7 -> 6 (-14 %): neither reaches 30 %.
        (
            current(
                "B",
                pain_baseline=7,
                pain_latest=6,
                pain_pct_change=-100 / 7,
                hd28_baseline=10,
                hd28_latest=8,
                hd28_pct_change=-20.0,
            ),
            (True, False, False),
            "Not 30 % better after 4 sessions: pain 7 -> 6 (-14 %); headache days/28d 10 -> 8 "
            "(-20 %).",
        ),
        # no follow-up score at all after 4 sessions
        (
            current("C"),
            (False, True, False),
            "No pain or headache-day score after session 1, 4 sessions in.",
        ),
        # reliably worse after only 2 sessions
        (
            current(
                "D",
                sessions_attended=2,
                pain_baseline=3,
                pain_latest=8,
                pain_pct_change=500 / 3,
                pain_change_label="meaningful and reliable worsening",
            ),
            (False, False, True),
            "Reliably worse pain (0-10): 3 -> 8.",
        ),
    ],
)
def test_alerts_and_reasons(row: dict, flags: tuple[bool, bool, bool], reason: str) -> None:
    alerts = off_track_alerts(make_outcomes([row]))
    assert list(alerts.columns) == ALERT_COLUMNS
    assert len(alerts) == 1
    assert tuple(alerts.loc[0, ["no_improvement", "no_scores", "worsening"]]) == flags
    assert alerts.at[0, "reason"] == reason


@pytest.mark.parametrize(
    "row",
    [
        current("E", hd28_baseline=10, hd28_latest=7, hd28_pct_change=-30.0),  # exactly 30 %
        current("F", sessions_attended=3, pain_baseline=6, pain_latest=6, pain_pct_change=0.0),
        current("G", active=False, pain_baseline=6, pain_latest=6, pain_pct_change=0.0),
    ],
    ids=["improved", "too-early", "not-active"],
)
def test_no_alert(row: dict) -> None:
    assert off_track_alerts(make_outcomes([row])).empty


def test_only_the_latest_series_counts() -> None:
    rows = [
        current(
            "H", series_number=1, active=True, pain_baseline=6, pain_latest=6, pain_pct_change=0.0
        ),
        current("H", series_number=2, pain_baseline=6, pain_latest=3, pain_pct_change=-50.0),
    ]
    assert off_track_alerts(make_outcomes(rows)).empty


def test_after_sessions_setting() -> None:
    rows = make_outcomes(
        [current("F", sessions_attended=3, pain_baseline=6, pain_latest=6, pain_pct_change=0.0)]
    )
    assert off_track_alerts(rows, after_sessions=3)["client_id"].tolist() == ["F"]
    with pytest.raises(ValueError, match="after_sessions"):
        off_track_alerts(rows, after_sessions=0)


def test_alerts_from_sessions_end_to_end() -> None:
    clients = make_clients([{"client_id": "S", "baseline_pain": 6}])
    sessions = make_sessions(weekly("S", {"pain_pre": [6, 6, 5.5, 5.5]}))
    outcomes = compute_client_outcomes(clients, sessions)
    before = outcomes.copy()
    alerts = off_track_alerts(outcomes)
    assert alerts["reason"].tolist() == ["Not 30 % better after 4 sessions: pain 6 -> 5.5 (-8 %)."]
    pd.testing.assert_frame_equal(outcomes, before)
    assert off_track_alerts(make_outcomes([])).empty
