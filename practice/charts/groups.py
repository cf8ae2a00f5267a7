"""Charts of group comparisons: technique forests, time to response and therapist funnels.

Every builder takes an aggregated analysis frame (one row per group, or per group and session
number) that already carries a display `label` (see `practice.comparisons`). Groups are drawn
in the order of the frame, which is by size, never by result; small groups are drawn grey.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from practice.charts.style import FIT_WIDTH, MUTED, NEUTRAL, layered, titled
from practice.comparisons import POSITION_ORDER

ZERO_RULE_COLOR = "#555555"
# Funnel positions: blue inside, orange above, purple below (darker beyond 99.8 %), grey small.
POSITION_COLORS = ("#4e79a7", "#f5a25d", "#c25700", "#c5a3c9", "#7b3f8c", MUTED)
LIMIT_DASHES = {"95 %": [6, 4], "99.8 %": [1, 0]}


def label_colors(frame: pd.DataFrame, colors: alt.Scale) -> alt.Scale:
    """`colors` (keyed by group key) re-keyed by the frame's labels, for readable legends.

    Only the groups in `frame` appear, each in the colour its key has on every other page.
    """
    domain = list(colors.domain) if isinstance(colors.domain, list) else []
    palette = list(colors.range) if isinstance(colors.range, list) else []
    colour_of = dict(zip(domain, palette, strict=False))
    pairs = frame[["group", "label"]].drop_duplicates("group")
    keys = [k for k in domain if k in set(pairs["group"])]
    keys += sorted(set(pairs["group"]) - set(keys))
    label_of = dict(zip(pairs["group"], pairs["label"], strict=True))
    return alt.Scale(
        domain=[label_of[k] for k in keys],
        range=[colour_of.get(k, MUTED) for k in keys],
    )


def _group_color(frame: pd.DataFrame, colors: alt.Scale, *, legend: bool) -> alt.Color:
    """The group's colour, grey where the group is small (shown but never judged)."""
    color = alt.Color(
        "label:N",
        scale=label_colors(frame, colors),
        legend=alt.Legend(title=None, orient="bottom", columns=4, labelLimit=220)
        if legend
        else None,
    )
    return alt.when("datum.small_n").then(alt.value(MUTED)).otherwise(color)


def _tooltips(tips: list[tuple[str, str, str]]) -> list[alt.Tooltip]:
    """Tooltips from (field:type, title, format) triples; an empty format means none."""
    return [
        alt.Tooltip(field, title=title, format=fmt) if fmt else alt.Tooltip(field, title=title)
        for field, title, fmt in tips
    ]


def _zero_rule(axis: str = "x") -> alt.Chart:
    """A dashed line at 0: no change, or no difference from the reference."""
    zero = alt.Chart(pd.DataFrame({"zero": [0.0]})).mark_rule(
        color=ZERO_RULE_COLOR, strokeDash=[4, 4]
    )
    return zero.encode(x=alt.X("zero:Q")) if axis == "x" else zero.encode(y=alt.Y("zero:Q"))


def _forest(
    frame: pd.DataFrame,
    *,
    value: str,
    low: str,
    high: str,
    x_title: str,
    colors: alt.Scale,
    tooltip: list[tuple[str, str, str]],
    zero: bool = True,
    percent: bool = False,
    count: str = "n_clients",
) -> alt.LayerChart:
    """Points with interval bars, one row per group in the frame's order (largest first)."""
    columns = ["group", "label", "small_n", count, value, low, high]
    columns += [field.split(":")[0] for field, _, _ in tooltip]
    data = frame[list(dict.fromkeys(columns))].reset_index(drop=True)
    axis = alt.Axis(format=".0%") if percent else alt.Axis()
    scale = alt.Scale(domain=[0, 1]) if percent else alt.Scale(zero=zero)
    base = alt.Chart(data).encode(
        y=alt.Y("label:N", sort=list(data["label"]), title=None, axis=alt.Axis(labelLimit=240)),
        color=_group_color(data, colors, legend=False),
        tooltip=_tooltips(tooltip),
    )
    bars = base.mark_rule(strokeWidth=3).encode(
        x=alt.X(f"{low}:Q", title=x_title, axis=axis, scale=scale), x2=alt.X2(f"{high}:Q")
    )
    points = base.mark_point(filled=True, size=110, opacity=1).encode(x=alt.X(f"{value}:Q"))
    layers: list[alt.Chart] = [bars, points]
    if zero:
        layers.insert(0, _zero_rule())
    height = max(120, 34 * len(data))
    return layered(*layers, height=height, autosize=FIT_WIDTH)


