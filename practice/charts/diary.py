"""The headache diary as a calendar: one cell a day, coloured by severity, sessions marked."""

from __future__ import annotations

import altair as alt
import pandas as pd

from practice.analysis.diary import CALENDAR_LEVELS
from practice.charts.style import FIT_WIDTH, layered, titled

# Light to dark with severity; a day without an entry stays pale grey.
CALENDAR_COLORS = ("#eeeeee", "#c7e9c0", "#fdd49e", "#fc8d59", "#d7301f", "#9e9ac8")
CELL_PX = 22


def diary_calendar_chart(days: pd.DataFrame) -> alt.LayerChart:
    """A month per row, a day per column (`practice.analysis.diary.calendar_days`)."""
    frame = days.assign(
        month_label=days["month"].dt.strftime("%b %Y"),
        date_text=days["date"].dt.strftime("%a %-d %b %Y"),
        session_text=days["session"].map({True: "session", False: ""}),
    ).drop(columns=["month", "date"])
    months = list(dict.fromkeys(frame["month_label"]))
    x = alt.X("day:O", title="Day of the month", axis=alt.Axis(labelAngle=0))
    y = alt.Y("month_label:O", title=None, sort=months)
    cells = (
        alt.Chart(frame)
        .mark_rect(stroke="white", strokeWidth=1)
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "level:N",
                title="Headache",
                scale=alt.Scale(domain=list(CALENDAR_LEVELS), range=list(CALENDAR_COLORS)),
                legend=alt.Legend(orient="bottom", columns=3, labelLimit=260),
            ),
            tooltip=[
                alt.Tooltip("date_text:N", title="Day"),
                alt.Tooltip("level:N", title="Headache"),
                alt.Tooltip("severity:Q", title="Severity (0-3)"),
                alt.Tooltip("pain:Q", title="Pain (0-10)"),
                alt.Tooltip("medication:Q", title="Medication doses"),
                alt.Tooltip("notes:N", title="Note"),
                alt.Tooltip("session_text:N", title="Session"),
            ],
        )
    )
    sessions = (
        alt.Chart(frame[frame["session"]])
        .mark_point(shape="circle", filled=True, color="black", size=40)
        .encode(x=x, y=y, tooltip=[alt.Tooltip("date_text:N", title="Session on")])
    )
    chart = layered(
        cells,
        sessions,
        width=31 * CELL_PX,
        height=max(1, len(months)) * CELL_PX,
        # Streamlit fits a stretched chart's total height (title and legend included) into
        # `height` unless told to fit the width only: the rows would be squashed to nothing.
        autosize=FIT_WIDTH,
    )
    return titled(
        chart,
        "Headache diary",
        "One square a day, coloured by how bad the headache was; a dot marks a session. "
        "Grey days have no diary entry.",
    )
