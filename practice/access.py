"""What each role may see: the pure rule behind every page, table, chart and download.

A therapist sees the clients they have treated (at least one session with them), with those
clients' whole history; owners see everything; front desk sees no clinical data at all. A user
limited to locations (an owner or a therapist of one clinic of a chain) sees, of those, the
clients seen at one of their locations (at least one session there), with their whole history.
"""

from __future__ import annotations

import pandas as pd

from practice.auth import SignedInUser
from practice.queries import PracticeCounts


def clients_of_therapist(sessions: pd.DataFrame, therapist_name: str) -> pd.Index:
    """Codes of the clients who had at least one session with `therapist_name`."""
    return pd.Index(sessions.loc[sessions["therapist"] == therapist_name, "client_id"].unique())


def clients_at_locations(sessions: pd.DataFrame, locations: tuple[str, ...]) -> pd.Index:
    """Codes of the clients who had at least one session at one of `locations`."""
    if "location" not in sessions:
        return pd.Index([], dtype=object)
    seen = sessions["location"].isin(locations)
    return pd.Index(sessions.loc[seen, "client_id"].unique())


def sees_everything(user: SignedInUser | None) -> bool:
    """True for an owner limited to no location (and the demo visitor, None)."""
    return user is None or (user.role == "owner" and not user.locations)


def visible_clients(sessions: pd.DataFrame, user: SignedInUser | None) -> pd.Index | None:
    """Codes of the clients `user` may see (None: every client)."""
    if sees_everything(user):
        return None
    assert user is not None  # sees_everything(None) is True
    if user.role == "therapist" and user.therapist_name:
        mine = clients_of_therapist(sessions, user.therapist_name)
    elif user.role == "owner":
        mine = pd.Index(sessions["client_id"].unique())
    else:
        return pd.Index([], dtype=object)
    if user.locations:
        mine = mine.intersection(clients_at_locations(sessions, user.locations))
    return mine


def scope_frames(
    clients: pd.DataFrame, sessions: pd.DataFrame, user: SignedInUser | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The clients and sessions `user` may see (None: demo mode on the sample, everything)."""
    mine = visible_clients(sessions, user)
    if mine is None:
        return clients, sessions
    return (
        clients[clients["client_id"].isin(mine)].reset_index(drop=True),
        sessions[sessions["client_id"].isin(mine)].reset_index(drop=True),
    )


def scope_counts(
    counts: PracticeCounts, clients: pd.DataFrame, sessions: pd.DataFrame, user: SignedInUser | None
) -> PracticeCounts:
    """What is stored, as `user` may see it: the practice's `counts` for an owner limited to no
    location (and the demo visitor); otherwise counted from the clients and sessions
    `scope_frames` gave them."""
    if sees_everything(user):
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
