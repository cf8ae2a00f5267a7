"""Client progress charts (practice.charts.client), checked through their Vega-Lite specs."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from practice.charts import client as charts
from practice.charts.style import GOOD, technique_colors

DATES = pd.to_datetime(["2026-01-05", "2026-01-19", "2026-02-02"])


def layers(spec: dict[str, Any], data: str | None = None) -> list[dict[str, Any]]:
    """Every single-view layer of a (nested) layer spec, with its rows under "values"."""
    found = []
    for layer in spec["layer"]:
        name = layer["data"]["name"] if "data" in layer else data
        if "layer" in layer:
            found.extend(layers({**layer, "datasets": spec["datasets"]}, name))
        else:
            found.append({**layer, "values": spec["datasets"][name] if name else None})
    return found


def mark_type(layer: dict[str, Any]) -> str:
    mark = layer["mark"]
    return mark if isinstance(mark, str) else mark["type"]


def pain_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "session_date": DATES.repeat(2),
            "session_number": [1.0, 1.0, 2.0, 2.0, 3.0, 3.0],
            "when": ["Before session", "After session"] * 3,
            "pain": [6.0, 3.0, 4.0, 2.0, 3.0, 1.0],
        }
    )


def test_pain_chart_has_baseline_rule_and_meaningful_band() -> None:
    spec = charts.pain_chart(pain_frame(), baseline=6.0).to_dict()
    assert spec["title"]["text"] == "Pain before and after each session"
    assert "meaningful improvement" in " ".join(spec["title"]["subtitle"])
    by_mark = {mark_type(layer): layer for layer in layers(spec)}
    # Band from 0 to 6 - 30 % x 6 = 4.2 (issue 13 item 8: the 2-point rule is an option, off).
    assert by_mark["rect"]["values"][0]["low"] == 0.0
    assert by_mark["rect"]["values"][0]["high"] == pytest.approx(4.2)
    assert by_mark["rect"]["encoding"]["y2"] == {"field": "high"}
    assert by_mark["rule"]["values"] == [{"level": 6.0, "label": "Baseline 6"}]
    assert by_mark["rule"]["encoding"]["y"] == {"field": "level", "type": "quantitative"}
    line = by_mark["line"]
    assert line["encoding"]["x"]["field"] == "session_date"
    assert line["encoding"]["x"]["type"] == "temporal"
    assert line["encoding"]["y"]["type"] == "quantitative"
    assert line["encoding"]["color"]["scale"]["domain"] == ["Before session", "After session"]
    assert {t["field"] for t in line["encoding"]["tooltip"]} == {
        "session_date",
        "session_number",
        "when",
        "pain",
    }
    assert [row["pain"] for row in line["values"]] == [6.0, 3.0, 4.0, 2.0, 3.0, 1.0]


def test_pain_chart_without_baseline_draws_only_the_lines() -> None:
    spec = charts.pain_chart(pain_frame(), baseline=float("nan")).to_dict()
    assert [mark_type(layer) for layer in layers(spec)] == ["line"]


def test_headache_days_chart_has_baseline_and_dashed_50_percent_line() -> None:
    points = pd.DataFrame(
        {
            "session_date": DATES,
            "session_number": [1.0, 2.0, 3.0],
            "days_per_28": [12.0, 8.0, 6.0],
            "source": ["weekly count x 4", "weekly count x 4", "28-day report"],
        }
    )
    spec = charts.headache_days_chart(points, baseline=16.0).to_dict()
    assert spec["title"]["text"] == "Headache days per 28 days"
    rules = [layer for layer in layers(spec) if mark_type(layer) == "rule"]
    assert [rule["values"] for rule in rules] == [
        [{"level": 16.0, "label": "Baseline 16"}],
        [{"level": 8.0, "label": "50 % fewer: responder target (8)"}],
    ]
    assert rules[0]["mark"]["strokeDash"] == [1, 0]
    assert rules[1]["mark"]["strokeDash"] == [6, 4]
    assert rules[1]["mark"]["color"] == GOOD
    texts = [layer for layer in layers(spec) if mark_type(layer) == "text"]
    assert [t["encoding"]["text"]["field"] for t in texts] == ["label", "label"]
    line = next(layer for layer in layers(spec) if mark_type(layer) == "line")
    assert [row["days_per_28"] for row in line["values"]] == [12.0, 8.0, 6.0]
    assert line["encoding"]["y"]["field"] == "days_per_28"


def test_wellbeing_chart_has_one_panel_per_measure_with_own_scale() -> None:
    points = pd.DataFrame(
        {
            "session_date": DATES[:2].append(DATES[:1]),
            "session_number": [1.0, 2.0, 1.0],
            "measure": ["Stress (0-10, lower is better)"] * 2
            + ["Medication days per 28 days (fewer is better)"],
            "value": [7.0, 5.0, 8.0],
            "baseline": [6.0, 6.0, 12.0],
        }
    )
    spec = charts.wellbeing_chart(points).to_dict()
    assert spec["facet"]["row"]["field"] == "measure"
    assert spec["resolve"]["scale"]["y"] == "independent"
    assert spec["title"]["text"] == "Stress, sleep and medication"
    marks = [mark_type(layer) for layer in spec["spec"]["layer"]]
    assert marks == ["rule", "line"]
    assert spec["spec"]["layer"][0]["encoding"]["y"]["field"] == "baseline"
    rows = spec["datasets"][spec["data"]["name"]]
    assert [row["value"] for row in rows] == [7.0, 5.0, 8.0]


def test_techniques_chart_uses_the_shared_technique_colours() -> None:
    points = pd.DataFrame(
        {
            "session_date": DATES[[0, 0, 1]],
            "session_number": [1.0, 1.0, 2.0],
            "technique": ["trigger_point", "hot_stones", "trigger_point"],
            "technique_label": ["Trigger point therapy", "Hot stones", "Trigger point therapy"],
        }
    )
    spec = charts.techniques_chart(points, technique_keys=["swedish", "hot_stones"]).to_dict()
    encoding = spec["encoding"]
    assert (encoding["x"]["field"], encoding["x"]["type"]) == ("session_date", "temporal")
    assert (encoding["y"]["field"], encoding["y"]["type"]) == ("technique_label", "nominal")
    assert encoding["color"]["scale"] == technique_colors(["hot_stones"]).to_dict()
    assert spec["title"]["text"] == "Techniques used at each session"
    assert len(spec["datasets"][spec["data"]["name"]]) == 3


def test_pain_chart_marks_follow_up_visits_with_their_own_shape_colour_and_legend() -> None:
    visit = pd.DataFrame(
        {
            "session_date": pd.to_datetime(["2026-06-01"]),
            "session_number": [float("nan")],
            "when": [charts.FOLLOW_UP_VISIT],
            "pain": [2.0],
        }
    )
    spec = charts.pain_chart(pd.concat([pain_frame(), visit]), baseline=6.0).to_dict()
    line = next(layer for layer in layers(spec) if mark_type(layer) == "line")
    point = next(layer for layer in layers(spec) if mark_type(layer) == "point")
    assert [row["pain"] for row in line["values"]] == [6.0, 3.0, 4.0, 2.0, 3.0, 1.0]
    assert [row["pain"] for row in point["values"]] == [2.0]
    assert point["mark"]["shape"] == "diamond" and point["mark"]["filled"] is True
    scale = point["encoding"]["color"]["scale"]
    assert scale == line["encoding"]["color"]["scale"]  # one legend with three entries
    assert scale["domain"] == ["Before session", "After session", "Follow-up visit"]
    assert scale["range"][2] == charts.FOLLOW_UP_COLOR
    assert "follow-up visits" in " ".join(spec["title"]["subtitle"])


def test_headache_days_chart_marks_follow_up_visits_apart_from_the_line() -> None:
    points = pd.DataFrame(
        {
            "session_date": pd.to_datetime(["2026-01-05", "2026-01-19", "2026-07-01"]),
            "session_number": [1.0, 2.0, float("nan")],
            "days_per_28": [12.0, 8.0, 5.0],
            "source": ["weekly count x 4", "weekly count x 4", "28-day report"],
            "visit": ["Treatment session", "Treatment session", "Follow-up visit"],
        }
    )
    spec = charts.headache_days_chart(points, baseline=12.0).to_dict()
    line = next(layer for layer in layers(spec) if mark_type(layer) == "line")
    point = next(layer for layer in layers(spec) if mark_type(layer) == "point")
    assert [row["days_per_28"] for row in line["values"]] == [12.0, 8.0]
    assert [row["days_per_28"] for row in point["values"]] == [5.0]
    assert point["mark"]["shape"] == "diamond"
    assert point["encoding"]["color"]["field"] == "visit"
    assert point["encoding"]["color"]["scale"] == {
        "domain": ["Follow-up visit"],
        "range": [charts.FOLLOW_UP_COLOR],
    }
    assert point["encoding"]["color"]["legend"] == {"orient": "top"}
