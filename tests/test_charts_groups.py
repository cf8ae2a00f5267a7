"""Chart builders of the Techniques and Therapists pages, checked through their Vega-Lite spec."""

from __future__ import annotations

from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import pytest

from practice.charts import groups as charts
from practice.charts.style import MUTED, technique_colors
from practice.comparisons import POSITION_ORDER

NAN = np.nan
COLORS = technique_colors(["swedish", "trigger_point", "hot_stones"])


def spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    return chart.to_dict()


def layer_data(chart_spec: dict[str, Any], layer: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(chart_spec["datasets"][layer["data"]["name"]])


def colour_of(key: str) -> str:
    return dict(zip(COLORS.domain, COLORS.range, strict=True))[key]


def technique_table() -> pd.DataFrame:
    """Two groups as compare_groups returns them (largest first) with display labels."""
    return pd.DataFrame(
        {
            "group": ["swedish", "hot_stones"],
            "label": ["Swedish massage", "Hot stones"],
            "small_n": [False, True],
            "n_clients": [26, 3],
            "n": [29, 3],
            "change_mean": [-3.9, -6.0],
            "change_ci_low": [-5.3, -9.0],
            "change_ci_high": [-2.6, -3.0],
            "responders": [7, 2],
            "responder_n": [29, 3],
            "responder_rate": [7 / 29, 2 / 3],
            "responder_rate_ci_low": [0.12, 0.21],
            "responder_rate_ci_high": [0.42, 0.94],
            "adjusted_n": [28, 3],
            "adjusted_difference": [0.0, -1.5],
            "adjusted_difference_ci_low": [NAN, -4.0],
            "adjusted_difference_ci_high": [NAN, 1.0],
            "baseline_mean": [10.5, 12.0],  # not needed by any chart: never sent
        }
    )


def test_change_forest_chart_has_a_zero_rule_intervals_and_grey_small_groups() -> None:
    chart_spec = spec(
        charts.change_forest_chart(
            technique_table(), colors=COLORS, measure_label="Headache days per 28 days"
        )
    )
    zero, bars, points = chart_spec["layer"]
    assert zero["mark"]["type"] == "rule"
    assert zero["encoding"]["x"] == {"field": "zero", "type": "quantitative"}
    assert layer_data(chart_spec, zero)["zero"].tolist() == [0.0]
    assert bars["mark"]["type"] == "rule"
    assert bars["encoding"]["x"]["field"] == "change_ci_low"
    assert bars["encoding"]["x2"] == {"field": "change_ci_high"}
    assert points["mark"]["type"] == "point"
    assert points["encoding"]["x"] == {"field": "change_mean", "type": "quantitative"}
    # Rows in the table's order (by size), never re-sorted by effect.
    assert points["encoding"]["y"]["sort"] == ["Swedish massage", "Hot stones"]
    color = points["encoding"]["color"]
    assert color["condition"] == {"test": "datum.small_n", "value": MUTED}
    assert color["field"] == "label"
    assert color["scale"] == {
        "domain": ["Swedish massage", "Hot stones"],
        "range": [colour_of("swedish"), colour_of("hot_stones")],
    }
    data = layer_data(chart_spec, points)
    assert "baseline_mean" not in data.columns
    assert data["small_n"].tolist() == [False, True]
    tips = {t["field"] for t in points["encoding"]["tooltip"]}
    assert {"label", "n_clients", "n", "change_mean", "change_ci_low", "change_ci_high"} <= tips
    assert chart_spec["title"]["text"] == "Average change in headache days per 28 days"
    assert "grey = too few clients" in " ".join(chart_spec["title"]["subtitle"])
    assert chart_spec["height"] == 120
    assert chart_spec["autosize"] == {"type": "fit-x", "contains": "padding"}


def test_responder_rate_chart_is_a_percent_scale_without_a_zero_rule() -> None:
    chart_spec = spec(
        charts.responder_rate_chart(
            technique_table(), colors=COLORS, rule="headache days down by at least 50 %"
        )
    )
    bars, points = chart_spec["layer"]
    assert bars["encoding"]["x"]["field"] == "responder_rate_ci_low"
    assert bars["encoding"]["x"]["scale"] == {"domain": [0, 1]}
    assert bars["encoding"]["x"]["axis"] == {"format": ".0%"}
    assert bars["encoding"]["x2"] == {"field": "responder_rate_ci_high"}
    assert points["encoding"]["x"]["field"] == "responder_rate"
    assert "headache days down by at least 50 %" in " ".join(chart_spec["title"]["subtitle"])


def test_adjusted_difference_chart_names_the_reference_and_keeps_it_at_zero() -> None:
    chart_spec = spec(
        charts.adjusted_difference_chart(
            technique_table(),
            colors=COLORS,
            measure_label="Headache days per 28 days",
            reference_label="Swedish massage",
        )
    )
    zero, bars, points = chart_spec["layer"]
    assert zero["encoding"]["x"]["field"] == "zero"
    assert bars["encoding"]["x"]["title"] == (
        "Difference in headache days per 28 days, group minus Swedish massage"
    )
    data = layer_data(chart_spec, points)
    assert data["adjusted_difference"].tolist() == [0.0, -1.5]
    assert data["adjusted_difference_ci_low"].isna().tolist() == [True, False]
    assert chart_spec["title"]["text"] == "Compared with Swedish massage, for similar clients"


def test_relief_chart_greys_techniques_with_few_clients() -> None:
    relief = pd.DataFrame(
        {
            "group": ["swedish", "trigger_point"],
            "label": ["Swedish massage", "Trigger point therapy"],
            "small_n": [False, True],
            "n_sessions": [272, 9],
            "n_clients": [97, 2],
            "relief_mean": [1.67, 1.2],
            "relief_ci_low": [1.55, 0.1],
            "relief_ci_high": [1.78, 2.3],
        }
    )
    chart_spec = spec(charts.relief_chart(relief, colors=COLORS))
    zero, _bars, points = chart_spec["layer"]
    assert zero["encoding"]["x"]["field"] == "zero"  # no relief
    assert points["encoding"]["x"]["field"] == "relief_mean"
    assert points["encoding"]["color"]["condition"]["value"] == MUTED
    assert points["encoding"]["y"]["sort"] == ["Swedish massage", "Trigger point therapy"]
    assert layer_data(chart_spec, points)["n_sessions"].tolist() == [272, 9]


def test_time_to_response_chart_draws_steps_with_the_number_still_followed() -> None:
    curves = pd.DataFrame(
        {
            "group": ["swedish"] * 3 + ["hot_stones"] * 2,
            "label": ["Swedish massage"] * 3 + ["Hot stones"] * 2,
            "small_n": [False] * 3 + [True] * 2,
            "time": [0.0, 2.0, 4.0, 0.0, 3.0],
            "n_at_risk": [17, 17, 10, 3, 3],
            "n_events": [0, 5, 1, 0, 1],
            "n_censored": [0, 1, 0, 0, 0],
            "cumulative_response": [0.0, 0.294, 0.365, 0.0, 0.333],
            "cumulative_response_ci_low": [0.0, 0.13, 0.18, 0.0, 0.05],
            "cumulative_response_ci_high": [0.0, 0.57, 0.63, 0.0, 0.86],
        }
    )
    chart_spec = spec(
        charts.time_to_response_chart(
            curves, colors=COLORS, measure_label="Headache days per 28 days"
        )
    )
    assert chart_spec["mark"]["type"] == "line"
    assert chart_spec["mark"]["interpolate"] == "step-after"
    encoding = chart_spec["encoding"]
    assert encoding["x"]["field"] == "time"
    assert encoding["y"]["field"] == "cumulative_response"
    assert encoding["y"]["scale"] == {"domain": [0, 1]}
    assert encoding["detail"] == {"field": "group", "type": "nominal"}
    assert encoding["strokeDash"]["field"] == "small_n"
    assert encoding["color"]["condition"]["value"] == MUTED
    assert encoding["color"]["scale"]["domain"] == ["Swedish massage", "Hot stones"]
    tips = {t["field"]: t["title"] for t in encoding["tooltip"]}
    assert tips["n_at_risk"] == "Clients still followed"
    data = pd.DataFrame(chart_spec["datasets"][chart_spec["data"]["name"]])
    assert len(data) == 5
    assert "n_censored" not in data.columns


def funnel_points() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "group": ["Sarah Okafor", "Lena Fischer"],
            "n": [36, 3],
            "value": [0.47, 0.33],
            "target": [0.43, 0.43],
            "lower_95": [0.27, 0.0],
            "upper_95": [0.60, 0.99],
            "lower_998": [0.18, 0.0],
            "upper_998": [0.69, 1.0],
            "position": ["within limits", "not judged (small n)"],
            "small_n": [False, True],
        }
    )


