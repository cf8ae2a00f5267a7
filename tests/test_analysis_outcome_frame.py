"""The outcome frame itself: dtypes of the columns built without work, and no shared memory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from practice.analysis import compute_client_outcomes
from practice.analysis.followup import FOLLOWUP_COLUMNS
from tests.analysis_frames import make_clients, make_sessions, weekly


@pytest.fixture(scope="module")
def practice() -> tuple[pd.DataFrame, pd.DataFrame]:
    clients = make_clients([{"client_id": "A", "baseline_headache_days_28d": 12}])
    sessions = make_sessions(weekly("A", {"pain_pre": [6, 5, 4], "headache_days_7d": [3, 2, 1]}))
    return clients, sessions


def test_without_follow_up_visits_the_follow_up_columns_are_empty_and_typed(
    practice: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    out = compute_client_outcomes(*practice)
    assert out["followup_visits"].dtype == np.dtype("int64")
    assert out["followup_visits"].tolist() == [0]
    assert out["last_followup_date"].dtype == practice[1]["session_date"].dtype
    assert out["last_followup_date"].isna().all()
    floats = [c for c in FOLLOWUP_COLUMNS if c not in ("followup_visits", "last_followup_date")]
    assert (out[floats].dtypes == np.dtype("float64")).all()
    assert out[floats].isna().all().all()


def test_writing_into_one_column_changes_no_other_column_nor_the_input(
    practice: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    clients, sessions = practice
    before = sessions.copy()
    out = compute_client_outcomes(clients, sessions)
    reported = out["hd28_baseline_reported"].iloc[0]
    out.loc[0, "hd28_baseline"] = -1.0
    assert out["hd28_baseline_reported"].iloc[0] == reported
    assert compute_client_outcomes(clients, sessions)["hd28_baseline"].iloc[0] == 12
    pd.testing.assert_frame_equal(sessions, before)
