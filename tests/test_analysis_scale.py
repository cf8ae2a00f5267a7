"""The whole analysis on about 100,000 sessions: it runs, stays consistent, and says how long.

The time is printed (run with `pytest -s` to see it), never asserted: machines differ.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from practice import analysis
from tests.analysis_frames import Stopwatch, synthetic_practice

N_CLIENTS = 16_000  # about 100,000 sessions from practice.sample


@pytest.fixture(scope="module")
def practice() -> tuple[pd.DataFrame, pd.DataFrame]:
    return synthetic_practice(N_CLIENTS, seed=20261122)


@pytest.mark.slow
def test_full_analysis_at_scale(practice: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    clients, sessions = practice
    before = sessions.copy()
    with Stopwatch() as outcomes_time:
        outcomes = analysis.compute_client_outcomes(clients, sessions)
    with Stopwatch() as rest_time:
        tables = [
            analysis.compare_groups(outcomes, by=by, measure=measure, population=population)
            for by in ("technique", "therapist", "headache_type")
            for measure in ("hd28", "pain")
            for population in ("all", "dropouts_as_nonresponders")
        ]
        exposure = analysis.compare_groups(outcomes, by="technique_exposure", measure="hd28")
        points = analysis.funnel_data(outcomes, measure="hd28")
        residuals = analysis.funnel_data(outcomes, measure="pain", statistic="adjusted_residual")
        curve = analysis.funnel_curve(points)
        response = analysis.time_to_response(outcomes, by="technique", measure="hd28")
        relief = analysis.immediate_relief(sessions, by="technique")
        alerts = analysis.off_track_alerts(outcomes)
        summary = analysis.build_summary(clients, sessions, by="therapist")
    print(
        f"\n{len(sessions):,} sessions, {len(outcomes):,} client series: outcomes "
        f"{outcomes_time.seconds:.2f} s, groups/funnel/survival/relief/alerts/summary "
        f"{rest_time.seconds:.2f} s, total {outcomes_time.seconds + rest_time.seconds:.2f} s"
    )
    pd.testing.assert_frame_equal(sessions, before)
    assert len(sessions) > 90_000
    assert outcomes["client_id"].nunique() == clients["client_id"].nunique()
    assert outcomes.groupby("client_id")["series_number"].min().eq(1).all()
    for table in tables:
        assert (table["n"] <= table["n_series"]).all()
        assert table["responder_rate"].between(0, 1).all()
    assert not exposure.empty and not residuals.empty and not curve.empty
    assert response["survival"].between(0, 1).all()
    assert (relief["n_clients"] <= relief["n_sessions"]).all()
    assert alerts["reason"].str.len().gt(0).all()
    json.dumps(summary, allow_nan=False)
