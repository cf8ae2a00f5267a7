"""Funnel-plot data: each group's result against its n, with over-dispersed control limits.

Spiegelhalter DJ. Funnel plots for comparing institutional performance. Stat Med
2005;24:1185-1202, and Spiegelhalter DJ. Handling over-dispersion of performance indicators.
Qual Saf Health Care 2005;14:347-351: z-scores are winsorised at 10 % in each tail, the
over-dispersion factor is phi = mean(z_w^2) over the I groups, and either the limits are
widened by sqrt(phi) (multiplicative) or a between-group variance
tau^2 = max(0, (I * phi - (I - 1)) / (sum(w) - sum(w^2) / sum(w))), w = 1 / se^2, is added
to each group's se^2 (additive random effects, the paper's preferred option).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import statsmodels.api as sm

from practice import config
from practice.analysis._common import (
    RESPONDER_COLUMNS,
    Measure,
    canonical_by,
    empty_frame,
    normal_quantile,
    require_choice,
    require_frame,
    require_measure,
)
from practice.analysis.groups import GroupRows, comparison_rows, design_matrix, model_rows

FUNNEL_COLUMNS = [
    "group_by",
    "group",
    "population",
    "measure",
    "statistic",
    "n",
    "value",
    "target",
    "unit_sd",
    "se",
    "z",
    "z_adjusted",
    "lower_95",
    "upper_95",
    "lower_998",
    "upper_998",
    "position",
    "small_n",
    "overdispersion",
    "phi",
    "tau2",
]
CURVE_COLUMNS = ["n", "target", "lower_95", "upper_95", "lower_998", "upper_998"]
STATISTICS = ("responder_rate", "adjusted_residual")
OVERDISPERSION = ("additive", "multiplicative", "none")
FUNNEL_GROUPINGS = ("therapist", "location", "primary_technique", "technique", "headache_type")
# The curve's n (a Series) or the groups' n (an array); the limits come back alike.
Values = TypeVar("Values", pd.Series, np.ndarray)
# 95 % and 99.8 % limits: about 2 and 3 standard errors (Spiegelhalter 2005).
Z95, Z998 = normal_quantile(0.95), normal_quantile(0.998)


def funnel_data(
    outcomes: pd.DataFrame,
    *,
    measure: str = "hd28",
    statistic: str = "responder_rate",
    by: str = "therapist",
    population: str = "all",
    overdispersion: str = "additive",
) -> pd.DataFrame:
    """One point per group (n, value) with 95 % and 99.8 % limits around the practice target.

    `statistic`: "responder_rate" (the measure's headline responder flag; target = the
    practice's overall rate) or "adjusted_residual" (mean of latest minus the value expected
    from baseline and case mix; target 0). Groups with n < config.MIN_GROUP_N get `small_n`
    and position "not judged (small n)", and are left out of the over-dispersion estimate.
    """
    return funnel_frames(
        outcomes,
        measure=measure,
        statistics=(statistic,),
        by=by,
        population=population,
        overdispersion=overdispersion,
    )[0]


def funnel_frames(
    outcomes: pd.DataFrame,
    *,
    measure: str = "hd28",
    statistics: Sequence[str] = STATISTICS,
    by: str = "therapist",
    population: str = "all",
    overdispersion: str = "additive",
) -> list[pd.DataFrame]:
    """`funnel_data` for each of `statistics`, from the population's rows selected once."""
    spec = require_measure(measure)
    for statistic in statistics:
        require_choice(statistic, "statistic", STATISTICS)
    require_choice(by, "by", FUNNEL_GROUPINGS)
    require_choice(overdispersion, "overdispersion", OVERDISPERSION)
    flag = RESPONDER_COLUMNS[spec.key]
    if "responder_rate" in statistics and flag is None:
        raise ValueError(f"measure {measure!r} has no responder rule; use adjusted_residual")
    rows = comparison_rows(outcomes, population, by, flag)
    labels = {"group_by": canonical_by(by), "population": population, "measure": spec.key}
    frames = []
    for statistic in statistics:
        if statistic == "responder_rate":
            units = _rate_units(rows, str(flag))
        else:
            units = _residual_units(rows, spec, skip=grouped_column(by))
        if units.empty:
            frames.append(empty_frame(FUNNEL_COLUMNS))
            continue
        columns = _with_limits(units, overdispersion, bounded=statistic == "responder_rate")
        columns.update(labels, statistic=statistic)
        # One frame built at once: adding its 21 columns one by one cost more than the statistics.
        frames.append(pd.DataFrame({name: columns[name] for name in FUNNEL_COLUMNS}))
    return frames


def funnel_curve(points: pd.DataFrame, *, n_points: int = 100) -> pd.DataFrame:
    """The control-limit lines of a funnel_data frame over n = 1 .. 1.1 x the largest n."""
    require_frame(
        points, "points", ["n", "target", "unit_sd", "overdispersion", "phi", "tau2", "statistic"]
    )
    if not isinstance(n_points, int) or n_points < 2:
        raise ValueError(f"n_points must be a whole number >= 2, got {n_points!r}")
    if points.empty:
        return empty_frame(CURVE_COLUMNS)
    first = points.iloc[0]
    n = pd.Series(np.unique(np.round(np.geomspace(1, max(1.1 * points["n"].max(), 2), n_points))))
    target = float(first["target"])
    limits = _limits(
        n,
        target,
        float(first["unit_sd"]),
        str(first["overdispersion"]),
        (float(first["phi"]), float(first["tau2"])),
        bounded=first["statistic"] == "responder_rate",
    )
    return pd.DataFrame({"n": n, "target": target, **limits}, columns=CURVE_COLUMNS)


