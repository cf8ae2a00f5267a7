"""Headache days, medication days and severity per 28 days from a client's daily diary.

The rules (docs/metrics.md, "Headache diaries"):

* Each treatment series gets 28-day windows: window 0 is the baseline, the 28 days before the
  series' first attended session (IHS guidelines for controlled trials of preventive migraine
  treatment: a prospective baseline of at least 4 weeks kept in a daily diary, Tfelt-Hansen 2012,
  Diener 2020; Tassorelli 2018 for chronic migraine); windows 1, 2, ... follow the first session
  in steps of 28 days, up to the window holding the series' last attended session.
* A window with at least DIARY_COMPLETE_DAYS logged days counts its headache days as logged.
  One with fewer but at least DIARY_MIN_DAYS is pro-rated to 28 days (days x 28 / logged) and
  marked `prorated`. One with fewer than DIARY_MIN_DAYS is left out (`included` False).
* The diary wins: where a series has a diary figure for its baseline or its latest window, that
  figure replaces the intake's or the sessions' report of headache (and medication) days, and
  `<measure>_baseline_from` / `<measure>_latest_from` / `<measure>_source` say where each came from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from practice import config
from practice.analysis._common import empty_frame, require_frame

WINDOW_DAYS = 28
DIARY_COLUMNS = ("client_id", "diary_date", "headache")
SERIES_KEY_COLUMNS = ("client_id", "series_number", "first_session_date", "last_session_date")
WINDOW_COLUMNS = [
    "client_id",
    "series_number",
    "window",
    "window_start",
    "window_end",
    "days_logged",
    "headache_days",
    "medication_days",
    "severity_mean",
    "pain_mean",
    "hd28",
    "medication_days_28",
    "prorated",
    "included",
]
# The outcome columns the diary adds (docs/metrics.md): where each figure came from, and the
# reported figure the diary replaced, so that the choice is shown.
SOURCE_COLUMNS = [
    "hd28_latest_from",
    "hd28_source",
    "hd28_baseline_reported",
    "hd28_latest_reported",
    "medication_days_latest_from",
    "medication_days_source",
    "diary_days_logged",
]
# Each measure the diary gives, with the window column that holds it.
DIARY_MEASURES = {"hd28": "hd28", "medication_days": "medication_days_28"}


def diary_windows(
    diary: pd.DataFrame,
    series: pd.DataFrame,
    *,
    complete_days: int | None = None,
    min_days: int | None = None,
) -> pd.DataFrame:
    """One row per series and 28-day window with diary days: counts, per-28-day rates, flags.

    `diary`: client_id, diary_date, headache (bool), and optionally severity, pain, medication.
    `series`: client_id, series_number, first_session_date, last_session_date.
    """
    complete = config.DIARY_COMPLETE_DAYS if complete_days is None else complete_days
    least = config.DIARY_MIN_DAYS if min_days is None else min_days
    _check(diary, series, complete, least)
    if diary.empty or series.empty:
        return empty_frame(WINDOW_COLUMNS)
    days = _days_in_windows(diary, series)
    grouped = days.groupby(["client_id", "series_number", "window"], sort=True)
    out = grouped.agg(
        first_session_date=("first_session_date", "first"),
        days_logged=("headache", "size"),
        headache_days=("headache", "sum"),
        medication_days=("medication_day", "sum"),
    )
    on_headache = days[days["headache"]]
    by_window = [on_headache[c] for c in ("client_id", "series_number", "window")]
    out["severity_mean"] = on_headache["severity"].groupby(by_window).mean()
    out["pain_mean"] = on_headache["pain"].groupby(by_window).mean()
    out = out.reset_index()
    start = out["first_session_date"] + pd.to_timedelta(WINDOW_DAYS * (out["window"] - 1), "D")
    out["window_start"] = start
    out["window_end"] = start + pd.Timedelta(days=WINDOW_DAYS - 1)
    logged = out["days_logged"].astype(float)
    out["included"] = out["days_logged"] >= least
    out["prorated"] = out["included"] & (out["days_logged"] < complete)
    scale = np.where(out["prorated"], WINDOW_DAYS / logged, 1.0)
    out["hd28"] = (out["headache_days"] * scale).where(out["included"])
    out["medication_days_28"] = (out["medication_days"] * scale).where(out["included"])
    return out.reindex(columns=WINDOW_COLUMNS)


def _check(diary: object, series: object, complete: int, least: int) -> None:
    require_frame(diary, "diary", DIARY_COLUMNS)
    require_frame(series, "series", SERIES_KEY_COLUMNS)
    if not 1 <= least <= complete <= WINDOW_DAYS:
        raise ValueError(
            f"diary minimums must satisfy 1 <= min_days ({least}) <= complete_days "
            f"({complete}) <= {WINDOW_DAYS}"
        )


def _days_in_windows(diary: pd.DataFrame, series: pd.DataFrame) -> pd.DataFrame:
    """Each diary day with the series and window it falls in (days in no window dropped)."""
    keep = [c for c in ("severity", "pain", "medication") if c in diary]
    days = diary[["client_id", "diary_date", "headache", *keep]].copy()
    days["client_id"] = days["client_id"].astype(str)
    days["diary_date"] = pd.to_datetime(days["diary_date"])
    days["headache"] = days["headache"].astype("boolean").fillna(False).astype(bool)
    for column in ("severity", "pain", "medication"):
        days[column] = pd.to_numeric(days[column], errors="coerce") if column in days else np.nan
    days["medication_day"] = days["medication"].fillna(0) > 0
    spans = series[list(SERIES_KEY_COLUMNS)].dropna(subset=["first_session_date"]).copy()
    spans["client_id"] = spans["client_id"].astype(str)
    for column in ("first_session_date", "last_session_date"):
        spans[column] = pd.to_datetime(spans[column])
    # A client has a handful of series: pairing each day with each of them stays small.
    paired = days.merge(spans, on="client_id", how="inner")
    offset = (paired["diary_date"] - paired["first_session_date"]).dt.days
    last_window = (paired["last_session_date"] - paired["first_session_date"]).dt.days // 28 + 1
    window = np.where(offset < 0, 0, offset // WINDOW_DAYS + 1)
    inside = (offset >= -WINDOW_DAYS) & (window <= last_window)
    return paired.assign(window=window)[inside.to_numpy()]


def apply_diary(
    outcomes: pd.DataFrame, diary: pd.DataFrame, *, point_days: int | None = None
) -> pd.DataFrame:
    """`outcomes` (before changes are computed) with diary figures where the diary has them.

    Baseline: the diary's window 0. Latest: its last included window after the first session,
    or, with `point_days` (a time point), the window ending at that day. The reported figures
    stay in `hd28_baseline_reported` / `hd28_latest_reported`.
    """
    out = outcomes.copy()
    out["hd28_baseline_reported"] = out["hd28_baseline"]
    out["hd28_latest_reported"] = out["hd28_latest"]
    windows = diary_windows(diary, out)
    if windows.empty:
        return add_sources(out)
    usable = windows[windows["included"].astype(bool)]
    keys = pd.MultiIndex.from_frame(out[["client_id", "series_number"]].astype({"client_id": str}))
    baseline = _window_values(usable[usable["window"] == 0], keys, out.index)
    later = usable[usable["window"] >= 1]
    if point_days is not None:
        later = later[later["window"] == max(1, -(-point_days // WINDOW_DAYS))]
    latest = _window_values(
        later.drop_duplicates(["client_id", "series_number"], keep="last"), keys, out.index
    )
    for key, column in DIARY_MEASURES.items():
        has_base, has_latest = baseline[column].notna(), latest[column].notna()
        out[f"{key}_baseline"] = baseline[column].where(has_base, out[f"{key}_baseline"])
        out[f"{key}_baseline_from"] = out[f"{key}_baseline_from"].mask(has_base, "diary")
        reported = _labelled(out[f"{key}_latest"], "sessions")
        out[f"{key}_latest"] = latest[column].where(has_latest, out[f"{key}_latest"])
        out[f"{key}_latest_from"] = reported.mask(has_latest, "diary")
    logged = windows.groupby(["client_id", "series_number"])["days_logged"].sum()
    out["diary_days_logged"] = logged.reindex(keys).fillna(0).astype("int64").to_numpy()
    return add_sources(out)


def _window_values(windows: pd.DataFrame, keys: pd.MultiIndex, index: pd.Index) -> pd.DataFrame:
    """The windows' figures aligned to the outcome rows (NaN where a series has none)."""
    indexed = windows.set_index(["client_id", "series_number"])[list(DIARY_MEASURES.values())]
    return indexed.reindex(keys).set_axis(index)


