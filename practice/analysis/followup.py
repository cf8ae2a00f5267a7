"""Lasting change: each series' scores at its latest follow-up visit after treatment ended.

A follow-up visit (status `follow_up`) is an assessment without treatment, such as a check-up
3 or 12 months after a course (practice/series.py attaches it to the preceding series within
config.FOLLOWUP_WINDOW_DAYS). The American Headache Society guidelines for trials of
behavioural treatments for recurrent headache (Penzien 2005) ask for outcomes at the end of
treatment and, separately, at follow-up assessments after it, because relief that fades is a
different result from relief that lasts. Rules in docs/metrics.md, "Follow-up visits".
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from practice.analysis._common import MEASURES, Measure, t_interval

SERIES_FOLLOWUP_COLUMNS = ["followup_visits", "last_followup_date", "followup_days"]
MEASURE_FOLLOWUP_SUFFIXES = ["followup", "followup_change"]
FOLLOWUP_COLUMNS = [
    *SERIES_FOLLOWUP_COLUMNS,
    *[f"{m.key}_{suffix}" for m in MEASURES for suffix in MEASURE_FOLLOWUP_SUFFIXES],
]
GROUP_FOLLOWUP_COLUMNS = [
    "followup_n",
    "followup_mean",
    "followup_change_mean",
    "followup_change_ci_low",
    "followup_change_ci_high",
]


def followup_columns(
    frame: pd.DataFrame, last_session_date: pd.Series, baselines: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Per series (series key 0, 1, ...): follow-up visits after the last treatment and, per
    measure, the latest follow-up value and its change from the series' baseline.

    `frame` holds every session with `sk`, `status` and the score columns, sorted by series
    key and date; `last_session_date` is each series' last attended session,
    `baselines[key]` each series' baseline of the measure `key`.
    """
    n = len(last_session_date)
    last = last_session_date.to_numpy()
    visit = frame["status"].eq("follow_up").to_numpy(dtype=bool, na_value=False)
    rows = np.flatnonzero(visit)
    sk = frame["sk"].to_numpy(np.int64)[rows]
    dates = frame["session_date"].to_numpy()[rows]
    after = dates > last[sk]  # NaT (no attended session) is never before a visit
    rows, sk, dates = rows[after], sk[after], dates[after]
    out: dict[str, np.ndarray] = {
        "followup_visits": np.bincount(sk, minlength=n).astype("int64"),
        "last_followup_date": np.full(n, np.datetime64("NaT"), dtype=dates.dtype),
        "followup_days": np.full(n, np.nan),
    }
    # `frame` is sorted by series and date: a series' last visit row is its latest.
    ends = _last_rows(sk)
    out["last_followup_date"][sk[ends]] = dates[ends]
    out["followup_days"][sk[ends]] = (dates[ends] - last[sk[ends]]) // np.timedelta64(1, "D")
    for measure in MEASURES:
        value = np.full(n, np.nan)
        if len(rows):  # no visit after treatment (most practices): nothing to read
            reported = report_values(frame, measure)[rows]
            has = ~np.isnan(reported)
            ends = _last_rows(sk[has])
            value[sk[has][ends]] = reported[has][ends]
        out[f"{measure.key}_followup"] = value
        out[f"{measure.key}_followup_change"] = value - baselines[measure.key]
    return out


def _last_rows(groups: np.ndarray) -> np.ndarray:
    """Positions of the last row of each run of equal (sorted) `groups`."""
    return np.flatnonzero(np.r_[groups[1:] != groups[:-1], True]) if len(groups) else groups


def report_values(sessions: pd.DataFrame, measure: Measure) -> np.ndarray:
    """Each session's report of `measure` (a 7-day count scaled by 4 to 28 days).

    A follow-up visit reports on the weeks just before it, so its count stands alone: it is
    not averaged with treatment-period reports.
    """
    values = np.full(len(sessions), np.nan)
    if measure.session_column is not None:
        values = sessions[measure.session_column].to_numpy(float)
    if measure.weekly_column is not None:
        weekly = 4 * sessions[measure.weekly_column].to_numpy(float)
        values = np.where(np.isnan(values), weekly, values)
    return values


def describe_followups(rows: pd.DataFrame, key: str) -> pd.DataFrame:
    """Per `group` of `rows`: series with a follow-up value and a baseline (`followup_n`), the
    mean follow-up value, and the mean change from baseline with its Student-t 95 % interval."""
    change_column = f"{key}_followup_change"
    if change_column not in rows:
        return pd.DataFrame(columns=GROUP_FOLLOWUP_COLUMNS)
    usable = rows.loc[rows[change_column].notna()]
    by_group = usable.groupby("group")
    groups = pd.Index(rows["group"].unique(), name="group")
    n = by_group.size().reindex(groups, fill_value=0)
    mean = by_group[change_column].mean().reindex(groups)
    low, high = t_interval(mean, by_group[change_column].std(ddof=1).reindex(groups), n)
    return pd.DataFrame(
        {
            "followup_n": n,
            "followup_mean": by_group[f"{key}_followup"].mean().reindex(groups),
            "followup_change_mean": mean,
            "followup_change_ci_low": low,
            "followup_change_ci_high": high,
        },
        index=groups,
    )
