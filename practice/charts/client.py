"""Charts of one client's treatment series, for the Client progress page.

Each builder takes the small frame a `practice.progress` function returns (one row per session
or per session and measure), so the browser gets a few dozen rows at most.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import altair as alt
import pandas as pd

from practice import config
from practice.analysis import pain_rule_text
from practice.charts.style import (
    FIT_WIDTH,
    GOOD,
    MUTED,
    NEUTRAL,
    layered,
    technique_colors,
    title_params,
)
from practice.progress import FOLLOW_UP_VISIT, WELLBEING_MEASURES, pain_target

PAIN_WHEN = ["Before session", "After session"]
PAIN_RANGE = [NEUTRAL, "#f28e2b"]
PAIN_COLORS = alt.Scale(domain=PAIN_WHEN, range=PAIN_RANGE)
# Follow-up visits (assessments after treatment) are drawn as larger diamonds in their own colour.
FOLLOW_UP_COLOR = "#b07aa1"
BASELINE_COLOR = "#616161"
# Every tick names its month ("15 Aug"): Vega's own multi-scale labels give a bare "15" between
# month ticks. Labels that would collide are dropped; the tooltip gives the full date.
DATE_AXIS = alt.Axis(labelAngle=0, format="%-d %b", labelOverlap=True)
# The drawing width of exported PNGs and of the faceted chart (Streamlit stretches the others).
WIDTH = 720


def _title(title: str, subtitle: str | list[str]) -> alt.TitleParams:
    """The same title layout as `style.titled`, for layered and faceted charts."""
    # A full-width chart (WIDTH px) holds about 100 characters a line.
    return title_params(title, subtitle, width=100)


def _level_rule(value: float, label: str, color: str, *, dashed: bool = False) -> alt.LayerChart:
    """A labelled horizontal line at `value` across the whole chart."""
    frame = pd.DataFrame({"level": [value], "label": [label]})
    rule = (
        alt.Chart(frame)
        .mark_rule(color=color, strokeWidth=2, strokeDash=[6, 4] if dashed else [1, 0])
        .encode(y=alt.Y("level:Q"), tooltip=[alt.Tooltip("label:N", title="Line")])
    )
    text = (
        alt.Chart(frame)
        .mark_text(align="right", baseline="bottom", dx=-4, dy=-3, color=color, fontWeight="bold")
        .encode(y=alt.Y("level:Q"), x=alt.XValue("width"), text=alt.Text("label:N"))
    )
    return layered(rule, text)


def pain_chart(points: pd.DataFrame, *, baseline: float | None = None) -> alt.LayerChart:
    """Pain before and after each session, with the baseline and the meaningful-change band.

    Rows with `when` = FOLLOW_UP_VISIT (pain at a follow-up visit) are diamonds in their own
    colour, not joined to the treatment lines, with their own legend entry.
    """
    is_follow_up = points["when"].eq(FOLLOW_UP_VISIT)
    scale = PAIN_COLORS
    if is_follow_up.any():
        scale = alt.Scale(
            domain=[*PAIN_WHEN, FOLLOW_UP_VISIT], range=[*PAIN_RANGE, FOLLOW_UP_COLOR]
        )
    encoding: dict[str, Any] = {
        "x": alt.X("session_date:T", title="Session date", axis=DATE_AXIS),
        "y": alt.Y("pain:Q", title="Pain (0 none - 10 worst)", scale=alt.Scale(domain=[0, 10])),
        "color": alt.Color("when:N", scale=scale, title=None, legend=alt.Legend(orient="top")),
        "tooltip": [
            alt.Tooltip("session_date:T", title="Date", format="%d %b %Y"),
            alt.Tooltip("session_number:Q", title="Session", format=".0f"),
            alt.Tooltip("when:N", title="When"),
            alt.Tooltip("pain:Q", title="Pain", format=".1f"),
        ],
    }
    lines = (
        alt.Chart(points.loc[~is_follow_up])
        .mark_line(point=alt.OverlayMarkDef(size=60))
        .encode(**encoding)
    )
    layers: list[alt.Chart | alt.LayerChart] = []
    target = pain_target(baseline)
    if target is not None:
        band = pd.DataFrame(
            {
                "low": [0.0],
                "high": [target],
                "label": [f"Meaningful improvement: pain {target:g} or lower"],
            }
        )
        layers.append(
            alt.Chart(band)
            .mark_rect(color=GOOD, opacity=0.15)
            .encode(
                y=alt.Y("low:Q"),
                y2=alt.Y2("high:Q"),
                tooltip=[alt.Tooltip("label:N", title="Band")],
            )
        )
    if baseline is not None and pd.notna(baseline):
        layers.append(_level_rule(float(baseline), f"Baseline {baseline:g}", BASELINE_COLOR))
    subtitle = [
        "Pain before each session (blue) shows lasting change; after (orange) shows the "
        "relief straight after treatment.",
        f"Grey line: baseline. Green band: a meaningful improvement (at least "
        f"{pain_rule_text()} below baseline).",
    ]
    marks: list[alt.Chart | alt.LayerChart] = [lines]
    if is_follow_up.any():
        marks.append(_follow_up_points(points.loc[is_follow_up]).encode(**encoding))
        subtitle.append(
            "Purple diamonds: pain at follow-up visits after treatment (lasting change)."
        )
    return layered(
        *layers,
        *marks,
        title=_title("Pain before and after each session", subtitle),
        height=280,
        width=WIDTH,
        autosize=FIT_WIDTH,
    )


def headache_days_chart(points: pd.DataFrame, *, baseline: float | None = None) -> alt.LayerChart:
    """Headache days per 28 days over the series, with the baseline and the 50 % line.

    Rows with `visit` = FOLLOW_UP_VISIT are diamonds in their own colour with a legend entry,
    not joined to the line of treatment sessions.
    """
    visits = points.get("visit", pd.Series("", index=points.index))
    is_follow_up = visits.eq(FOLLOW_UP_VISIT)
    line = (
        alt.Chart(points.loc[~is_follow_up])
        .mark_line(color=NEUTRAL, point=alt.OverlayMarkDef(size=60, color=NEUTRAL))
        .encode(
            x=alt.X("session_date:T", title="Session date", axis=DATE_AXIS),
            y=alt.Y("days_per_28:Q", title="Headache days per 28 days", scale=alt.Scale(zero=True)),
            tooltip=[
                alt.Tooltip("session_date:T", title="Date", format="%d %b %Y"),
                alt.Tooltip("session_number:Q", title="Session", format=".0f"),
                alt.Tooltip("days_per_28:Q", title="Headache days per 28", format=".1f"),
                alt.Tooltip("source:N", title="From"),
            ],
        )
    )
    layers: list[alt.Chart | alt.LayerChart] = []
    if baseline is not None and pd.notna(baseline):
        half = float(baseline) * (1 - config.HD28_RESPONDER_FRACTION)
        percent = 100 * config.HD28_RESPONDER_FRACTION
        layers.append(_level_rule(float(baseline), f"Baseline {baseline:g}", BASELINE_COLOR))
        layers.append(
            _level_rule(
                half, f"{percent:.0f} % fewer: responder target ({half:g})", GOOD, dashed=True
            )
        )
    subtitle = [
        "Each point is one report: a weekly count x 4, or a 28-day count. Fewer is better. "
        "The 'latest' figure above averages the reports of the last 28 days.",
        f"Grey line: baseline. Dashed green line: {100 * config.HD28_RESPONDER_FRACTION:.0f} % "
        "fewer headache days, the usual 'responder' target (IHS).",
    ]
    marks: list[alt.Chart | alt.LayerChart] = [line]
    if is_follow_up.any():
        marks.append(_follow_up_days(points.loc[is_follow_up]))
        subtitle.append("Purple diamonds: follow-up visits after treatment (lasting change).")
    return layered(
        *layers,
        *marks,
        title=_title("Headache days per 28 days", subtitle),
        height=280,
        width=WIDTH,
        autosize=FIT_WIDTH,
    )


def _follow_up_points(points: pd.DataFrame) -> alt.Chart:
    """Follow-up visits: larger filled diamonds (their colour comes from the encoding)."""
    return alt.Chart(points).mark_point(shape="diamond", filled=True, size=160, opacity=1)


def _follow_up_days(points: pd.DataFrame) -> alt.Chart:
    """Headache days at follow-up visits: purple diamonds with a legend entry."""
    return _follow_up_points(points).encode(
        x=alt.X("session_date:T"),
        y=alt.Y("days_per_28:Q"),
        color=alt.Color(
            "visit:N",
            scale=alt.Scale(domain=[FOLLOW_UP_VISIT], range=[FOLLOW_UP_COLOR]),
            title=None,
            legend=alt.Legend(orient="top"),
        ),
        tooltip=[
            alt.Tooltip("session_date:T", title="Date", format="%d %b %Y"),
            alt.Tooltip("visit:N", title="Visit"),
            alt.Tooltip("days_per_28:Q", title="Headache days per 28", format=".1f"),
            alt.Tooltip("source:N", title="From"),
        ],
    )


def wellbeing_chart(points: pd.DataFrame) -> alt.FacetChart:
    """Stress, sleep quality and medication days where recorded, one panel per measure."""
    base = alt.Chart().encode(
        x=alt.X("session_date:T", title="Session date", axis=DATE_AXIS),
    )
    line = base.mark_line(color=NEUTRAL, point=alt.OverlayMarkDef(color=NEUTRAL)).encode(
        y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=True)),
        tooltip=[
            alt.Tooltip("session_date:T", title="Date", format="%d %b %Y"),
            alt.Tooltip("session_number:Q", title="Session", format=".0f"),
            alt.Tooltip("measure:N", title="Measure"),
            alt.Tooltip("value:Q", title="Value", format=".1f"),
        ],
    )
    rule = (
        alt.Chart()
        .mark_rule(color=MUTED, strokeWidth=2)
        .encode(
            y=alt.Y("mean(baseline):Q"),
            tooltip=[alt.Tooltip("mean(baseline):Q", title="Baseline", format=".1f")],
        )
    )
    return (
        layered(rule, line, data=points, height=110, width=WIDTH)
        .facet(
            row=alt.Row(
                "measure:N",
                title=None,
                sort=[label for _, _, label in WELLBEING_MEASURES],
                header=alt.Header(labelAngle=0, labelAlign="left", labelOrient="top"),
            )
        )
        .resolve_scale(y="independent")
        .properties(
            title=_title(
                "Stress, sleep and medication",
                "Only what was recorded. Each panel has its own scale; the grey line is the "
                "baseline at the start of the series.",
            )
        )
    )


def techniques_chart(points: pd.DataFrame, *, technique_keys: Iterable[str] = ()) -> alt.Chart:
    """Which techniques each attended session used: a dot per session and technique.

    Pass every technique key of the database as `technique_keys`, so colours match other pages.
    """
    keys = set(technique_keys) | set(points["technique"])
    return (
        alt.Chart(points)
        .mark_circle(size=140, opacity=1)
        .encode(
            x=alt.X("session_date:T", title="Session date", axis=DATE_AXIS),
            y=alt.Y(
                "technique_label:N", title=None, sort="ascending", axis=alt.Axis(labelLimit=240)
            ),
            color=alt.Color("technique:N", scale=technique_colors(keys), legend=None),
            tooltip=[
                alt.Tooltip("session_date:T", title="Date", format="%d %b %Y"),
                alt.Tooltip("session_number:Q", title="Session", format=".0f"),
                alt.Tooltip("technique_label:N", title="Technique"),
            ],
        )
        .properties(
            title=_title(
                "Techniques used at each session",
                "One dot per technique at each attended session; several dots in a column mean "
                "the session combined techniques.",
            ),
            height=alt.Step(28),
            width=WIDTH,
            autosize=FIT_WIDTH,
        )
    )
