"""Time to response: Kaplan-Meier curves of sessions (or days) until a client first responds."""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.duration.survfunc import SurvfuncRight

from practice.analysis._common import (
    CONFIDENCE,
    canonical_by,
    empty_frame,
    normal_quantile,
    require_choice,
    require_frame,
)
from practice.analysis.groups import population_rows

KM_COLUMNS = [
    "group",
    "time",
    "n_at_risk",
    "n_events",
    "n_censored",
    "survival",
    "survival_ci_low",
    "survival_ci_high",
    "cumulative_response",
    "cumulative_response_ci_low",
    "cumulative_response_ci_high",
]
TIME_COLUMNS = ["group_by", "population", "measure", "scale", *KM_COLUMNS]


def time_to_response(
    outcomes: pd.DataFrame,
    *,
    by: str = "primary_technique",
    measure: str = "pain",
    scale: str = "sessions",
    population: str = "all",
) -> pd.DataFrame:
    """Kaplan-Meier curve per group of the session number (or day) of first response.

    Response is the headline rule (pain: >= 30 %, see pain_reduced; hd28: >= 50 %). A series
    that has not responded is censored at its last follow-up report; series without a
    baseline above 0 or without follow-up are left out.
    """
    key = require_choice(measure, "measure", ("pain", "hd28"))
    require_choice(scale, "scale", ("sessions", "days"))
    unit = "sessions" if scale == "sessions" else "days"
    event, censor = f"{key}_{unit}_to_response", f"{key}_last_report_{unit.removesuffix('s')}"
    rows = population_rows(outcomes, population, by, event, censor)
    event_time, censor_time = rows[event], rows[censor]
    eligible = (rows[f"{key}_baseline"] > 0) & censor_time.notna()
    data = pd.DataFrame(
        {
            "group": rows["group"],
            "time": event_time.fillna(censor_time),
            "event": event_time.notna(),
        }
    ).loc[eligible]
    curve = kaplan_meier(data)
    curve = curve.assign(group_by=canonical_by(by), population=population, measure=key, scale=scale)
    return curve.reindex(columns=TIME_COLUMNS)


def kaplan_meier(data: pd.DataFrame) -> pd.DataFrame:
    """Kaplan-Meier survival per `group` from `time` and `event`, with a row at time 0.

    S(t) = prod(1 - d_i / n_i) with Greenwood's standard error, from statsmodels'
    SurvfuncRight per group; every observed time gets a row (a time with only censoring
    carries the curve of the last event before it). 95 % interval on the log(-log S) scale
    (Kalbfleisch & Prentice 1980), which stays within 0-1.
    """
    require_frame(data, "data", ["group", "time", "event"])
    if data.empty:
        return empty_frame(KM_COLUMNS)
    data = data.assign(time=data["time"].astype(float), event=data["event"].astype(bool))
    counts = (
        data.groupby(["group", "time"])
        .agg(n_events=("event", "sum"), n_total=("event", "size"))
        .reset_index()
    )
    total = counts["group"].map(data.groupby("group").size())
    left = counts.groupby("group")["n_total"].cumsum() - counts["n_total"]
    counts["n_at_risk"] = total - left
    counts["n_censored"] = counts["n_total"] - counts["n_events"]
    fitted = pd.concat([_survfunc(group, rows) for group, rows in data.groupby("group")])
    counts = pd.merge_asof(
        counts.sort_values("time", kind="stable"),
        fitted.sort_values("time", kind="stable"),
        on="time",
        by="group",
        direction="backward",
    ).sort_values(["group", "time"], kind="stable")
    # Before a group's first event the curve is 1 and certain.
    counts["survival"] = counts["survival"].fillna(1.0)
    low, high = _loglog_interval(counts["survival"], counts["log_se"].fillna(0.0))
    counts["survival_ci_low"], counts["survival_ci_high"] = low, high
    start = pd.DataFrame(
        {
            "group": sorted(counts["group"].unique()),
            "time": 0.0,
            "n_events": 0,
            "n_censored": 0,
            "survival": 1.0,
            "survival_ci_low": 1.0,
            "survival_ci_high": 1.0,
        }
    )
    start["n_at_risk"] = start["group"].map(data.groupby("group").size())
    curve = pd.concat([start.assign(order=0), counts.assign(order=1)], ignore_index=True)
    curve = curve.sort_values(["group", "order", "time"], kind="stable")
    curve["cumulative_response"] = 1 - curve["survival"]
    curve["cumulative_response_ci_low"] = 1 - curve["survival_ci_high"]
    curve["cumulative_response_ci_high"] = 1 - curve["survival_ci_low"]
    curve["time"] = curve["time"].astype(float)
    return curve.reindex(columns=KM_COLUMNS).reset_index(drop=True)


def _survfunc(group: object, rows: pd.DataFrame) -> pd.DataFrame:
    """One group's curve at its event times: S and the standard error of log S.

    SurvfuncRight gives Greenwood's standard error of S (S x sqrt(sum d / (n (n - d)))); the
    interval below needs that of log S, the square root of Greenwood's sum. statsmodels has
    no pointwise interval for the curve (only simultaneous bands), so the log(-log) interval
    is computed here.
    """
    fit = SurvfuncRight(rows["time"].to_numpy(), rows["event"].to_numpy(dtype=int))
    survival = np.asarray(fit.surv_prob, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_se = np.where(survival > 0, np.asarray(fit.surv_prob_se) / survival, np.nan)
    return pd.DataFrame(
        {
            "group": group,
            "time": np.asarray(fit.surv_times, dtype=float),
            "survival": survival,
            "log_se": log_se,
        }
    )


def _loglog_interval(survival: pd.Series, log_se: pd.Series) -> tuple[pd.Series, pd.Series]:
    """log(-log S) interval from the standard error of log S; 1 before the first event, NaN
    once S reaches 0."""
    q = normal_quantile(CONFIDENCE)
    inner = (survival > 0) & (survival < 1)
    log_s = np.log(survival.where(inner))
    se = log_se / np.abs(log_s)
    low = survival ** np.exp(q * se)
    high = survival ** np.exp(-q * se)
    untouched = survival >= 1
    return low.mask(untouched, 1.0), high.mask(untouched, 1.0)
