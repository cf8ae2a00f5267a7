"""Display tables shaped once per content (`ui.shaped`) and charts keyed by their arguments."""

from __future__ import annotations

import altair as alt
import pandas as pd
import pytest
import streamlit as st

from practice import ui

CALLS: list[int] = []


def doubled(frame: pd.DataFrame, *, column: str) -> pd.DataFrame:
    CALLS.append(len(frame))
    return frame.assign(**{column: frame[column] * 2})


@pytest.fixture(autouse=True)
def fresh_caches() -> None:
    st.cache_data.clear()
    CALLS.clear()


def test_shaped_runs_once_per_content_and_hands_out_copies() -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    first = ui.shaped(doubled, frame, column="a")
    again = ui.shaped(doubled, frame.copy(), column="a")  # equal content, another object
    assert CALLS == [2]
    pd.testing.assert_frame_equal(first, again)
    assert first["a"].tolist() == [2, 4]
    first.loc[0, "a"] = 99  # a caller's change never reaches the cache
    assert ui.shaped(doubled, frame, column="a")["a"].tolist() == [2, 4]

    ui.shaped(doubled, frame.assign(a=[1, 3]), column="a")  # other content: computed anew
    ui.shaped(doubled, pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}), column="a")  # dtype
    assert CALLS == [2, 2, 2]


def test_chart_arguments_hash_by_content() -> None:
    frame = pd.DataFrame({"a": [1, 2]})
    assert ui._hashable(frame) == ui._hashable(frame.copy())
    assert ui._hashable(frame) != ui._hashable(frame.assign(a=[1, 3]))
    scale = alt.Scale(domain=["x"], range=["#000"])
    assert ui._hashable(scale) == ui._hashable(alt.Scale(domain=["x"], range=["#000"]))
    assert ui._hashable(scale) != ui._hashable(alt.Scale(domain=["y"], range=["#000"]))
    assert ui._hashable(3.5) == 3.5
