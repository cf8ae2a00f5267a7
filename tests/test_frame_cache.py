"""The dashboard's cached frames are shared, read-only objects: what one caller (or page) does to
the frame it got never reaches the next caller."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from practice import queries, ui
from practice.auth import SignedInUser

OWNER = SignedInUser("anna", "owner")
THERAPIST = SignedInUser("sarah", "therapist", "Sarah Okafor")
Getter = Callable[[tuple[int, int]], pd.DataFrame]
GETTERS: dict[str, Getter] = {
    "clients": lambda v: ui._load_frames(v)[0],
    "sessions": lambda v: ui._load_frames(v)[1],
    "owner's sessions": lambda v: ui._scoped_frames(v, OWNER)[1],
    "therapist's clients": lambda v: ui._scoped_frames(v, THERAPIST)[0],
    "practice outcomes": lambda v: ui._practice_outcomes(v)[0],
    "owner's outcomes": lambda v: ui._load_outcomes(v, OWNER),
    "therapist's outcomes": lambda v: ui._load_outcomes(v, THERAPIST),
    "outcomes at 3 months": lambda v: ui._load_outcomes_at(v, OWNER, "3m"),
    "diary": ui._load_diary,
}


def vandalise(frame: pd.DataFrame) -> None:
    """Everything a careless page might do to a frame it was given."""
    first, number = frame.columns[0], frame.select_dtypes("number").columns[0]
    if len(frame):
        frame.loc[frame.index[:3], first] = frame[first].iloc[-1]
    frame.iloc[:5, frame.columns.get_loc(number)] = -1
    frame[number] = frame[number] * 1000
    frame["added"] = 1
    frame.index.name = "renamed"
    frame.attrs["note"] = "changed"
    frame.sort_values(number, ascending=False, inplace=True)  # noqa: PD002 (what a careless page might do)
    frame.drop(columns=[first], inplace=True)  # noqa: PD002 (what a careless page might do)
    frame.reset_index(drop=True, inplace=True)  # noqa: PD002 (what a careless page might do)


@pytest.mark.filterwarnings("ignore:The inplace keyword")  # deprecated, not yet gone
@pytest.mark.parametrize("name", list(GETTERS))
def test_a_caller_that_changes_its_frame_leaves_the_next_caller_s_intact(
    seeded_db_env: str, name: str
) -> None:
    get = GETTERS[name]
    version = ui.data_version()
    given = get(version)
    expected = given.copy(deep=True)
    vandalise(given)
    pd.testing.assert_frame_equal(get(version), expected, check_exact=True)


def test_callers_share_one_copy_of_the_data(seeded_db_env: str) -> None:
    version = ui.data_version()
    one, two = ui._load_frames(version)[1], ui._load_frames(version)[1]
    assert one is not two  # each caller its own frame object ...
    pain_one, pain_two = one["pain_pre"].to_numpy(), two["pain_pre"].to_numpy()
    assert np.shares_memory(pain_one, pain_two)  # ... over the same data, not a copy
    outcomes = ui._load_outcomes(version, OWNER)
    assert np.shares_memory(
        outcomes["hd28_change"].to_numpy(), ui._practice_outcomes(version)[0]["hd28_change"]
    )


def _vandal_page() -> None:
    """A page that changes every frame it loads (run by AppTest as a script)."""
    from practice import ui as page_ui

    for frame in (page_ui.load_sessions(), page_ui.load_clients(), page_ui.load_outcomes()):
        frame.loc[:, frame.columns[0]] = frame[frame.columns[0]].iloc[-1]
        frame.drop(frame.index[1:], inplace=True)  # noqa: PD002 (what a careless page might do)
    filtered = page_ui.filtered_sessions(page_ui.current_filters())
    filtered.loc[:, "pain_pre"] = 99.0


@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_a_page_that_changes_its_frames_leaves_the_next_page_s_intact(seeded_db_env: str) -> None:
    before = ui._load_frames(ui.data_version())[1].copy(deep=True)
    outcomes = ui._load_outcomes(ui.data_version(), OWNER).copy(deep=True)
    at = AppTest.from_function(_vandal_page, default_timeout=60)
    at.session_state["user"] = OWNER
    at.run()
    assert not at.exception
    at.run()  # the second run vandalises what the first one left, if it left anything
    assert not at.exception
    version = ui.data_version()
    pd.testing.assert_frame_equal(ui._load_frames(version)[1], before, check_exact=True)
    pd.testing.assert_frame_equal(ui._load_outcomes(version, OWNER), outcomes, check_exact=True)


def test_a_new_data_version_drops_the_older_frames(
    seeded_db_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = []
    fetch = queries.fetch_sessions
    monkeypatch.setattr(queries, "fetch_sessions", lambda conn: reads.append(1) or fetch(conn))
    version = ui.data_version()
    ui._load_frames(version)
    ui._load_frames(version)
    assert len(reads) == 1  # cached
    newer = (version[0] + 1, version[1])
    ui._forget_older_versions(newer)  # as data_version() does when an import is seen
    ui._load_frames(version)
    assert len(reads) == 2  # the older version's frames were dropped, so read again
    ui.clear_caches()
    ui._load_frames(version)
    assert len(reads) == 3