def grouped_column(by: str) -> str:
    """The outcome column a funnel groups on (left out of the case-mix model)."""
    return "primary_technique" if by == "technique" else by


def _rate_units(rows: GroupRows, flag: str) -> pd.DataFrame:
    """Responder rate per group; target = the practice's pooled rate."""
    judged, hits = rows.flags(flag)
    k = len(rows.names)
    n = np.bincount(rows.codes[judged], minlength=k)
    keep = n > 0
    if not keep.any():
        return pd.DataFrame()
    n, hit = n[keep], np.bincount(rows.codes[hits], minlength=k)[keep]
    target = hit.sum() / n.sum()
    return pd.DataFrame(
        {
            "group": pd.Index(rows.names[keep]),
            "n": n,
            "value": hit / n,
            "target": target,
            "unit_sd": np.sqrt(target * (1 - target)),
        }
    )


def _residual_units(rows: GroupRows, spec: Measure, skip: str) -> pd.DataFrame:
    """Mean residual per group of latest ~ baseline + case mix (no group term); target 0."""
    model = model_rows(rows, spec, skip=skip)
    if len(model.at) < 3:
        return pd.DataFrame()
    # latest ~ terms, fitted on the design matrix patsy would build for that formula (no
    # group levels: no group term), without parsing a formula on every filter change.
    codes = rows.codes[model.at]
    fit = sm.OLS(model.latest, design_matrix(codes, [], model)).fit()
    if fit.df_resid < 1:
        return pd.DataFrame()
    residual = pd.Series(fit.resid).groupby(codes)
    size = residual.size()
    return pd.DataFrame(
        {
            "group": pd.Index(rows.names[size.index.to_numpy()]),
            "n": size.to_numpy(),
            "value": residual.mean().to_numpy(),
            "target": 0.0,
            "unit_sd": float(np.sqrt(fit.scale)),
        }
    )


def _with_limits(units: pd.DataFrame, method: str, bounded: bool) -> dict[str, Any]:
    """`units`' columns with z-scores, over-dispersion estimates, limits at each group's n and
    its position."""
    # On the columns' arrays: a handful of groups, where Series arithmetic is mostly overhead.
    n, value, target, unit_sd = (units[c].to_numpy() for c in ("n", "value", "target", "unit_sd"))
    se = unit_sd / np.sqrt(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = ((value - target) / _positive(se)).astype(float)
    small = n < config.MIN_GROUP_N
    phi, tau2 = estimate_overdispersion(z[~small], se[~small])
    limits = _limits(n, target, unit_sd, method, (phi, tau2), bounded=bounded)
    spread = _spread(unit_sd / np.sqrt(n), method, phi, tau2)
    position = np.select(
        [
            small,
            value > limits["upper_998"],
            value < limits["lower_998"],
            value > limits["upper_95"],
            value < limits["lower_95"],
        ],
        [
            "not judged (small n)",
            "above 99.8 % limit",
            "below 99.8 % limit",
            "above 95 % limit",
            "below 95 % limit",
        ],
        default="within limits",
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        z_adjusted = (value - target) / _positive(spread)
    return {
        **{name: units[name].to_numpy() for name in units.columns},
        "se": se,
        "z": z,
        "small_n": small,
        "overdispersion": method,
        "phi": phi,
        "tau2": tau2,
        **limits,
        "z_adjusted": z_adjusted,
        "position": position,
    }


def _positive(values: np.ndarray) -> np.ndarray:
    """`values` with NaN where not above 0."""
    return np.where(values > 0, values, np.nan)


def estimate_overdispersion(
    z: pd.Series | np.ndarray, se: pd.Series | np.ndarray
) -> tuple[float, float]:
    """Spiegelhalter 2005: phi from 10 %-winsorised z-scores and the additive tau^2."""
    z, se = np.asarray(z, dtype=float), np.asarray(se, dtype=float)
    ok = ~np.isnan(z) & np.isfinite(z) & (se > 0)
    z, se = z[ok], se[ok]
    count = len(z)
    if count < 3:  # too few groups to tell chance variation from over-dispersion
        return np.nan, np.nan
    cut = config.FUNNEL_WINSORISE_FRACTION
    low, high = np.quantile(z, [cut, 1 - cut])
    phi = float(np.mean(np.clip(z, low, high) ** 2))
    w = 1 / se**2
    tau2 = (count * phi - (count - 1)) / (w.sum() - (w**2).sum() / w.sum())
    return phi, float(max(0.0, tau2))


def _spread(se: Values, method: str, phi: float, tau2: float) -> Values:
    """The standard error the limits use under the chosen over-dispersion method."""
    if method == "additive" and not np.isnan(tau2):
        return np.sqrt(se**2 + tau2)
    if method == "multiplicative" and not np.isnan(phi):
        return se * np.sqrt(max(phi, 1.0))  # limits are only ever widened
    return se


def _limits(
    n: Values,
    target: Values | float,
    unit_sd: Values | float,
    method: str,
    overdispersion: tuple[float, float],
    *,
    bounded: bool,
) -> dict[str, Values]:
    """95 % and 99.8 % limits around the target at each n (rates kept within 0-1);
    `overdispersion` is (phi, tau2)."""
    phi, tau2 = overdispersion
    spread = _spread(unit_sd / np.sqrt(n), method, phi, tau2)
    limits = {
        "lower_95": target - Z95 * spread,
        "upper_95": target + Z95 * spread,
        "lower_998": target - Z998 * spread,
        "upper_998": target + Z998 * spread,
    }
    if bounded:
        limits = {k: np.clip(v, 0.0, 1.0) for k, v in limits.items()}
    return limits
