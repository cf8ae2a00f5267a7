"""Headway's Altair theme: registered once, enabled for the pages, applied to exports."""

from __future__ import annotations

import altair as alt
import pandas as pd
import pytest

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


POINTS = pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 4.0]})
LINE = pd.DataFrame({"x": [0.0, 5.0], "y": [1.0, 1.0]})


def _dots(data: object = POINTS) -> alt.Chart:
    return alt.Chart(data).mark_point().encode(x="x:Q", y="y:Q")


def _line(data: object = LINE) -> alt.Chart:
    return alt.Chart(data).mark_line().encode(x="x:Q", y="y:Q")


def _layer_cases() -> list[tuple[str, list[alt.Chart], dict[str, object]]]:
    selection = alt.selection_point(fields=["x"])
    shared = _dots()
    return [
        ("own data each", [_line(), _dots()], {"height": 200, "autosize": style.FIT_WIDTH}),
        ("data of the chart", [_line(alt.Undefined), _dots(alt.Undefined)], {"data": POINTS}),
        ("one data set shared", [shared, shared.mark_text().encode(text="y:Q")], {}),
        ("a layer with a selection", [_line(), _dots().add_params(selection)], {}),
        ("a layer with a size", [_line(), _dots().properties(width=100)], {}),
        ("a layered layer", [_line(), alt.layer(_dots(), _line())], {}),
    ]


@pytest.mark.parametrize(
    ("layers", "properties"),
    [case[1:] for case in _layer_cases()],
    ids=[case[0] for case in _layer_cases()],
)
def test_layered_gives_altairs_own_layer_chart_spec(
    layers: list[alt.Chart], properties: dict[str, object]
) -> None:
    expected = alt.LayerChart(layer=layers, **properties).to_dict()
    assert style.layered(*layers, **properties).to_dict() == expected


def test_titled_sets_the_title_of_the_chart_it_is_given() -> None:
    chart = _dots()
    assert style.titled(chart, "T") is chart
    assert chart.to_dict()["title"] == {"text": "T"}
