"""Treatment series: which of a client's sessions belong together.

Rule (documented in docs/metrics.md, "Treatment series"):
1. a client's sessions, in date order, fall into *gap blocks*: a gap of more than `gap_days`
   since the previous session starts a new block;
2. a session with a `series_id` (here `series_code`) belongs to that series;
3. a session without one inherits the code of the latest earlier coded session in its gap
   block, else of the next one, else it belongs to the block's own automatic series;
4. series are numbered 1, 2, ... per client by their first session date.
"""

from __future__ import annotations

import pandas as pd

from practice import config


def assign_series(sessions: pd.DataFrame, *, gap_days: int | None = None) -> pd.Series:
    """Series number (1-based, per client) of each session, aligned to `sessions.index`.

    Needs columns `client_id`, `session_date` (datetime64) and `series_code` (text or NA).
    """
    missing = {"client_id", "session_date", "series_code"} - set(sessions.columns)
    if missing:
        raise ValueError(f"assign_series needs columns {sorted(missing)}")
    gap = config.SERIES_GAP_DAYS if gap_days is None else gap_days
    if gap < 0:
        raise ValueError(f"gap_days must be >= 0, got {gap}")
    if sessions.empty:
        return pd.Series([], index=sessions.index, dtype="int64", name="series_number")

    ordered = sessions[["client_id", "session_date", "series_code"]].sort_values(
        ["client_id", "session_date"], kind="stable"
    )
    client = ordered["client_id"]
    new_client = client.ne(client.shift())
    days_since = ordered["session_date"].diff().dt.days
    new_block = new_client | (days_since > gap)
    block = new_block.cumsum()

    code = ordered["series_code"].astype("string").str.strip().replace("", pd.NA)
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
    return numbered["series_number"].reindex(sessions.index).astype("int64")
