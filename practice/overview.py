"""The Overview page's figures: headline numbers, the monthly trend, the spread of change.

Pure pandas: outcome and session frames in, small frames or a dataclass out. Each estimate
carries its n and a 95 % interval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from practice import config
from practice.analysis import CONFIDENCE, pain_rule_text, select_population, wilson_interval
from practice.columns import SCORE_COLUMNS
from practice.filters import BASELINE_SOURCE_OPTIONS, outcome_baseline_sources

# The recent window the "sessions lately" card counts, ending at the newest session.
RECENT_DAYS = 30
# The headline pain responder rule in words ("30 %"; docs/metrics.md, "Responders").
PAIN_RULE = pain_rule_text()
# Bins of the percent change histogram: 10-point steps from -100 % to +100 % and beyond.
CHANGE_BIN_EDGES = (-np.inf, *range(-100, 101, 10), np.inf)


@dataclass(frozen=True)
class Estimate:
    """A number with its sample size and 95 % interval (None where it cannot be computed)."""

    value: float | None
    n: int
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Headlines:
    """The Overview's cards."""

    active_clients: int
    recent_sessions: int
    recent_start: pd.Timestamp | None
    recent_end: pd.Timestamp | None
    hd28_median_change: Estimate
    hd28_responder_rate: Estimate
    pain_responder_rate: Estimate
    scored_share: Estimate


def compute_headlines(
    outcomes: pd.DataFrame, sessions: pd.DataFrame, *, population: str = "all"
) -> Headlines:
    """The headline figures of the practice for one population (see docs/metrics.md)."""
    counted = select_population(outcomes, population)
    attended = sessions[sessions["status"] == "attended"]
    end = attended["session_date"].max() if not attended.empty else None
    start = end - pd.Timedelta(days=RECENT_DAYS - 1) if end is not None else None
    recent = attended[attended["session_date"] >= start] if start is not None else attended
    active = outcomes.loc[outcomes["active"].astype(bool), "client_id"].nunique()
    return Headlines(
        active_clients=int(active),
        recent_sessions=len(recent),
        recent_start=start,
        recent_end=end,
        hd28_median_change=median_with_interval(counted["hd28_change"]),
        hd28_responder_rate=rate_with_interval(counted["hd28_responder_50"]),
        pain_responder_rate=rate_with_interval(counted["pain_responder_30"]),
        scored_share=rate_with_interval(attended[list(SCORE_COLUMNS)].notna().any(axis=1)),
    )


def median_with_interval(values: pd.Series) -> Estimate:
    """Median with its distribution-free 95 % interval from order statistics.

    The interval runs between two order statistics chosen with the binomial (n, 1/2)
    distribution (Conover 1999, Practical Nonparametric Statistics, section 3.2), as
    scipy.stats.quantile_test computes it; it needs no assumption about the shape of the
    distribution. Below 6 values no such interval reaches 95 %, and none is given.
    """
    data = values.dropna().to_numpy(dtype=float)
    n = len(data)
    if n == 0:
        return Estimate(None, 0)
    median = float(np.median(data))
    interval = stats.quantile_test(data, q=median, p=0.5).confidence_interval(CONFIDENCE)
    if not (np.isfinite(interval.low) and np.isfinite(interval.high)):
        return Estimate(median, n)
    return Estimate(median, n, float(interval.low), float(interval.high))


def rate_with_interval(flags: pd.Series) -> Estimate:
    """Share of True among the non-missing flags, with its Wilson 95 % interval."""
    known = flags.dropna().astype(bool)
    n = len(known)
    if n == 0:
        return Estimate(None, 0)
    count = int(known.sum())
    low, high = wilson_interval(pd.Series([count]), pd.Series([n]))
    return Estimate(count / n, n, float(low.iloc[0]), float(high.iloc[0]))


