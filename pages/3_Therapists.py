"""Therapists: a funnel plot that allows for chance, never a league table; each caseload."""

from functools import partial
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from practice import analysis, comparisons, ui
from practice.charts import groups as charts
from practice.config import MIN_GROUP_N
from practice.filters import Filters


def funnel_chart(points: pd.DataFrame, **options: Any) -> alt.LayerChart:
    """The funnel plot with its control limits, computed only when the chart is built."""
    return charts.funnel_chart(points, analysis.funnel_curve(points), **options)


ui.require_router(__file__)
filters = ui.current_filters()
outcomes = ui.filtered_outcomes(filters)

st.caption(
    "How each therapist's clients did, shown so that chance is allowed for: therapists are "
    "never ranked, and the table is ordered by caseload size. Like every comparison here, "
    "differences are **associations, not proof**: therapists see different clients."
)
ui.explain(
    "How to read the funnel plot",
    f"""
* Each **dot** is a therapist: across, how many clients count towards the result; up, the
  result. The **solid line** is the practice as a whole.
* The **funnel lines** show how far from the practice a therapist can land by chance alone.
  With few clients results swing a lot, so the funnel is wide on the left; with many clients
  it narrows. The limits already allow for the usual variation between therapists.
* **Inside the funnel** ("within limits"): consistent with the practice. This is where most
  therapists are, and the place on the page means nothing more than that.
* **Between the 95 % and the 99.8 % lines**: worth a friendly look, but about 1 in 20
  therapists lands there by chance.
* **Outside the 99.8 % line**: differs more than chance would explain, even after allowing for
  the usual variation between therapists. A prompt to talk (case mix, recording habits,
  approach), not a verdict: the funnel cannot see everything that differs between caseloads.
* **Grey dots, "not judged"**: a therapist with fewer than {MIN_GROUP_N} clients. With a
  caseload that small one client more or less changes the result completely, so it is too
  noisy to judge and is never placed.
* **Responder**: a client whose improvement reaches a published threshold (for example
  headache days down by at least half). **Adjusted residual**: how much better or worse the
  therapist's clients ended than the practice would expect for clients like them (same
  starting value, age, sex, headache type, years with headaches); 0 = as expected.
* **Who is counted**: set in the sidebar; now "{ui.POPULATION_LABELS[filters.population]}".
""",
)

if outcomes.empty:
    st.info("No treatment series match the filters in the sidebar. Widen the filters.")
    st.stop()

measure_box, statistic_box = st.columns(2)
measure = measure_box.selectbox(
    "Measure",
    comparisons.available_measures(outcomes),
    format_func=comparisons.MEASURE_LABELS.get,
    key="measure",
)
statistics = list(comparisons.STATISTICS)
if not comparisons.has_responder_rule(measure):
    statistics = ["adjusted_residual"]  # no published responder threshold for this measure
statistic = statistic_box.radio(
    "The funnel shows",
    statistics,
    format_func=comparisons.STATISTICS.get,
    key="statistic",
)
assert statistic is not None


groups = ui.compare_groups(filters, by="therapist", measure=measure)
residuals, points = ui.funnel_frames(filters, measure=measure, statistic=statistic)

if statistic == "responder_rate":
    value_title = f"Responder rate ({comparisons.RESPONDER_RULES[measure]})"
else:
    value_title = f"Adjusted residual ({comparisons.MEASURE_UNITS[measure]})"
st.subheader("Funnel plot")
if points.empty:
    st.info(comparisons.empty_funnel_text(outcomes, filters.population))
else:
    st.caption(comparisons.funnel_direction(measure, statistic))
    ui.show_chart(
        partial(
            funnel_chart,
            points,
            value_title=value_title,
            percent=statistic == "responder_rate",
        ),
        f"therapist-funnel-{measure}.png",
        key="png-funnel",
    )

