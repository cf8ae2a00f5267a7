"""Charts of the Overview page: the monthly trend and the spread of change."""

from __future__ import annotations

import altair as alt
import pandas as pd

from practice import config
from practice.charts.style import (
    FIT_WIDTH,
    GOOD,
    HALF_WIDTH_LINE_CHARS,
    MUTED,
    NEUTRAL,
    layered,
    titled,
)

WHOLE_MONTH = "whole month"
PART_MONTH = "part of the month"
OUTCOME_LABELS = {
    "pain_pre_mean": "Pain before the session (0-10)",
    "hd28_mean": "Headache days per 28 days",
}


# Month names on a band (ordinal) axis: one label per bar, never a tick at a bar's edge that
# reads as the next month, and no shift by the browser's time zone.
MONTH_FORMAT = "%b %Y"


def _month_axis(trend: pd.DataFrame) -> tuple[pd.DataFrame, alt.X]:
    """`trend` with a `month_label` ("Sep 2026") and the x encoding that keeps months in order."""
    labelled = trend.assign(month_label=pd.to_datetime(trend["month"]).dt.strftime(MONTH_FORMAT))
    x = alt.X(
        "month_label:O",
        title="Month",
        sort=labelled["month_label"].tolist(),
        axis=alt.Axis(labelAngle=-45),
    )
    return labelled, x


def monthly_sessions_chart(trend: pd.DataFrame) -> alt.LayerChart:
    """Attended sessions per month, each bar labelled with its count; months the period does
    not cover completely are greyed (a part month is not a drop)."""
    data, x = _month_axis(trend)
    data["month_kind"] = data["complete"].map({True: WHOLE_MONTH, False: PART_MONTH})
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y("sessions:Q", title="Attended sessions"),
            color=alt.Color(
                "month_kind:N",
                title=None,
                scale=alt.Scale(domain=[WHOLE_MONTH, PART_MONTH], range=[NEUTRAL, MUTED]),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("month_label:O", title="Month"),
                alt.Tooltip("sessions:Q", title="Sessions"),
                alt.Tooltip("clients:Q", title="Clients seen"),
                alt.Tooltip("month_kind:N", title="Period"),
            ],
        )
    )
    counts = bars.mark_text(baseline="bottom", dy=-2, fontSize=9, color=MUTED).encode(
        text=alt.Text("sessions:Q"), color=alt.ColorValue(MUTED)
    )
    return titled(
        layered(bars, counts, height=220, autosize=FIT_WIDTH),
        "Sessions per month",
        "Attended sessions only; no-shows and cancellations are not counted. Grey: a month "
        "the period covers only in part.",
        line_chars=HALF_WIDTH_LINE_CHARS,
    )


def monthly_outcomes_chart(trend: pd.DataFrame) -> alt.FacetChart:
    """Mean pain before the session and mean headache days per 28 days, month by month, with
    each month's n; months with fewer than config.MONTHLY_MIN_SCORES scores are left out."""
    labelled, x = _month_axis(trend)
    long = labelled.melt(
        id_vars=["month_label"],
        value_vars=list(OUTCOME_LABELS),
        var_name="measure",
        value_name="mean",
    )
    parts = {"n": "_n", "enough": "_enough"}
    for name, suffix in parts.items():
        wide = labelled[[f"{key.removesuffix('_mean')}{suffix}" for key in OUTCOME_LABELS]]
        long[name] = wide.to_numpy().T.reshape(-1)
    left_out = long.loc[~long["enough"].astype(bool) & long["n"].gt(0)]
    long = long.loc[long["enough"].astype(bool)]
    long["measure"] = long["measure"].map(OUTCOME_LABELS)
    base = alt.Chart().encode(x=x, y=alt.Y("mean:Q", title=None, scale=alt.Scale(zero=True)))
    line = base.mark_line(point=True, color=NEUTRAL).encode(
        tooltip=[
            alt.Tooltip("month_label:O", title="Month"),
            alt.Tooltip("measure:N", title="Measure"),
            alt.Tooltip("mean:Q", title="Mean", format=".1f"),
            alt.Tooltip("n:Q", title="Sessions with a score"),
        ]
    )
    counts = base.mark_text(baseline="bottom", dy=-6, fontSize=9, color=MUTED).encode(
        text=alt.Text("n:Q")
    )
    # A faceted chart cannot take the container width: it is drawn at a fixed width.
    layers = layered(line, counts, data=long, height=130, width=380)
    faceted = layers.facet(
        row=alt.Row(
            "measure:N",
            title=None,
            header=alt.Header(
                labelAngle=0, labelOrient="top", labelAnchor="start", labelFontWeight="bold"
            ),
        )
    ).resolve_scale(y="independent")
    return titled(
        faceted,
        "How clients arrive at their sessions, month by month",
        "Means over all sessions of the month (lower is better); the small numbers are the "
        "sessions with a score. New clients joining raise the means: this is a trend, not one "
        f"client's progress. {_left_out_text(left_out)}",
        line_chars=HALF_WIDTH_LINE_CHARS,
    )


def _left_out_text(left_out: pd.DataFrame) -> str:
    """Which months the outcome means leave out, in words."""
    if left_out.empty:
        return ""
    months = list(dict.fromkeys(left_out["month_label"]))
    return (
        f"Left out: {', '.join(months)} (fewer than {config.MONTHLY_MIN_SCORES} sessions "
        "with a score)."
    )


def change_distribution_chart(
    bands: pd.DataFrame, *, responder_line: float = -50
) -> alt.LayerChart:
    """Series per 10-point band of percent change, responders (<= -50 %) in green."""
    data = bands.assign(responder=bands["band_end"] <= responder_line)
    bars = (
        alt.Chart(data)
        .mark_rect(stroke="white", strokeWidth=1)
        .encode(
            x=alt.X(
                "band_start:Q",
                title="Change in headache days per 28 days (%)",
                scale=alt.Scale(domain=[-110, 110]),
            ),
            x2=alt.X2("band_end:Q"),
            y=alt.Y("series:Q", title="Treatment series"),
            y2=alt.Y2Datum(0),
            color=alt.Color(
                "responder:N",
                title=None,
                scale=alt.Scale(domain=[True, False], range=[GOOD, MUTED]),
                legend=alt.Legend(
                    labelExpr="datum.value ? 'responder (50 % or more fewer)' : 'other'"
                ),
            ),
            tooltip=[
                alt.Tooltip("label:N", title="Change"),
                alt.Tooltip("series:Q", title="Series"),
            ],
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"x": [responder_line]}))
        .mark_rule(strokeDash=[4, 4])
        .encode(x=alt.X("x:Q"))
    )
    return titled(
        layered(bars, rule, height=240),
        "How much headache days changed per treatment series",
        "Left of the dashed line: at least 50 % fewer headache days (a responder).",
    )