def add_sources(outcomes: pd.DataFrame) -> pd.DataFrame:
    """`<measure>_source`: "diary" (both figures from it), "reported" (neither) or "mixed"."""
    out = outcomes.copy(deep=False)  # copy-on-write: adding columns never touches `outcomes`
    for key in DIARY_MEASURES:
        if f"{key}_latest_from" not in out:
            out[f"{key}_latest_from"] = _labelled(out[f"{key}_latest"], "sessions")
        which = source_labels(
            out[f"{key}_baseline_from"].to_numpy(object), out[f"{key}_latest_from"].to_numpy(object)
        )
        out[f"{key}_source"] = pd.Series(which, index=out.index, dtype=object)
    for column in ("hd28_baseline_reported", "hd28_latest_reported"):
        if column not in out:
            out[column] = out[column.replace("_reported", "")]
    if "diary_days_logged" not in out:
        out["diary_days_logged"] = 0
    return out


def source_labels(baseline_from: np.ndarray, latest_from: np.ndarray) -> np.ndarray:
    """The `<measure>_source` label of each row, given where its baseline and latest figures
    came from (`<measure>_baseline_from`, `<measure>_latest_from`)."""
    base, last = baseline_from == "diary", latest_from == "diary"
    given = ~(pd.isna(baseline_from) & pd.isna(latest_from))
    # The label's position (NaN where neither figure was given), taken from objects.
    return _SOURCE_LABELS[np.select([~given, base & last, base | last], [3, 0, 1], default=2)]