st.subheader("Therapists by caseload")
st.caption(
    "Ordered by number of clients, largest first, never by result. Change: latest minus "
    f"start, average per series. {comparisons.change_direction(measure)} Brackets: 95 % "
    "interval. Position: where the therapist sits in the funnel above."
)
summary = ui.shaped(comparisons.therapist_summary, groups, residuals, points)
st.dataframe(
    ui.shaped(comparisons.therapist_table, summary, measure=measure),
    hide_index=True,
    row_height=ui.WRAPPED_ROW_HEIGHT,  # a long "Note" or "Position" wraps
    column_config={
        "Position": st.column_config.TextColumn(width=130),
        "Note": st.column_config.TextColumn(width=130),
    },
)
ui.download_table(summary, f"therapists-{measure}.csv", key="csv-therapists")

st.subheader("A therapist's caseload")


# Picking a therapist or a page of their caseload reruns this part only, not the funnel above.
@st.fragment
def show_caseload(filters: Filters, therapists: list[str]) -> None:
    """The chosen therapist's caseload and off-track clients, 50 rows a page."""
    therapist = st.selectbox("Therapist", therapists, key="therapist")
    assert therapist is not None
    st.caption(
        "Every treatment series this therapist gave most sessions of, newest first. Click a client "
        "to open their progress. Labels: 'meaningful' = big enough to matter to the client; "
        "'reliable' = bigger than the measurement noise of the questionnaire."
    )
    link = ui.client_link_column()
    caseload = ui.caseload_table(filters, therapist)
    ui.show_paged_table(
        caseload,
        key="caseload-page",
        order="newest first",
        prepare=ui.client_links,
        hide_index=True,
        column_config={"Client": link, "Last session": st.column_config.DateColumn()},
    )
    ui.download_table(caseload, "caseload.csv", key="csv-caseload")

    st.markdown("**Clients who may be off track**")
    st.caption(
        "Current clients not 30 % better after several sessions, without scores, or reliably "
        "worse. A prompt to review the plan with the client, not a verdict."
    )
    current_alerts = ui.off_track_alerts(filters)
    alerts = ui.shaped(comparisons.caseload_alerts, current_alerts, therapist, links=False)
    if alerts.empty:
        st.success("No current client of this therapist is flagged.")
    else:
        ui.show_paged_table(
            alerts,
            key="alerts-page",
            order="reliably worse first, then by id",
            prepare=ui.client_links,
            hide_index=True,
            row_height=ui.WRAPPED_ROW_HEIGHT,  # "Why" wraps instead of running off the edge
            column_config={
                "Client": link,
                "Last session": st.column_config.DateColumn(),
                "Why": st.column_config.TextColumn(width=420),
            },
        )
        ui.download_table(alerts, "off-track.csv", key="csv-alerts")


show_caseload(filters, sorted(outcomes["therapist"].dropna().astype(str).unique()))

if outcomes["location"].nunique() > 1:  # a chain: its clinics, compared the same fair way
    st.subheader("Locations")
    st.caption(
        "The same funnel for the practice's locations (each series counts at the location of "
        "its latest session): case mix allowed for, small locations not judged, never ranked."
    )
    location_residuals, by_location = ui.funnel_frames(
        filters, measure=measure, statistic=statistic, by="location"
    )
    if not by_location.empty:
        ui.show_chart(
            partial(
                funnel_chart,
                by_location,
                value_title=value_title,
                percent=statistic == "responder_rate",
            ),
            f"location-funnel-{measure}.png",
            key="png-location-funnel",
        )
    locations = ui.shaped(
        comparisons.therapist_summary,
        ui.compare_groups(filters, by="location", measure=measure),
        location_residuals,
        by_location,
    )
    st.dataframe(
        ui.shaped(comparisons.therapist_table, locations, measure=measure).rename(
            columns={"Therapist": "Location"}
        ),
        hide_index=True,
    )
    ui.download_table(locations, f"locations-{measure}.csv", key="csv-locations")