def change_forest_chart(
    table: pd.DataFrame, *, colors: alt.Scale, measure_label: str
) -> alt.LayerChart:
    """Mean change per group with its 95 % interval and a line at 0 (a `compare_groups` frame)."""
    tooltip = [
        ("label:N", "Group", ""),
        ("n_clients:Q", "Clients", ""),
        ("n:Q", "Series with a score", ""),
        ("change_mean:Q", "Mean change", ".1f"),
        ("change_ci_low:Q", "95 % CI from", ".1f"),
        ("change_ci_high:Q", "95 % CI to", ".1f"),
    ]
    chart = _forest(
        table,
        value="change_mean",
        low="change_ci_low",
        high="change_ci_high",
        x_title=f"Change in {measure_label.lower()} (latest minus start)",
        colors=colors,
        tooltip=tooltip,
    )
    return titled(
        chart,
        f"Average change in {measure_label.lower()}",
        "Dot: average change per client; bar: 95 % interval; dashed line: no change. "
        "Largest groups at the top; grey = too few clients to judge.",
    )


def responder_rate_chart(table: pd.DataFrame, *, colors: alt.Scale, rule: str) -> alt.LayerChart:
    """Share of responders per group with its Wilson 95 % interval (a `compare_groups` frame)."""
    tooltip = [
        ("label:N", "Group", ""),
        ("responders:Q", "Responders", ""),
        ("responder_n:Q", "Clients the rule applies to", ""),
        ("responder_rate:Q", "Responder rate", ".0%"),
        ("responder_rate_ci_low:Q", "95 % CI from", ".0%"),
        ("responder_rate_ci_high:Q", "95 % CI to", ".0%"),
    ]
    chart = _forest(
        table,
        value="responder_rate",
        low="responder_rate_ci_low",
        high="responder_rate_ci_high",
        x_title="Share of clients who responded",
        colors=colors,
        tooltip=tooltip,
        zero=False,
        percent=True,
    )
    return titled(
        chart,
        "Share of clients who responded",
        f"A responder: {rule}. Dot: share of responders; bar: 95 % interval (Wilson).",
    )


def adjusted_difference_chart(
    table: pd.DataFrame, *, colors: alt.Scale, measure_label: str, reference_label: str
) -> alt.LayerChart:
    """Case-mix adjusted difference to the reference group with its 95 % interval."""
    tooltip = [
        ("label:N", "Group", ""),
        ("adjusted_n:Q", "Series in the model", ""),
        ("adjusted_difference:Q", "Adjusted difference", ".1f"),
        ("adjusted_difference_ci_low:Q", "95 % CI from", ".1f"),
        ("adjusted_difference_ci_high:Q", "95 % CI to", ".1f"),
    ]
    chart = _forest(
        table,
        value="adjusted_difference",
        low="adjusted_difference_ci_low",
        high="adjusted_difference_ci_high",
        x_title=f"Difference in {measure_label.lower()}, group minus {reference_label}",
        colors=colors,
        tooltip=tooltip,
        count="adjusted_n",
    )
    return titled(
        chart,
        f"Compared with {reference_label}, for similar clients",
        "Dot: difference after accounting for baseline and case mix; bar: 95 % interval; "
        "a bar crossing the dashed line is compatible with no difference.",
    )


def relief_chart(relief: pd.DataFrame, *, colors: alt.Scale) -> alt.LayerChart:
    """Mean pain relief straight after a session per technique (an `immediate_relief` frame)."""
    tooltip = [
        ("label:N", "Technique", ""),
        ("n_sessions:Q", "Sessions", ""),
        ("n_clients:Q", "Clients", ""),
        ("relief_mean:Q", "Mean relief (points)", ".2f"),
        ("relief_ci_low:Q", "95 % CI from", ".2f"),
        ("relief_ci_high:Q", "95 % CI to", ".2f"),
    ]
    chart = _forest(
        relief,
        value="relief_mean",
        low="relief_ci_low",
        high="relief_ci_high",
        x_title="Pain before minus pain after the session (points, 0-10 scale)",
        colors=colors,
        tooltip=tooltip,
        count="n_sessions",
    )
    return titled(
        chart,
        "Immediate relief by technique",
        "How much lower pain was straight after the session; a session with two techniques "
        "counts for both. Most-used techniques at the top.",
    )


