"""Off-track alerts: clients in a current series who are not improving or who got worse."""

from __future__ import annotations

import pandas as pd

from practice import config
from practice.analysis._common import EPS, MEASURES, empty_frame, pain_reduced, require_frame

ALERT_COLUMNS = [
    "client_id",
    "client_name",
    "series_number",
    "therapist",
    "primary_technique",
    "sessions_attended",
    "last_session_date",
    "pain_baseline",
    "pain_latest",
    "pain_pct_change",
    "hd28_baseline",
    "hd28_latest",
    "hd28_pct_change",
    "no_improvement",
    "no_scores",
    "worsening",
    "reason",
]
_WORSE = ("reliable worsening", "meaningful and reliable worsening")


def off_track_alerts(outcomes: pd.DataFrame, *, after_sessions: int | None = None) -> pd.DataFrame:
    """Current series that need a look, each with a plain-language reason.

    Current: the client's latest series, still active. Alerted when, after `after_sessions`
    attended sessions (default config.OFF_TRACK_AFTER_SESSIONS), neither pain nor headache
    days is config.OFF_TRACK_IMPROVEMENT_FRACTION better than baseline (or neither was scored
    after session 1), or at any time when a measure got reliably worse (Jacobson & Truax 1991).
    """
    after = config.OFF_TRACK_AFTER_SESSIONS if after_sessions is None else after_sessions
    if not isinstance(after, int) or after < 1:
        raise ValueError(f"after_sessions must be a whole number >= 1, got {after_sessions!r}")
    labels = [f"{m.key}_change_label" for m in MEASURES]
    require_frame(outcomes, "outcomes", [*ALERT_COLUMNS[:13], "active", *labels])
    latest = outcomes["series_number"].eq(
        outcomes.groupby("client_id")["series_number"].transform("max")
    )
    current = outcomes.loc[latest & outcomes["active"].astype(bool)]
    fraction = config.OFF_TRACK_IMPROVEMENT_FRACTION
    # Pain: the headline pain responder rule (pain_reduced, with its optional points);
    # headache days: the IHS secondary 30 % level.
    pain = pain_reduced(
        current["pain_latest"] - current["pain_baseline"], current["pain_baseline"], fraction
    )
    improved = pain | current["hd28_pct_change"].le(-100 * fraction + EPS)
    scored = current["pain_pct_change"].notna() | current["hd28_pct_change"].notna()
    due = current["sessions_attended"] >= after
    flags = pd.DataFrame(
        {
            "no_improvement": due & scored & ~improved,
            "no_scores": due & ~scored,
            "worsening": current[labels].isin(_WORSE).any(axis=1),
        }
    )
    alerted = flags.any(axis=1)
    if not alerted.any():
        return empty_frame(ALERT_COLUMNS)
    rows = current.loc[alerted].join(flags.loc[alerted])
    rows["reason"] = _reasons(rows, labels)
    rows = rows.sort_values(["worsening", "client_id"], ascending=[False, True], kind="stable")
    return rows.reindex(columns=ALERT_COLUMNS).reset_index(drop=True)


def _number(values: pd.Series) -> pd.Series:
    """Numbers as short text: 7, 6.5, 6.67."""
    return values.round(2).astype(str).str.replace(r"\.0$", "", regex=True)


def _trend(rows: pd.DataFrame, key: str, label: str) -> pd.Series:
    """'pain 7 -> 6 (-14 %)' where the measure has a percent change, else ''."""
    pct = rows[f"{key}_pct_change"]
    text = (
        label
        + " "
        + _number(rows[f"{key}_baseline"])
        + " -> "
        + _number(rows[f"{key}_latest"])
        + " ("
        + pct.round(0).astype("Int64").astype(str)
        + " %)"
    )
    return text.where(pct.notna(), "")


def _reasons(rows: pd.DataFrame, labels: list[str]) -> pd.Series:
    """The reason text of each alerted row, built column-wise (no loop over rows)."""
    percent = round(100 * config.OFF_TRACK_IMPROVEMENT_FRACTION)
    sessions = rows["sessions_attended"].astype(str)
    trends = _trend(rows, "pain", "pain") + "; " + _trend(rows, "hd28", "headache days/28d")
    stalled = (
        "Not "
        + str(percent)
        + " % better after "
        + sessions
        + " sessions: "
        + trends.str.strip("; ")
        + ". "
    )
    silent = "No pain or headache-day score after session 1, " + sessions + " sessions in. "
    text = stalled.where(rows["no_improvement"], "") + silent.where(rows["no_scores"], "")
    for measure, column in zip(MEASURES, labels, strict=True):  # one pass per measure
        worse = (
            "Reliably worse "
            + measure.label
            + ": "
            + _number(rows[f"{measure.key}_baseline"])
            + " -> "
            + _number(rows[f"{measure.key}_latest"])
            + ". "
        )
        text = text + worse.where(rows[column].isin(_WORSE), "")
    return text.str.strip()
