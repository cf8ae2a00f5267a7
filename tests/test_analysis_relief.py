"""Immediate relief per group, with the client-clustered interval checked against statsmodels."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from practice.analysis import RELIEF_COLUMNS, immediate_relief
from tests.analysis_frames import make_clients, make_sessions

T_1DF = 12.706204736174698  # two-sided 95 % Student t quantile, 1 degree of freedom


@pytest.fixture(scope="module")
def sessions() -> pd.DataFrame:
    return make_sessions(
        [
            {"client_id": "X", "day": 0, "pain_pre": 8, "pain_post": 5, "techniques": "a;b"},
            {"client_id": "X", "day": 7, "pain_pre": 6, "pain_post": 5, "techniques": "a;b;a"},
            {
                "client_id": "Y",
                "day": 0,
                "pain_pre": 7,
                "pain_post": 3,
                "techniques": "a",
                "therapist": "Ben",
            },
            {
                "client_id": "Y",
                "day": 7,
                "pain_pre": 7,
                "pain_post": 2,
                "techniques": "a",
                "status": "no_show",
            },  # not attended: ignored
            {"client_id": "Y", "day": 14, "pain_pre": 7, "techniques": "a"},  # no post score
        ]
    )


def test_relief_by_technique_by_hand(sessions: pd.DataFrame) -> None:
    table = immediate_relief(sessions, by="technique")
    assert list(table.columns) == RELIEF_COLUMNS
    table = table.set_index("group")
    # a: reliefs 3, 1 (client X) and 4 (client Y): mean 8/3. Residual sums per client:
    # X (1/3 - 5/3) = -4/3, Y 4/3 -> SE = sqrt(2/1 x 32/9) / 3 = 8/9, t with 1 df.
    a = table.loc["a"]
    assert (a["n_sessions"], a["n_clients"]) == (3, 2)
    assert a["relief_mean"] == pytest.approx(8 / 3)
    assert a["relief_ci_low"] == pytest.approx(8 / 3 - T_1DF * 8 / 9)
    assert a["relief_ci_high"] == pytest.approx(8 / 3 + T_1DF * 8 / 9)
    # b: one client -> no interval.
    b = table.loc["b"]
    assert (b["n_sessions"], b["n_clients"], b["relief_mean"]) == (2, 1, 2.0)
    assert math.isnan(b["relief_ci_low"])


def test_clustered_error_matches_statsmodels() -> None:
    rng = np.random.default_rng(3)
    clients = rng.integers(0, 8, 50)
    pre = rng.integers(3, 10, 50).astype(float)
    post = np.clip(pre - rng.integers(0, 4, 50), 0, 10)
    sessions = make_sessions(
        [
            {"client_id": f"C{c}", "day": i, "pain_pre": p, "pain_post": q, "techniques": "a"}
            for i, (c, p, q) in enumerate(zip(clients, pre, post, strict=True))
        ]
    )
    row = immediate_relief(sessions, by="technique").iloc[0]
    fit = sm.OLS(pre - post, np.ones(50)).fit(cov_type="cluster", cov_kwds={"groups": clients})
    groups = len(np.unique(clients))
    half = row["relief_ci_high"] - row["relief_mean"]
    assert row["relief_mean"] == pytest.approx(fit.params[0])
    assert half == pytest.approx(stats.t.ppf(0.975, groups - 1) * fit.bse[0])


def test_relief_by_therapist_and_headache_type(sessions: pd.DataFrame) -> None:
    by_therapist = immediate_relief(sessions, by="therapist").set_index("group")
    assert by_therapist["n_sessions"].to_dict() == {"Ana": 2, "Ben": 1}
    clients = make_clients(
        [
            {"client_id": "X", "headache_type": "migraine"},
            {"client_id": "Y", "headache_type": pd.NA},
        ]
    )
    by_type = immediate_relief(sessions, by="headache_type", clients=clients).set_index("group")
    assert by_type["relief_mean"].to_dict() == {"migraine": 2.0, "not recorded": 4.0}


def test_empty_invalid_and_not_mutated(sessions: pd.DataFrame) -> None:
    before = sessions.copy()
    immediate_relief(sessions)
    pd.testing.assert_frame_equal(sessions, before)
    empty = immediate_relief(make_sessions([]))
    assert empty.empty and list(empty.columns) == RELIEF_COLUMNS
    with pytest.raises(ValueError, match="by must be one of"):
        immediate_relief(sessions, by="room")
    with pytest.raises(ValueError, match="clients must be a pandas DataFrame"):
        immediate_relief(sessions, by="headache_type")


def test_technique_cells_blank_missing_single_several_and_repeated() -> None:
    cells = ["", None, "nan", " ; ", "a", "b; a ;b", "a;a", " c ", "a;c;b", "c"]
    sessions = make_sessions(
        [
            {"client_id": f"C{i % 3}", "day": i, "pain_pre": 8, "pain_post": 8 - i, "techniques": t}
            for i, t in enumerate(cells)
        ]
    )
    # Every other session first: a filtered frame keeps its own index labels.
    sessions = pd.concat([sessions.iloc[1::2], sessions.iloc[::2]])
    table = immediate_relief(sessions, by="technique").set_index("group")
    assert list(table.index) == ["a", "c", "b"]  # most sessions first
    # Sessions 0-3 name no technique; a technique named twice in a session counts once.
    assert table["n_sessions"].to_dict() == {"a": 4, "b": 2, "c": 3}
    assert table["relief_mean"].to_dict() == {
        "a": (4 + 5 + 6 + 8) / 4,
        "b": (5 + 8) / 2,
        "c": (7 + 8 + 9) / 3,
    }
    assert table["n_clients"].to_dict() == {"a": 3, "b": 1, "c": 3}
