"""Treatment series: which of a client's sessions belong together.

Rule (documented in docs/metrics.md, "Treatment series"):
1. a client's treatment sessions (every status but `follow_up`), in date order, fall into
   *gap blocks*: a gap of more than `gap_days` since the previous session starts a new block;
2. a session with a `series_id` (here `series_code`) belongs to that series;
3. a session without one inherits the code of the latest earlier coded session in its gap
   block, else of the next one, else it belongs to the block's own automatic series;
4. series are numbered 1, 2, ... per client by their first session date;
5. a follow-up visit (status `follow_up`) never starts a series: it belongs to the series
   whose code it carries, else to the client's preceding series (the latest one that started
   on or before it) when it falls within `window_days` after that series' last treatment,
   whatever the gap. Otherwise it belongs to no series: number 0 (`NO_SERIES`).
"""

from __future__ import annotations

import pandas as pd

from practice import config

FOLLOW_UP = "follow_up"
# The series number of a follow-up visit that belongs to no series (none before it, or the
# preceding one ended more than the follow-up window before it).
NO_SERIES = 0


def is_follow_up(sessions: pd.DataFrame) -> pd.Series:
    """True where a session is a follow-up visit (status `follow_up`)."""
    if "status" not in sessions:
        return pd.Series(False, index=sessions.index)
    return sessions["status"].astype("string").eq(FOLLOW_UP).fillna(False).astype(bool)


def assign_series(
    sessions: pd.DataFrame, *, gap_days: int | None = None, window_days: int | None = None
) -> pd.Series:
    """Series number (1-based, per client) of each session, aligned to `sessions.index`.

    Needs columns `client_id`, `session_date` (datetime64) and `series_code` (text or NA);
    `status` is optional (without it no session is a follow-up visit).
    """
    missing = {"client_id", "session_date", "series_code"} - set(sessions.columns)
    if missing:
        raise ValueError(f"assign_series needs columns {sorted(missing)}")
    gap = config.SERIES_GAP_DAYS if gap_days is None else gap_days
    if gap < 0:
        raise ValueError(f"gap_days must be >= 0, got {gap}")
    window = config.FOLLOWUP_WINDOW_DAYS if window_days is None else window_days
    if window < 0:
        raise ValueError(f"window_days must be >= 0, got {window}")
    if sessions.empty:
        return pd.Series([], index=sessions.index, dtype="int64", name="series_number")
    follow_up = is_follow_up(sessions)
    treatment = sessions.loc[~follow_up]
    numbers = _number_treatment_series(treatment, gap)
    if follow_up.any():
        attached = _attach_follow_ups(sessions.loc[follow_up], treatment, numbers, window)
        numbers = pd.concat([numbers, attached])
    return numbers.reindex(sessions.index).astype("int64").rename("series_number")


def _number_treatment_series(sessions: pd.DataFrame, gap: int) -> pd.Series:
    """Rules 1-4 over treatment sessions only."""
    if sessions.empty:
        return pd.Series([], index=sessions.index, dtype="int64")
    ordered = sessions[["client_id", "session_date", "series_code"]].sort_values(
        ["client_id", "session_date"], kind="stable"
    )
    client = ordered["client_id"]
    new_client = client.ne(client.shift())
    days_since = ordered["session_date"].diff().dt.days
    new_block = new_client | (days_since > gap)
    block = new_block.cumsum()

    code = _codes(ordered["series_code"])
    inherited = code.groupby(block).ffill().groupby(block).bfill()
    label = ("code:" + inherited).fillna("auto:" + block.astype("string"))

    first_date = ordered.groupby([client, label])["session_date"].transform("min")
    keyed = pd.DataFrame({"client_id": client, "first": first_date, "label": label})
    series = keyed.drop_duplicates(["client_id", "label"]).sort_values(
        ["client_id", "first", "label"], kind="stable"
    )
    series["series_number"] = series.groupby("client_id", sort=False).cumcount() + 1
    numbered = keyed.merge(series, on=["client_id", "label", "first"], how="left")
    numbered.index = keyed.index
    return numbered["series_number"].astype("int64")


def _codes(codes: pd.Series) -> pd.Series:
    return codes.astype("string").str.strip().replace("", pd.NA)


def _attach_follow_ups(
    follow_ups: pd.DataFrame, treatment: pd.DataFrame, numbers: pd.Series, window: int
) -> pd.Series:
    """Rule 5: the series number of each follow-up visit (NO_SERIES when it has none)."""
    series = _treatment_series_table(treatment, numbers)
    # Clients as integer codes on both sides: merge_asof needs keys of one dtype, and a
    # frame built by concatenation may hold the same ids as objects on one side.
    codes, _ = pd.factorize(pd.concat([follow_ups["client_id"], series["client_id"]]))
    series["client_id"] = codes[len(follow_ups) :]
    visits = pd.DataFrame(
        {
            "client_id": codes[: len(follow_ups)],
            "session_date": follow_ups["session_date"],
            "code": _codes(follow_ups["series_code"]),
            "position": range(len(follow_ups)),
        },
        index=follow_ups.index,
    )
    by_code = visits.merge(
        series.dropna(subset=["code"]).drop_duplicates(["client_id", "code"]),
        on=["client_id", "code"],
        how="left",
    ).set_index(visits.index)["number"]
    preceding = pd.merge_asof(
        visits.sort_values("session_date", kind="stable"),
        series.sort_values("first", kind="stable").drop(columns="code"),
        left_on="session_date",
        right_on="first",
        by="client_id",
        direction="backward",
    )
    preceding.index = visits.sort_values("session_date", kind="stable").index
    days_after = (preceding["session_date"] - preceding["last_treatment"]).dt.days
    in_window = preceding["number"].where(days_after.le(window)).reindex(visits.index)
    return by_code.fillna(in_window).fillna(NO_SERIES).astype("int64")


def _treatment_series_table(treatment: pd.DataFrame, numbers: pd.Series) -> pd.DataFrame:
    """Per client and series: number, code, first date and the date of the last treatment.

    The last treatment is the last attended session (the last session of any status when
    none was attended, or when there is no `status` column).
    """
    frame = pd.DataFrame(
        {
            "client_id": treatment["client_id"],
            "number": numbers.reindex(treatment.index),
            "session_date": treatment["session_date"],
            "code": _codes(treatment["series_code"]),
        }
    )
    attended = (
        treatment["status"].fillna("attended").eq("attended")
        if "status" in treatment
        else pd.Series(True, index=treatment.index)
    )
    by_series = frame.groupby(["client_id", "number"])
    table = by_series.agg(first=("session_date", "min"), code=("code", "first"))
    last_any = by_series["session_date"].max()
    last_attended = frame.loc[attended].groupby(["client_id", "number"])["session_date"].max()
    table["last_treatment"] = last_attended.reindex(table.index).fillna(last_any)
    return table.reset_index()
