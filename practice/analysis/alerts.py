"""Off-track alerts: clients in a current series who are not improving or who got worse."""

from __future__ import annotations

import numpy as np
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
    # Only the columns read below: selecting rows copies every column kept (outcomes has ~150).
    shown = [f"{m.key}_{part}" for m in MEASURES for part in ("baseline", "latest")]
    read = list(dict.fromkeys([*ALERT_COLUMNS[:13], *shown, *labels]))
    current = outcomes.loc[latest & outcomes["active"].astype(bool), read]
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


def _reasons(rows: pd.DataFrame, labels: list[str]) -> pd.Series:
    """The reason text of each alerted row.

    Every number shown becomes text in one vectorised pass over all of them (one pandas call
    per step instead of one per measure and part: those calls' overhead was most of the cost);
    the sentences are then joined per alerted row, a few hundred at most.
    """
    percent = round(100 * config.OFF_TRACK_IMPROVEMENT_FRACTION)
    n = len(rows)
    parts = [f"{m.key}_{part}" for m in MEASURES for part in ("baseline", "latest")]
    numbers = _number(pd.concat([rows[c] for c in parts], ignore_index=True))
    text_of = dict(zip(parts, np.array(numbers, dtype=object).reshape(len(parts), n), strict=True))
    trended = [("pain", "pain"), ("hd28", "headache days/28d")]
    pcts = pd.concat([rows[f"{key}_pct_change"] for key, _ in trended], ignore_index=True)
    pct_text = np.array(pcts.round(0).astype("Int64").astype(str), dtype=object).reshape(2, n)
    has_pct = pcts.notna().to_numpy().reshape(2, n)
    worse = np.column_stack([rows[column].isin(_WORSE).to_numpy() for column in labels])
    sessions = rows["sessions_attended"].astype(str).to_numpy(object)
    stalled, silent = rows["no_improvement"].to_numpy(bool), rows["no_scores"].to_numpy(bool)

    def change(i: int, key: str) -> str:
        """'7 -> 6': the measure's baseline and latest in row i."""
        return f"{text_of[f'{key}_baseline'][i]} -> {text_of[f'{key}_latest'][i]}"

    def trend(i: int, j: int) -> str:
        """'pain 7 -> 6 (-14 %)' where the measure has a percent change, else ''."""
        key, label = trended[j]
        return f"{label} {change(i, key)} ({pct_text[j, i]} %)" if has_pct[j, i] else ""

    reasons = []
    for i in range(n):
        text = ""
        if stalled[i]:
            trends = f"{trend(i, 0)}; {trend(i, 1)}".strip("; ")
            text += f"Not {percent} % better after {sessions[i]} sessions: {trends}. "
        if silent[i]:
            text += f"No pain or headache-day score after session 1, {sessions[i]} sessions in. "
        for k, measure in enumerate(MEASURES):
            if worse[i, k]:
                text += f"Reliably worse {measure.label}: {change(i, measure.key)}. "
        reasons.append(text.strip())
    return pd.Series(reasons, index=rows.index, dtype="str")
