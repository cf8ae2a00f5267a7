"""Which clients and sessions each role sees."""

from __future__ import annotations

import pandas as pd

from practice.access import scope_counts, scope_frames
from practice.auth import SignedInUser
from practice.queries import PracticeCounts

CLIENTS = pd.DataFrame({"client_id": ["A", "B", "C"]})
SESSIONS = pd.DataFrame(
    {
        "client_id": ["A", "A", "B", "C"],
        "therapist": ["Jo", "Sam", "Sam", "Sam"],
    }
)


def test_owner_and_demo_visitor_see_everything() -> None:
    for user in (None, SignedInUser("anna", "owner")):
        clients, sessions = scope_frames(CLIENTS, SESSIONS, user)
        assert (len(clients), len(sessions)) == (3, 4)


def test_a_therapist_sees_the_whole_history_of_the_clients_they_treated_only() -> None:
    clients, sessions = scope_frames(CLIENTS, SESSIONS, SignedInUser("jo", "therapist", "Jo"))
    assert clients["client_id"].tolist() == ["A"]
    assert sessions["therapist"].tolist() == ["Jo", "Sam"]


def test_front_desk_sees_no_clinical_data() -> None:
    clients, sessions = scope_frames(CLIENTS, SESSIONS, SignedInUser("fd", "front_desk"))
    assert clients.empty and sessions.empty
    assert list(sessions.columns) == ["client_id", "therapist"]


LOCATED = SESSIONS.assign(location=["North", "Harbour", "Harbour", None])


def test_an_owner_limited_to_a_location_sees_the_whole_history_of_the_clients_seen_there() -> None:
    user = SignedInUser("nora", "owner", locations=("Harbour",))
    clients, sessions = scope_frames(CLIENTS, LOCATED, user)
    assert clients["client_id"].tolist() == ["A", "B"]
    assert sessions["location"].tolist() == ["North", "Harbour", "Harbour"]
    both = SignedInUser("nora", "owner", locations=("Harbour", "North"))
    assert scope_frames(CLIENTS, LOCATED, both)[0]["client_id"].tolist() == ["A", "B"]
    north = SignedInUser("nora", "owner", locations=("North",))
    assert scope_frames(CLIENTS, LOCATED, north)[0]["client_id"].tolist() == ["A"]


def test_a_therapist_limited_to_a_location_sees_their_clients_seen_there_only() -> None:
    user = SignedInUser("sam", "therapist", "Sam", ("North",))
    assert scope_frames(CLIENTS, LOCATED, user)[0]["client_id"].tolist() == ["A"]


def test_a_location_nobody_was_seen_at_or_a_practice_without_locations_shows_nothing() -> None:
    user = SignedInUser("nora", "owner", locations=("Old Town",))
    assert scope_frames(CLIENTS, LOCATED, user)[0].empty
    assert scope_frames(CLIENTS, SESSIONS, user)[1].empty


def test_counts_of_a_limited_owner_are_those_of_their_clients() -> None:
    counts = PracticeCounts(3, 4, 2, pd.Timestamp("2025-01-01"), pd.Timestamp("2025-03-01"), False)
    dated = LOCATED.assign(session_date=pd.to_datetime(["2025-01-01", "2025-02-01"] * 2))
    user = SignedInUser("nora", "owner", locations=("North",))
    clients, sessions = scope_frames(CLIENTS, dated, user)
    scoped = scope_counts(counts, clients, sessions, user)
    assert (scoped.clients, scoped.sessions, scoped.therapists) == (1, 2, 2)
    assert scope_counts(counts, CLIENTS, dated, SignedInUser("anna", "owner")) is counts