def monthly_trend(
    sessions: pd.DataFrame,
    *,
    start: object = None,
    end: object = None,
) -> pd.DataFrame:
    """Per calendar month: attended sessions, clients seen, mean pain before the session and
    mean headache days per 28 days (4 x the weekly count), each with its n.

    `complete` says whether the period (`start` to `end`, default the first and last session)
    covers the whole month: a month cut by the period's start or end is not comparable with a
    whole one. `pain_pre_enough` and `hd28_enough` say whether the month has at least
    config.MONTHLY_MIN_SCORES sessions with that score (docs/metrics.md, "Monthly charts").
    """
    attended = sessions[sessions["status"] == "attended"]
    columns = [
        "month",
        "sessions",
        "clients",
        "pain_pre_mean",
        "pain_pre_n",
        "hd28_mean",
        "hd28_n",
        "complete",
        "pain_pre_enough",
        "hd28_enough",
    ]
    if attended.empty:
        return pd.DataFrame(columns=columns)
    month = attended["session_date"].dt.to_period("M").dt.to_timestamp()
    grouped = attended.assign(month=month, hd28=attended["headache_days_7d"] * 4).groupby("month")
    trend = pd.DataFrame(
        {
            "sessions": grouped.size(),
            "clients": grouped["client_id"].nunique(),
            "pain_pre_mean": grouped["pain_pre"].mean(),
            "pain_pre_n": grouped["pain_pre"].count(),
            "hd28_mean": grouped["hd28"].mean(),
            "hd28_n": grouped["hd28"].count(),
        }
    ).reset_index()
    first = pd.Timestamp(start) if start is not None else attended["session_date"].min()
    last = pd.Timestamp(end) if end is not None else attended["session_date"].max()
    month_end = trend["month"] + pd.offsets.MonthEnd(0)
    trend["complete"] = (trend["month"] >= first.normalize()) & (month_end <= last.normalize())
    for measure in ("pain_pre", "hd28"):
        trend[f"{measure}_enough"] = trend[f"{measure}_n"] >= config.MONTHLY_MIN_SCORES
    return trend[columns]


def change_distribution(
    outcomes: pd.DataFrame, *, measure: str = "hd28", population: str = "all"
) -> pd.DataFrame:
    """How many series fall in each 10-point band of percent change of `measure`."""
    counted = select_population(outcomes, population)
    change = counted[f"{measure}_pct_change"].dropna()
    bands = pd.cut(change, bins=list(CHANGE_BIN_EDGES), right=False)
    counts = bands.value_counts(sort=False)
    lows = [max(interval.left, -110) for interval in counts.index]
    frame = pd.DataFrame(
        {
            "band_start": lows,
            "band_end": [min(interval.right, 110) for interval in counts.index],
            "series": counts.to_numpy(),
        }
    )
    frame["label"] = [_band_label(interval) for interval in counts.index]
    return frame[frame["series"] > 0].reset_index(drop=True)


def _band_label(interval: pd.Interval) -> str:
    if np.isinf(interval.left):
        return "below -100 %"
    if np.isinf(interval.right):
        return "+100 % or more"
    return f"{interval.left:+.0f} to {interval.right:+.0f} %"


def baseline_source_counts(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Clients per baseline source (headache diary, recall at intake, not recorded), in the
    order of BASELINE_SOURCE_OPTIONS, with `source`, `label` and `clients`."""
    per_client = outcomes.drop_duplicates("client_id")
    keys = outcome_baseline_sources(per_client)
    counts = keys.value_counts().reindex(list(BASELINE_SOURCE_OPTIONS), fill_value=0)
    return pd.DataFrame(
        {
            "source": counts.index,
            "label": [BASELINE_SOURCE_OPTIONS[key] for key in counts.index],
            "clients": counts.to_numpy(dtype="int64"),
        }
    )


def baseline_source_text(counts: pd.DataFrame) -> str:
    """ "Baselines: 90 clients from a headache diary, 50 recalled at intake." (sources with
    nobody left out)."""
    words = {"diary": "from a headache diary", "recall": "recalled at intake"}
    parts = [
        f"{row.clients:,} {words.get(row.source, row.label.lower())}"
        for row in counts.itertuples()
        if row.clients > 0
    ]
    return f"Baselines: {', '.join(parts)}." if parts else ""