_SOURCE_LABELS = np.array(["diary", "mixed", "reported", np.nan], dtype=object)


def labelled_reports(values: np.ndarray, label: str) -> np.ndarray:
    """`label` where `values` has a value, else None."""
    labels = np.full(len(values), None, dtype=object)
    labels[~np.isnan(values)] = label
    return labels


def _labelled(values: pd.Series, label: str) -> pd.Series:
    """`label` where `values` has a value, else None."""
    return pd.Series(
        labelled_reports(values.to_numpy(float), label), index=values.index, dtype=object
    )


# Where the figures of a group's counted series came from (summary keys, docs/metrics.md).
SOURCE_COUNT_NAMES = [
    "baseline_from_diary",
    "baseline_from_intake",
    "baseline_from_first_report",
    "last_from_diary",
    "last_from_sessions",
]


def count_sources(rows: pd.DataFrame, key: str) -> pd.DataFrame:
    """Per group, how many series with a change in `key` took each figure from where.

    `rows`: outcomes with a `group` column (practice.analysis.groups.grouped_rows).
    """
    counted = rows[rows[f"{key}_change"].notna()]
    latest_from = counted.get(f"{key}_latest_from", _labelled(counted[f"{key}_latest"], "sessions"))
    labels = {
        "baseline_from_diary": counted[f"{key}_baseline_from"].eq("diary"),
        "baseline_from_intake": counted[f"{key}_baseline_from"].eq("intake"),
        "baseline_from_first_report": counted[f"{key}_baseline_from"].eq("first report"),
        "last_from_diary": latest_from.eq("diary"),
        "last_from_sessions": latest_from.eq("sessions"),
    }
    flags = pd.DataFrame(labels, index=counted.index).astype("int64")
    return flags.groupby(counted["group"]).sum().reindex(columns=SOURCE_COUNT_NAMES)


