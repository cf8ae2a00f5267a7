"""Immediate relief: the drop in pain from before to after a session, at the session level.

Never mixed into lasting change, which compares pre-session pain over the series.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from practice.analysis._common import (
    CONFIDENCE,
    empty_frame,
    label_groups,
    require_choice,
    require_frame,
)

RELIEF_COLUMNS = [
    "group_by",
    "group",
    "n_sessions",
    "n_clients",
    "relief_mean",
    "relief_sd",
    "relief_ci_low",
    "relief_ci_high",
]
RELIEF_BY = ("technique", "therapist", "headache_type")


def immediate_relief(
    sessions: pd.DataFrame, *, by: str = "technique", clients: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Mean pain_pre - pain_post per group of attended sessions with both scores, with a 95 % CI.

    by="technique" counts a session under each technique it used; by="headache_type" needs
    `clients`. The t interval is clustered by client (sessions of one client are not
    independent): SE^2 = G/(G-1) * sum_c (sum_i e_ci)^2 / n^2 with G - 1 degrees of freedom
    (Liang & Zeger 1986; the CR1 correction statsmodels uses for a mean).
    """
    require_choice(by, "by", RELIEF_BY)
    needed = ["client_id", "status", "pain_pre", "pain_post"]
    needed += ["techniques"] if by == "technique" else ["therapist"] if by == "therapist" else []
    require_frame(sessions, "sessions", needed)
    if by == "headache_type":
        require_frame(clients, "clients", ["client_id", "headache_type"])
    scored = sessions.loc[
        sessions["status"].eq("attended").fillna(False).astype(bool)
        & sessions["pain_pre"].notna()
        & sessions["pain_post"].notna()
    ]
    frame = pd.DataFrame(
        {
            "client_id": scored["client_id"].astype(str),
            "relief": scored["pain_pre"].astype(float) - scored["pain_post"].astype(float),
        }
    )
    frame = _with_groups(frame, scored, by, clients)
    if frame.empty:
        return empty_frame(RELIEF_COLUMNS)
    return _summarise(frame).assign(group_by=by).reindex(columns=RELIEF_COLUMNS)


def _with_groups(
    frame: pd.DataFrame, scored: pd.DataFrame, by: str, clients: pd.DataFrame | None
) -> pd.DataFrame:
    if by == "technique":
        row, group = _technique_rows(scored["techniques"])
        return frame.iloc[row].reset_index(drop=True).assign(group=group)
    if by == "therapist":
        return frame.assign(group=label_groups(scored["therapist"]))
    assert clients is not None
    types = clients.set_index(clients["client_id"].astype(str))["headache_type"]
    return frame.assign(group=label_groups(frame["client_id"].map(types)))


def _technique_rows(techniques: pd.Series) -> tuple[np.ndarray, pd.api.extensions.ExtensionArray]:
    """Each (session position, technique) pair, in session order, then in the order listed.

    Each distinct technique cell is split once (a practice has a few hundred combinations)
    and spread over the sessions with numpy: splitting every session took about 440 MB and
    4 s at 1,000,000 sessions. Blank names and "nan" are no technique; a technique listed
    twice in one session counts once.
    """
    cells, distinct = pd.factorize(techniques)  # a missing cell: code -1, no technique
    split = [
        list(dict.fromkeys(t.strip() for t in str(cell).split(";") if t.strip() not in ("", "nan")))
        for cell in distinct
    ]
    names = list(dict.fromkeys(name for listed in split for name in listed))
    code_of = {name: code for code, name in enumerate(names)}
    flat = np.fromiter((code_of[name] for listed in split for name in listed), dtype=np.int64)
    # One more cell, empty, where the missing cells' code -1 points.
    per_cell = np.array([len(listed) for listed in split] + [0], dtype=np.int64)
    cell_start = np.cumsum(per_cell) - per_cell
    per_row = per_cell[cells]
    row_start = np.cumsum(per_row) - per_row
    within = np.arange(int(per_row.sum()), dtype=np.int64) - np.repeat(row_start, per_row)
    code = flat[np.repeat(cell_start[cells], per_row) + within]
    row = np.repeat(np.arange(len(cells), dtype=np.int64), per_row)
    return row, pd.array(names, dtype="str").take(code)


def _summarise(frame: pd.DataFrame) -> pd.DataFrame:
    # Integer codes for the groups and clients (sorted as groupby sorts the labels): the same
    # rows summed in the same order as grouping by the labels, without hashing text per row.
    group, labels = pd.factorize(frame["group"], sort=True)
    client, _ = pd.factorize(frame["client_id"], sort=True)  # -1: no client, not counted
    named = group >= 0
    group, client = group[named], client[named]
    relief = pd.Series(frame["relief"].to_numpy(float)[named])
    by_group = relief.groupby(group)
    table = pd.DataFrame(
        {
            "n_sessions": by_group.size(),
            "relief_mean": by_group.mean(),
            "relief_sd": by_group.std(ddof=1),
        }
    )
    # The closed form of CR1, not a library: statsmodels gives this interval only from one
    # fitted OLS per group (fit(cov_type="cluster")), which cannot be vectorised over the
    # groups; tests/test_analysis_relief.py checks the two agree.
    residual = relief - table["relief_mean"].to_numpy()[group]
    clients = int(client.max(initial=-1)) + 1
    in_cluster = client >= 0
    pair = group[in_cluster].astype(np.int64) * clients + client[in_cluster]
    per_client = residual[in_cluster].groupby(pair).sum()  # sorted by group, then client
    pair_group = per_client.index.to_numpy(np.int64) // max(clients, 1)
    table.insert(1, "n_clients", np.bincount(pair_group, minlength=len(table)))
    spread = (per_client**2).groupby(pair_group).sum()
    clusters = table["n_clients"].astype(float)
    se = np.sqrt(clusters / (clusters - 1) * spread) / table["n_sessions"]
    df = (clusters - 1).where(clusters >= 2)
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, df) * se
    table["relief_ci_low"] = table["relief_mean"] - half
    table["relief_ci_high"] = table["relief_mean"] + half
    table.index = labels.take(table.index.to_numpy()).rename("group")
    table = table.reset_index()
    return table.sort_values(["n_sessions", "group"], ascending=[False, True], kind="stable")