def time_to_response_chart(
    curves: pd.DataFrame, *, colors: alt.Scale, measure_label: str
) -> alt.Chart:
    """Kaplan-Meier step lines: share of clients who had responded by each session."""
    columns = [
        "group",
        "label",
        "small_n",
        "time",
        "n_at_risk",
        "n_events",
        "cumulative_response",
        "cumulative_response_ci_low",
        "cumulative_response_ci_high",
    ]
    data = curves[columns].reset_index(drop=True)
    line = alt.Chart(data).mark_line(interpolate="step-after", point=True, strokeWidth=2)
    chart = line.encode(
        x=alt.X("time:Q", title="Session number", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y(
            "cumulative_response:Q",
            title="Share of clients who had responded",
            axis=alt.Axis(format=".0%"),
            scale=alt.Scale(domain=[0, 1]),
        ),
        color=_group_color(data, colors, legend=True),
        detail=alt.Detail("group:N"),
        strokeDash=alt.StrokeDash(
            "small_n:N", scale=alt.Scale(domain=[False, True], range=[[1, 0], [4, 3]]), legend=None
        ),
        tooltip=_tooltips(
            [
                ("label:N", "Group", ""),
                ("time:Q", "By session", ""),
                ("cumulative_response:Q", "Responded", ".0%"),
                ("cumulative_response_ci_low:Q", "95 % CI from", ".0%"),
                ("cumulative_response_ci_high:Q", "95 % CI to", ".0%"),
                ("n_at_risk:Q", "Clients still followed", ""),
                ("n_events:Q", "Responded at this session", ""),
            ]
        ),
    )
    return titled(
        chart.properties(height=340, autosize=FIT_WIDTH),
        f"Time to response ({measure_label.lower()})",
        "Each step up: clients who reached a response at that session. Clients who stopped "
        "before responding count until their last report. Grey dashed = small group.",
    )


# Pixels between a therapist's dot and their name, above or below it.
NAME_OFFSET = 6


def funnel_chart(
    points: pd.DataFrame,
    curve: pd.DataFrame,
    *,
    value_title: str,
    percent: bool,
) -> alt.LayerChart:
    """Funnel plot: a point per therapist at (n, value), the target and 95 % / 99.8 % limits.

    `points` from `funnel_data`, `curve` from `funnel_curve` (Spiegelhalter 2005).
    """
    columns = ["group", "n", "value", "target", "lower_95", "upper_95", "lower_998", "upper_998"]
    data = points[[*columns, "position", "small_n"]].reset_index(drop=True)
    limits = _limit_lines(curve)
    axis = alt.Axis(format=".0%") if percent else alt.Axis()
    x = alt.X("n:Q", title="Clients counted (n)", scale=alt.Scale(zero=True))
    lines = (
        alt.Chart(limits)
        .mark_line(color=NEUTRAL, opacity=0.7)
        .encode(
            x=x,
            y=alt.Y("limit_value:Q", title=value_title, axis=axis),
            detail=alt.Detail("line:N"),
            strokeDash=alt.StrokeDash(
                "limit:N",
                title="Control limits",
                scale=alt.Scale(domain=list(LIMIT_DASHES), range=list(LIMIT_DASHES.values())),
            ),
        )
    )
    target_value = float(data["target"].iloc[0]) if len(data) else 0.0
    target = (
        alt.Chart(pd.DataFrame({"target": [target_value]}))
        .mark_rule(color=ZERO_RULE_COLOR)
        .encode(y=alt.Y("target:Q"))
    )
    color = alt.Color(
        "position:N",
        title="Position",
        scale=alt.Scale(domain=list(POSITION_ORDER), range=list(POSITION_COLORS)),
        legend=alt.Legend(orient="bottom", columns=3),
    )
    value_format = ".0%" if percent else ".2f"
    dots = (
        alt.Chart(data)
        .mark_circle(size=160, opacity=1)
        .encode(
            x=x,
            y=alt.Y("value:Q", title=value_title, axis=axis),
            color=color,
            tooltip=_tooltips(
                [
                    ("group:N", "Therapist", ""),
                    ("n:Q", "Clients counted", ""),
                    ("value:Q", value_title, value_format),
                    ("lower_998:Q", "99.8 % limit from", value_format),
                    ("upper_998:Q", "99.8 % limit to", value_format),
                    ("position:N", "Position", ""),
                ]
            ),
        )
    )
    # A name beside its dot would sit on the practice line when the dot is near it: names go
    # above dots on or above the line and below dots under it, away from the line.
    above = "datum.value >= datum.target"
    names_above = (
        dots.mark_text(align="left", baseline="bottom", dx=6, dy=-NAME_OFFSET, fontSize=11)
        .encode(text=alt.Text("group:N"))
        .transform_filter(above)
    )
    names_below = (
        dots.mark_text(align="left", baseline="top", dx=6, dy=NAME_OFFSET, fontSize=11)
        .encode(text=alt.Text("group:N"))
        .transform_filter(f"!({above})")
    )
    return titled(
        layered(lines, target, dots, names_above, names_below, height=420, autosize=FIT_WIDTH),
        "Funnel plot",
        "Each dot is a therapist. Solid line: practice target; dashed: 95 % limits; "
        "outer lines: 99.8 % limits. Grey dots: too few clients to judge.",
    )


def _limit_lines(curve: pd.DataFrame) -> pd.DataFrame:
    """The four limit columns of a `funnel_curve` frame as long rows (one line each)."""
    long = curve.melt(
        id_vars="n",
        value_vars=["lower_95", "upper_95", "lower_998", "upper_998"],
        var_name="line",
        value_name="limit_value",
    )
    long["limit"] = long["line"].str.endswith("_998").map({True: "99.8 %", False: "95 %"})
    return long
