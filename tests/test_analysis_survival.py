"""Kaplan-Meier time to response, against a hand example and statsmodels' SurvfuncRight."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.duration.survfunc import SurvfuncRight

from practice.analysis import TIME_COLUMNS, kaplan_meier, time_to_response
from tests.analysis_frames import make_outcomes

Z = 1.959963984540054

# Six clients: responses at sessions 2, 3, 5; censored (stopped unimproved) at 2, 4, 5.
TIMES = [2, 2, 3, 4, 5, 5]
EVENTS = [True, False, True, False, True, False]


@pytest.fixture(scope="module")
def curve() -> pd.DataFrame:
    data = pd.DataFrame({"group": "g", "time": TIMES, "event": EVENTS})
    return kaplan_meier(data).set_index("time")


@pytest.mark.parametrize(
    ("time", "at_risk", "events", "censored", "survival"),
    [
        (0, 6, 0, 0, 1.0),
        (2, 6, 1, 1, 5 / 6),  # 1 - 1/6
        (3, 4, 1, 0, 5 / 6 * 3 / 4),  # 0.625
        (4, 3, 0, 1, 0.625),
        (5, 2, 1, 1, 0.625 / 2),  # 0.3125
    ],
)
def test_kaplan_meier_by_hand(
    curve: pd.DataFrame, time: int, at_risk: int, events: int, censored: int, survival: float
) -> None:
    row = curve.loc[float(time)]
    assert (row["n_at_risk"], row["n_events"], row["n_censored"]) == (at_risk, events, censored)
    assert row["survival"] == pytest.approx(survival)
    assert row["cumulative_response"] == pytest.approx(1 - survival)


def test_loglog_interval_by_hand(curve: pd.DataFrame) -> None:
    # t = 3: Greenwood sum 1/(6 x 5) + 1/(4 x 3) = 0.1167; se of log(-log S) = sqrt(0.1167) /
    # |log 0.625|; interval S^exp(+-1.96 se).
    s = 0.625
    se = math.sqrt(1 / 30 + 1 / 12) / abs(math.log(s))
    row = curve.loc[3.0]
    assert row["survival_ci_low"] == pytest.approx(s ** math.exp(Z * se))
    assert row["survival_ci_high"] == pytest.approx(s ** math.exp(-Z * se))
    assert row["cumulative_response_ci_high"] == pytest.approx(1 - s ** math.exp(Z * se))
    assert (curve.loc[0.0, "survival_ci_low"], curve.loc[0.0, "survival_ci_high"]) == (1.0, 1.0)


def test_matches_statsmodels_survfuncright(curve: pd.DataFrame) -> None:
    rng = np.random.default_rng(5)
    time = rng.integers(2, 12, 60).astype(float)
    event = rng.random(60) < 0.6
    ours = kaplan_meier(pd.DataFrame({"group": "g", "time": time, "event": event}))
    ours = ours.loc[ours["n_events"] > 0].set_index("time")
    reference = SurvfuncRight(time, event.astype(int))
    assert ours.index.to_numpy() == pytest.approx(reference.surv_times)
    assert ours["survival"].to_numpy() == pytest.approx(reference.surv_prob)
    assert ours["n_at_risk"].to_numpy() == pytest.approx(reference.n_risk)
    # statsmodels' standard error is Greenwood's: S x sqrt(sum d / (n (n - d))).
    inner = (ours["survival"] > 0).to_numpy()
    se = reference.surv_prob_se[inner]
    log_s = np.log(reference.surv_prob[inner])
    low = reference.surv_prob[inner] ** np.exp(Z * se / reference.surv_prob[inner] / -log_s)
    assert ours["survival_ci_low"].to_numpy()[inner] == pytest.approx(low)


def test_groups_are_separate() -> None:
    data = pd.DataFrame({"group": ["a", "a", "b"], "time": [2, 3, 2], "event": [1, 1, 0]})
    curve = kaplan_meier(data)
    assert curve.groupby("group")["survival"].last().to_dict() == {"a": 0.0, "b": 1.0}
    last_a = curve.loc[curve["group"].eq("a")].iloc[-1]
    assert math.isnan(last_a["survival_ci_low"])  # no interval once everyone responded


def test_time_to_response_from_outcomes() -> None:
    rows = make_outcomes(
        [
            # responded at session 3 (day 14)
            {
                "client_id": "a",
                "pain_baseline": 8,
                "pain_latest": 4,
                "pain_sessions_to_response": 3,
                "pain_days_to_response": 14,
                "pain_last_report_session": 6,
                "pain_last_report_day": 35,
            },
            # stopped unimproved after session 4: censored there
            {
                "client_id": "b",
                "pain_baseline": 6,
                "pain_latest": 6,
                "pain_last_report_session": 4,
                "pain_last_report_day": 21,
            },
            # baseline 0: never a responder, left out
            {
                "client_id": "c",
                "pain_baseline": 0,
                "pain_latest": 1,
                "pain_last_report_session": 5,
                "pain_last_report_day": 28,
            },
            # another technique, responded at session 2
            {
                "client_id": "d",
                "primary_technique": "swedish",
                "pain_baseline": 5,
                "pain_latest": 2,
                "pain_sessions_to_response": 2,
                "pain_days_to_response": 7,
                "pain_last_report_session": 2,
                "pain_last_report_day": 7,
            },
        ]
    )
    curve = time_to_response(rows, by="technique", measure="pain")
    assert list(curve.columns) == TIME_COLUMNS
    tp = curve.loc[curve["group"].eq("trigger_point")].set_index("time")
    assert tp.loc[0.0, "n_at_risk"] == 2
    assert tp.loc[3.0, "survival"] == pytest.approx(0.5)
    assert tp.loc[4.0, "n_censored"] == 1
    days = time_to_response(rows, by="technique", measure="pain", scale="days")
    assert sorted(days.loc[days["group"].eq("trigger_point"), "time"]) == [0.0, 14.0, 21.0]
    sw = curve.loc[curve["group"].eq("swedish")]
    assert sw["cumulative_response"].iloc[-1] == 1.0


def test_empty_and_invalid() -> None:
    curve = time_to_response(make_outcomes([]), measure="hd28")
    assert curve.empty and list(curve.columns) == TIME_COLUMNS
    with pytest.raises(ValueError, match="measure must be one of"):
        time_to_response(make_outcomes([]), measure="hit6")
    with pytest.raises(ValueError, match="scale must be one of"):
        time_to_response(make_outcomes([]), scale="weeks")
    with pytest.raises(ValueError, match="data is missing columns"):
        kaplan_meier(pd.DataFrame({"time": [1]}))
