"""Which clients and sessions each role sees."""

from __future__ import annotations

import pandas as pd

from practice.access import scope_frames
from practice.auth import SignedInUser

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
