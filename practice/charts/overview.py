"""Charts of the Overview page: the monthly trend and the spread of change."""

from __future__ import annotations

import altair as alt
import pandas as pd

from practice.charts.style import GOOD, MUTED, NEUTRAL, titled

OUTCOME_LABELS = {
    "pain_pre_mean": "Pain before the session (0-10)",
    "hd28_mean": "Headache days per 28 days",
}


def monthly_sessions_chart(trend: pd.DataFrame) -> alt.Chart:
    """Attended sessions per month, with clients seen in the tooltip."""
    chart = (
        alt.Chart(trend)
        .mark_bar(color=NEUTRAL)
        .encode(
            x=alt.X("month:T", title="Month", timeUnit="yearmonth"),
            y=alt.Y("sessions:Q", title="Attended sessions"),
            tooltip=[
                alt.Tooltip("month:T", title="Month", format="%B %Y"),
                alt.Tooltip("sessions:Q", title="Sessions"),
                alt.Tooltip("clients:Q", title="Clients seen"),
            ],
        )
    )
    return titled(
        chart.properties(height=220),
        "Sessions per month",
        "Attended sessions only; no-shows and cancellations are not counted.",
    )


def monthly_outcomes_chart(trend: pd.DataFrame) -> alt.Chart:
    """Mean pain before the session and mean headache days per 28 days, month by month."""
    long = trend.melt(
        id_vars=["month"], value_vars=list(OUTCOME_LABELS), var_name="measure", value_name="mean"
    )
    counts = trend.melt(
        id_vars=["month"], value_vars=["pain_pre_n", "hd28_n"], var_name="measure_n", value_name="n"
    )
    long["n"] = counts["n"].to_numpy()
    long["measure"] = long["measure"].map(OUTCOME_LABELS)
    chart = (
        alt.Chart(long)
        .mark_line(point=True, color=NEUTRAL)
        .encode(
            x=alt.X("month:T", title="Month", timeUnit="yearmonth"),
            y=alt.Y("mean:Q", title=None, scale=alt.Scale(zero=True)),
            tooltip=[
                alt.Tooltip("month:T", title="Month", format="%B %Y"),
                alt.Tooltip("measure:N", title="Measure"),
                alt.Tooltip("mean:Q", title="Mean", format=".1f"),
                alt.Tooltip("n:Q", title="Sessions with a score"),
            ],
        )
        .properties(height=130, width=380)  # a faceted chart cannot take the container width
    )
    faceted = chart.facet(
        row=alt.Row(
            "measure:N",
            title=None,
            header=alt.Header(
                labelAngle=0, labelOrient="top", labelAnchor="start", labelFontWeight="bold"
            ),
        )
    )
    faceted = faceted.resolve_scale(y="independent")
    return titled(
        faceted,
        "How clients arrive at their sessions, month by month",
        "Means over all sessions of the month (lower is better). New clients "
        "joining raise them; this is a trend, not one client's progress.",
    )


def change_distribution_chart(bands: pd.DataFrame, *, responder_line: float = -50) -> alt.Chart:
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
            x2="band_end:Q",
            y=alt.Y("series:Q", title="Treatment series"),
            y2=alt.datum(0),
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
        .encode(x="x:Q")
    )
    return titled(
        (bars + rule).properties(height=240),
        "How much headache days changed per treatment series",
        "Left of the dashed line: at least 50 % fewer headache days (a responder).",
    )
