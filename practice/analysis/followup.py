"""Lasting change: each series' scores at its latest follow-up visit after treatment ended.

A follow-up visit (status `follow_up`) is an assessment without treatment, such as a check-up
3 or 12 months after a course (practice/series.py attaches it to the preceding series within
config.FOLLOWUP_WINDOW_DAYS). The American Headache Society guidelines for trials of
behavioural treatments for recurrent headache (Penzien 2005) ask for outcomes at the end of
treatment and, separately, at follow-up assessments after it, because relief that fades is a
different result from relief that lasts. Rules in docs/metrics.md, "Follow-up visits".
"""

from __future__ import annotations

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


def followup_frame(frame: pd.DataFrame, out: pd.DataFrame) -> pd.DataFrame:
    """Per series (index `sk` as in `out`): follow-up visits after the last treatment and, per
    measure, the latest follow-up value and its change from the series' baseline.

    `frame` holds every session with `sk`, `status` and the score columns; `out` holds
    `last_session_date` (the last attended session) and `<measure>_baseline`.
    """
    visits = frame.loc[frame["status"].eq("follow_up")]
    last_treatment = visits["sk"].map(out["last_session_date"])
    visits = visits.loc[visits["session_date"] > last_treatment]
    by_series = visits.groupby("sk")
    result = pd.DataFrame(index=out.index)
    result["followup_visits"] = by_series.size().reindex(out.index, fill_value=0).astype("int64")
    result["last_followup_date"] = by_series["session_date"].max()
    result["followup_days"] = (
        result["last_followup_date"] - out["last_session_date"]
    ).dt.days.astype("float64")
    for measure in MEASURES:
        value = _latest_report(visits, measure).reindex(out.index)
        result[f"{measure.key}_followup"] = value
        result[f"{measure.key}_followup_change"] = value - out[f"{measure.key}_baseline"]
    return result


def _latest_report(visits: pd.DataFrame, measure: Measure) -> pd.Series:
    """The series' latest follow-up report of `measure` (a 7-day count scaled by 4 to 28 days).

    A follow-up visit reports on the weeks just before it, so its count stands alone: it is
    not averaged with treatment-period reports.
    """
    values = pd.Series(np.nan, index=visits.index)
    if measure.session_column is not None:
        values = visits[measure.session_column].astype("float64")
    if measure.weekly_column is not None:
        values = values.fillna(4 * visits[measure.weekly_column].astype("float64"))
    reported = values.notna()
    ordered = visits.loc[reported, ["sk", "session_date"]].assign(value=values[reported])
    ordered = ordered.sort_values(["sk", "session_date"], kind="stable")
    return ordered.drop_duplicates("sk", keep="last").set_index("sk")["value"]


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