def funnel_limits() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "n": [1.0, 10.0, 40.0],
            "target": [0.43] * 3,
            "lower_95": [0.0, 0.12, 0.28],
            "upper_95": [1.0, 0.74, 0.58],
            "lower_998": [0.0, 0.0, 0.19],
            "upper_998": [1.0, 0.91, 0.67],
        }
    )


@pytest.mark.parametrize(("percent", "axis"), [(True, {"format": ".0%"}), (False, {})])
def test_funnel_chart_has_limit_curves_a_target_and_grey_unjudged_points(
    percent: bool, axis: dict[str, str]
) -> None:
    chart_spec = spec(
        charts.funnel_chart(
            funnel_points(), funnel_limits(), value_title="Responder rate", percent=percent
        )
    )
    lines, target, dots, names, _names_below = chart_spec["layer"]
    limits = layer_data(chart_spec, lines)
    assert len(limits) == 12  # four lines over three values of n
    assert sorted(limits["line"].unique()) == ["lower_95", "lower_998", "upper_95", "upper_998"]
    upper_998 = limits.loc[limits["line"] == "upper_998"]
    assert upper_998["limit_value"].tolist() == [1.0, 0.91, 0.67]
    assert set(upper_998["limit"]) == {"99.8 %"}
    assert lines["mark"]["type"] == "line"
    assert lines["encoding"]["detail"] == {"field": "line", "type": "nominal"}
    assert lines["encoding"]["strokeDash"]["scale"]["domain"] == ["95 %", "99.8 %"]
    assert lines["encoding"]["y"]["axis"] == axis
    assert target["mark"]["type"] == "rule"
    assert layer_data(chart_spec, target)["target"].tolist() == [0.43]
    assert dots["encoding"]["x"]["field"] == "n"
    assert dots["encoding"]["y"]["field"] == "value"
    color = dots["encoding"]["color"]
    assert color["field"] == "position"
    assert color["scale"]["domain"] == list(POSITION_ORDER)
    grey = dict(zip(color["scale"]["domain"], color["scale"]["range"], strict=True))
    assert grey["not judged (small n)"] == MUTED
    assert names["mark"]["type"] == "text"
    assert names["encoding"]["text"] == {"field": "group", "type": "nominal"}
    assert layer_data(chart_spec, dots)["position"].tolist() == [
        "within limits",
        "not judged (small n)",
    ]


def test_label_colors_keep_each_techniques_colour_and_only_the_groups_present() -> None:
    frame = pd.DataFrame(
        {"group": ["trigger_point", "swedish"], "label": ["Trigger point", "Swedish"]}
    )
    scale = charts.label_colors(frame, COLORS)
    # In the vocabulary's order, each with the colour it has everywhere else.
    assert scale.domain == ["Trigger point", "Swedish"]
    assert scale.range == [colour_of("trigger_point"), colour_of("swedish")]
