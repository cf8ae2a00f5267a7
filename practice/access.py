"""What each role may see: the pure rule behind every page, table, chart and download.

A therapist sees the clients they have treated (at least one session with them), with those
clients' whole history; owners see everything; front desk sees no clinical data at all.
"""

from __future__ import annotations

import pandas as pd

from practice.auth import SignedInUser
from practice.queries import PracticeCounts


def clients_of_therapist(sessions: pd.DataFrame, therapist_name: str) -> pd.Index:
    """Codes of the clients who had at least one session with `therapist_name`."""
    return pd.Index(sessions.loc[sessions["therapist"] == therapist_name, "client_id"].unique())


def scope_frames(
    clients: pd.DataFrame, sessions: pd.DataFrame, user: SignedInUser | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The clients and sessions `user` may see (None: demo mode on the sample, everything)."""
    if user is None or user.role == "owner":
        return clients, sessions
    if user.role == "therapist" and user.therapist_name:
        mine = clients_of_therapist(sessions, user.therapist_name)
        return (
            clients[clients["client_id"].isin(mine)].reset_index(drop=True),
            sessions[sessions["client_id"].isin(mine)].reset_index(drop=True),
        )
    return clients.iloc[0:0], sessions.iloc[0:0]


def scope_counts(
    counts: PracticeCounts, clients: pd.DataFrame, sessions: pd.DataFrame, user: SignedInUser | None
) -> PracticeCounts:
    """What is stored, as `user` may see it: the practice's `counts` for an owner (and the demo
    visitor); otherwise counted from the clients and sessions `scope_frames` gave them."""
    if user is None or user.role == "owner":
        return counts
    dates = sessions["session_date"]
    return PracticeCounts(
        clients=len(clients),
        sessions=len(sessions),
        therapists=int(sessions["therapist"].nunique()),
        first_session=dates.min() if len(dates) else None,
        last_session=dates.max() if len(dates) else None,
        sample_only=counts.sample_only,
    )
