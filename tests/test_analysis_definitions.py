"""The responder definitions follow their cited sources, and every view uses the same rule."""

from __future__ import annotations

import pandas as pd
import pytest

from practice import config
from practice.analysis import compute_client_outcomes, off_track_alerts, pain_rule_text
from tests.analysis_frames import make_clients, make_sessions, weekly

METRICS = (config.PROJECT_ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")


def low_baseline_client() -> pd.DataFrame:
    """Pain 5 at intake, then 5, 5, 4, 3.5 weekly: 30 % less pain, but only 1.5 points."""
    clients = make_clients([{"client_id": "A", "baseline_pain": 5}])
    sessions = make_sessions(weekly("A", {"pain_pre": [5, 5, 4, 3.5]}))
    return compute_client_outcomes(clients, sessions)


def test_the_headline_pain_responder_is_30_percent_as_immpact_says() -> None:
    outcomes = low_baseline_client()
    row = outcomes.iloc[0]
    assert row["pain_pct_change"] == pytest.approx(-30.0)
    assert bool(row["pain_responder_30"]) is True
    assert row["pain_change_label"] == "meaningful"
    assert row["pain_sessions_to_response"] == 4.0
    assert off_track_alerts(outcomes).empty
    assert pain_rule_text() == "30 %"


def test_the_2_point_rule_is_an_option_used_by_every_view(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(config, "PAIN_RESPONDER_MIN_POINTS", 2.0)
    outcomes = low_baseline_client()
    row = outcomes.iloc[0]
    assert bool(row["pain_responder_30"]) is False
    assert row["pain_change_label"] == "not enough data to judge"  # one client: no spread
    assert pd.isna(row["pain_sessions_to_response"])
    # The off-track alert judges pain by the same rule: not a responder, so alerted.
    alerts = off_track_alerts(outcomes)
    assert alerts["client_id"].tolist() == ["A"]
    assert bool(alerts.at[0, "no_improvement"]) is True
    assert pain_rule_text() == "30 % and 2 points"


def test_the_alert_and_the_responder_agree_for_every_client_and_option(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No current client is both a headline pain responder and 'not 30 % better'."""
    pains = {"A": [5, 5, 4, 3.5], "B": [8, 8, 7, 5.6], "C": [3, 3, 3, 2], "D": [6, 6, 6, 5]}
    clients = make_clients([{"client_id": k, "baseline_pain": v[0]} for k, v in pains.items()])
    rows = [r for k, v in pains.items() for r in weekly(k, {"pain_pre": v})]
    for points in (0.0, 2.0):
        monkeypatch.setattr(config, "PAIN_RESPONDER_MIN_POINTS", points)
        outcomes = compute_client_outcomes(clients, make_sessions(rows))
        alerted = set(off_track_alerts(outcomes)["client_id"])
        responders = set(outcomes.loc[outcomes["pain_responder_30"].eq(True), "client_id"])
        assert alerted == set(pains) - responders, points


def test_the_docs_cite_the_tension_type_guideline_and_the_option() -> None:
    assert "Bendtsen L, Bigal ME, Cerbo R, et al. Guidelines for controlled trials of drugs in" in (
        METRICS
    )
    assert "Bendtsen 2010 [25]" in METRICS
    assert "`PAIN_RESPONDER_MIN_POINTS` | 0 (off)" in METRICS
    assert "PAIN_MODERATE_POINTS" not in METRICS
