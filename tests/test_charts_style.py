"""Headway's Altair theme: registered once, enabled for the pages, applied to exports."""

from __future__ import annotations

import altair as alt
import pandas as pd

from practice.charts import client, groups, overview, style
from practice.exports import chart_spec
from tests.altair_globals import foreign_settings


def a_chart() -> alt.Chart:
    bands = pd.DataFrame({"x": [1, 2], "y": [3, 4]})
    return style.titled(alt.Chart(bands).mark_bar().encode(x="x:Q", y="y:Q"), "T", "a subtitle")


def test_the_headway_theme_is_registered_and_enabled() -> None:
    assert style.THEME in alt.theme.names()
    assert alt.theme.active == style.THEME


def test_charts_take_the_title_anchor_from_the_theme_not_from_each_chart() -> None:
    spec = a_chart().to_dict()
    assert spec["config"]["title"] == {"anchor": "start"}
    assert spec["title"] == {"text": "T", "subtitle": ["a subtitle"]}


def test_every_chart_module_shares_one_fit_width() -> None:
    assert groups.FIT_WIDTH is style.FIT_WIDTH
    assert client.FIT_WIDTH is style.FIT_WIDTH
    assert overview.FIT_WIDTH is style.FIT_WIDTH


def test_exports_apply_the_theme_whatever_theme_is_enabled() -> None:
    expected = a_chart().to_dict()
    with foreign_settings():
        assert a_chart().to_dict()["config"] != expected["config"]
        assert chart_spec(a_chart())["config"] == expected["config"]
        assert chart_spec(a_chart())["config"]["title"] == {"anchor": "start"}
