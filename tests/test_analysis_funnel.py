"""Funnel-plot data and Spiegelhalter's over-dispersion correction, against the formulas."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from practice.analysis import (
    CURVE_COLUMNS,
    FUNNEL_COLUMNS,
    estimate_overdispersion,
    funnel_curve,
    funnel_data,
)
from tests.analysis_frames import make_outcomes

Z95, Z998 = 1.959963984540054, 3.090232306167813

# therapist: (clients with a responder flag, responders); "Eve" is below MIN_GROUP_N (5).
COUNTS = {"Ana": (10, 5), "Ben": (20, 8), "Cleo": (10, 2), "Dev": (6, 5), "Eve": (2, 2)}


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    records = []
    for therapist, (n, hits) in COUNTS.items():
        for i in range(n):
            latest = 4.0 if i < hits else 9.0
            records.append(
                {
                    "client_id": f"{therapist}{i}",
                    "therapist": therapist,
                    "hd28_baseline": 10.0,
                    "hd28_latest": latest,
                    "hd28_change": latest - 10,
                    "hd28_responder_50": i < hits,
                }
            )
    return make_outcomes(records)


def test_overdispersion_by_hand() -> None:
    # z = -2..2: the 10 % / 90 % quantiles are -1.6 and 1.6, so the winsorised squares are
    # 2.56, 1, 0, 1, 2.56 -> phi = 7.12 / 5 = 1.424. With se = 1: sum w = 5, sum w^2 = 5,
    # tau^2 = (5 x 1.424 - 4) / (5 - 5 / 5) = 3.12 / 4 = 0.78.
    phi, tau2 = estimate_overdispersion(pd.Series([-2.0, -1, 0, 1, 2]), pd.Series([1.0] * 5))
    assert phi == pytest.approx(1.424)
    assert tau2 == pytest.approx(0.78)


def test_underdispersion_gives_no_between_group_variance() -> None:
    phi, tau2 = estimate_overdispersion(pd.Series([-0.5, 0, 0.5]), pd.Series([1.0] * 3))
    assert phi < 1
    assert tau2 == 0


def test_too_few_groups_to_estimate() -> None:
    phi, tau2 = estimate_overdispersion(pd.Series([-3.0, 3.0]), pd.Series([1.0, 1.0]))
    assert math.isnan(phi) and math.isnan(tau2)


def expected_units() -> pd.DataFrame:
    """The funnel worked out plainly from COUNTS (Spiegelhalter 2005)."""
    n = pd.Series({k: v[0] for k, v in COUNTS.items()}, dtype=float)
    hits = pd.Series({k: v[1] for k, v in COUNTS.items()}, dtype=float)
    target = hits.sum() / n.sum()  # 22 / 48
    se = np.sqrt(target * (1 - target) / n)
    z = (hits / n - target) / se
    judged = n >= 5
    zj, sej = z[judged].to_numpy(), se[judged].to_numpy()
    low, high = np.quantile(zj, [0.1, 0.9])
    phi = np.mean(np.clip(zj, low, high) ** 2)
    w = 1 / sej**2
    tau2 = max(0.0, (4 * phi - 3) / (w.sum() - (w**2).sum() / w.sum()))
    return pd.DataFrame(
        {"n": n, "value": hits / n, "target": target, "se": se, "z": z, "phi": phi, "tau2": tau2}
    )


def test_responder_rate_funnel_matches_the_formulas(rows: pd.DataFrame) -> None:
    points = funnel_data(rows, measure="hd28")
    assert list(points.columns) == FUNNEL_COLUMNS
    points = points.set_index("group")
    expected = expected_units().loc[points.index]
    for column in ("n", "value", "target", "se", "z", "phi", "tau2"):
        assert points[column].to_numpy(float) == pytest.approx(expected[column].to_numpy())
    spread = np.sqrt(expected["se"] ** 2 + expected["tau2"])
    assert points["upper_95"].to_numpy(float) == pytest.approx(
        np.clip(expected["target"] + Z95 * spread, 0, 1).to_numpy()
    )
    assert points["lower_998"].to_numpy(float) == pytest.approx(
        np.clip(expected["target"] - Z998 * spread, 0, 1).to_numpy()
    )
    assert points["z_adjusted"].to_numpy(float) == pytest.approx(
        ((expected["value"] - expected["target"]) / spread).to_numpy()
    )
    assert points.at["Eve", "small_n"]
    assert points.at["Eve", "position"] == "not judged (small n)"
    assert set(points["overdispersion"]) == {"additive"}


@pytest.mark.parametrize("method", ["multiplicative", "none"])
def test_other_overdispersion_methods(rows: pd.DataFrame, method: str) -> None:
    points = funnel_data(rows, measure="hd28", overdispersion=method).set_index("group")
    expected = expected_units().loc[points.index]
    factor = math.sqrt(max(expected["phi"].iloc[0], 1.0)) if method == "multiplicative" else 1.0
    upper = np.clip(expected["target"] + Z95 * expected["se"] * factor, 0, 1)
    assert points["upper_95"].to_numpy(float) == pytest.approx(upper.to_numpy())


def test_positions(rows: pd.DataFrame) -> None:
    points = funnel_data(rows, measure="hd28", overdispersion="none").set_index("group")
    # Dev: 5/6 = 0.83 against 22/48 = 0.46 with se 0.203: z = 1.84 -> within 95 % limits.
    # Cleo: 2/10 = 0.2, se 0.158, z = -1.64 -> within. Ben and Ana sit near the target.
    assert points.at["Dev", "position"] == "within limits"
    assert (
        points["position"]
        .isin(
            [
                "within limits",
                "not judged (small n)",
                "above 95 % limit",
                "below 95 % limit",
                "above 99.8 % limit",
                "below 99.8 % limit",
            ]
        )
        .all()
    )


def test_adjusted_residual_funnel(rows: pd.DataFrame) -> None:
    varied = rows.assign(hd28_baseline=10.0 + np.arange(len(rows)) % 3)
    points = funnel_data(varied, measure="hd28", statistic="adjusted_residual").set_index("group")
    fit = smf.ols("hd28_latest ~ hd28_baseline", data=varied).fit()
    mean_residual = fit.resid.groupby(varied["therapist"]).mean()
    assert points["value"].to_numpy(float) == pytest.approx(
        mean_residual.loc[points.index].to_numpy()
    )
    assert set(points["target"]) == {0.0}
    assert points["unit_sd"].iloc[0] == pytest.approx(math.sqrt(fit.scale))


def test_funnel_curve_follows_the_limits(rows: pd.DataFrame) -> None:
    points = funnel_data(rows, measure="hd28")
    curve = funnel_curve(points, n_points=20)
    assert list(curve.columns) == CURVE_COLUMNS
    assert curve["n"].min() == 1 and curve["n"].max() == 22  # round(1.1 x 20)
    target, tau2 = points["target"].iloc[0], points["tau2"].iloc[0]
    at_10 = curve.set_index("n").loc[10.0]
    spread = math.sqrt(target * (1 - target) / 10 + tau2)
    assert at_10["upper_95"] == pytest.approx(min(1.0, target + Z95 * spread))
    assert funnel_curve(funnel_data(make_outcomes([]), measure="hd28")).empty


def test_empty_and_invalid(rows: pd.DataFrame) -> None:
    empty = funnel_data(make_outcomes([]), measure="hd28")
    assert empty.empty and list(empty.columns) == FUNNEL_COLUMNS
    with pytest.raises(ValueError, match="no responder rule"):
        funnel_data(rows, measure="stress")
    with pytest.raises(ValueError, match="by must be one of"):
        funnel_data(rows, by="technique_exposure")
    with pytest.raises(ValueError, match="overdispersion must be one of"):
        funnel_data(rows, overdispersion="lots")
    with pytest.raises(ValueError, match="n_points"):
        funnel_curve(funnel_data(rows), n_points=1)