# --- the calendar of one client's diary (Client progress) ------------------------------------
CALENDAR_LEVELS = (
    "not logged",
    "no headache",
    "mild",
    "moderate",
    "severe",
    "headache (severity not given)",
)
CALENDAR_COLUMNS = [
    "date",
    "month",
    "day",
    "level",
    "severity",
    "pain",
    "medication",
    "notes",
    "session",
]
# A 0-10 pain score shown on the 0-3 diary scale: 1-4 mild, 5-6 moderate, 7-10 severe
# (Serlin 1995's cut points for pain intensity). Only the calendar's colours use this.
PAIN_SEVERITY_BINS = (0.0, 4.0, 6.0, 10.0)


def calendar_days(diary: pd.DataFrame, session_dates: pd.Series | None = None) -> pd.DataFrame:
    """One row per calendar day from the first to the last diary day (or session) of a client:
    its severity level, scores, and whether a session fell on it."""
    require_frame(diary, "diary", DIARY_COLUMNS)
    sessions = pd.to_datetime(pd.Series([] if session_dates is None else session_dates))
    dates = pd.to_datetime(diary["diary_date"])
    if dates.empty:
        return empty_frame(CALENDAR_COLUMNS)
    span = pd.concat([dates, sessions]).dropna()
    every = pd.date_range(span.min(), span.max(), freq="D")
    logged = diary.assign(diary_date=dates).set_index("diary_date")
    logged = logged[~logged.index.duplicated()]
    frame = pd.DataFrame({"date": every})
    for column in ("headache", "severity", "pain", "medication", "notes"):
        values = logged[column] if column in logged else pd.Series(np.nan, index=logged.index)
        frame[column] = values.reindex(every).to_numpy()
    frame["month"] = frame["date"].dt.to_period("M").dt.to_timestamp()
    frame["day"] = frame["date"].dt.day
    frame["level"] = _levels(frame)
    frame["session"] = frame["date"].isin(set(sessions.dropna()))
    return frame.reindex(columns=CALENDAR_COLUMNS)


def _levels(frame: pd.DataFrame) -> pd.Series:
    severity = pd.to_numeric(frame["severity"], errors="coerce")
    pain = pd.to_numeric(frame["pain"], errors="coerce")
    from_pain = pd.cut(pain, bins=[-0.1, *PAIN_SEVERITY_BINS], labels=[0.0, 1.0, 2.0, 3.0])
    level = severity.fillna(from_pain.astype(float))
    headache = frame["headache"].astype("boolean")
    names = np.array(["no headache", "mild", "moderate", "severe"], dtype=object)
    text = pd.Series(
        names[level.fillna(0).clip(0, 3).astype(int).to_numpy()], index=frame.index, dtype=object
    )
    text = text.mask(headache.fillna(False).astype(bool) & level.isna(), CALENDAR_LEVELS[-1])
    text = text.mask(headache.eq(False).fillna(False).astype(bool), "no headache")
    return text.mask(headache.isna(), "not logged")


def diary_source_summary(outcomes: pd.DataFrame, key: str = "hd28") -> str:
    """Where the series' figures of `key` came from, in words: how many took their baseline
    or latest value from a headache diary ("" when no series did)."""
    source = outcomes.get(f"{key}_source", pd.Series(dtype=object))
    counted = source.notna()
    from_diary = source.isin(["diary", "mixed"])
    if not from_diary.any():
        return ""
    both = int(source.eq("diary").sum())
    mixed = int(source.eq("mixed").sum())
    return (
        f"from a headache diary in {int(from_diary.sum())} of {int(counted.sum())} series "
        f"({both} baseline and latest, {mixed} one of the two); the rest from reports"
    )
