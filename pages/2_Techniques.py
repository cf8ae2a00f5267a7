"""Techniques: how clients did by the technique used, with intervals (associations, not proof)."""

from functools import partial

import streamlit as st

from practice import comparisons, ui
from practice.analysis.diary import DIARY_MEASURES, diary_source_summary
from practice.charts import groups as charts
from practice.charts.style import technique_colors
from practice.config import MIN_GROUP_N, TIME_POINT_WINDOW_DAYS

# Widths that keep every column of "All numbers" inside the page at 1440 px.
GROUP_TABLE_COLUMNS = {
    "Group": st.column_config.TextColumn(width=170),
    "Note": st.column_config.TextColumn(width=130),
}

ui.require_router(__file__)
filters = ui.current_filters()
outcomes = ui.filtered_outcomes(filters)

st.caption(
    "How clients did, grouped by the massage technique they received. Every number comes "
    "with how many clients it rests on and a 95 % interval. These are **associations, not "
    "proof** that one technique works better: see the explanation below."
)
ui.explain(
    "What the words on this page mean",
    f"""
* **Change**: a client's latest value minus their value at the start of the treatment
  series. For headache days, pain, medication days, HIT-6, MIDAS and stress a negative
  change is an improvement; for sleep quality a positive one.
* **Responder**: a client whose improvement reaches a published threshold: headache days
  down by at least half (IHS guidelines), {comparisons.RESPONDER_RULES["pain"]} (IMMPACT),
  HIT-6 down by 6 points, MIDAS down by one grade. Medication days, stress and sleep have no
  published threshold, so they have no responders.
* **95 % interval** (the bars and the numbers in brackets): the range of results that is
  compatible with the data. A wide interval means "we cannot tell yet".
* **Grey groups**: a technique with fewer than {MIN_GROUP_N} clients is shown but greyed out
  and never judged: with so few clients one good or bad course changes the average a lot.
* **Associations, not proof**: there is no control group, and clients and therapists choose
  techniques for reasons (how severe the headaches are, what helped before). A difference
  between techniques may come from *who* received them rather than from the technique. The
  adjusted comparison removes differences in recorded case mix only.
* **Who is counted**: set in the sidebar; now "{ui.POPULATION_LABELS[filters.population]}".
  "Everyone with a follow-up score" counts each client with their **last available value**
  (last observation carried forward), however early they stopped coming.
* **When**: by default each client's last available value; or their value a fixed time after
  their first session (the report nearest to it, within {TIME_POINT_WINDOW_DAYS} days), so
  that techniques are compared at the same point of treatment. Clients without a report then
  are not counted at that time point.
""",
)

if outcomes.empty:
    st.info("No treatment series match the filters in the sidebar. Widen the filters.")
    st.stop()

measure_box, grouping_box, when_box, reference_box = st.columns(4)
measure = measure_box.selectbox(
    "Measure",
    comparisons.available_measures(outcomes),
    format_func=comparisons.MEASURE_LABELS.get,
    key="measure",
)
by = grouping_box.selectbox(
    "Group clients by",
    list(comparisons.GROUPINGS),
    format_func=comparisons.GROUPINGS.get,
    key="grouping",
    help="Most sessions use several techniques. 'Primary' puts each client under the one "
    "used most; the second view counts a client under every technique used in at least half "
    "of their sessions, so groups overlap.",
)
when = when_box.selectbox(
    "When",
    list(comparisons.WHEN_CHOICES),
    format_func=comparisons.WHEN_CHOICES.get,
    key="when",
    help="Each client's last available value (the end of treatment so far), or their value a "
    "fixed time after their first "
    f"session (the report nearest to it, within {TIME_POINT_WINDOW_DAYS} days).",
)
table = ui.compare_groups(filters, by=by, measure=measure, at=when)
if table.empty:
    st.info(comparisons.empty_comparison_text(outcomes, filters.population))
    st.stop()
table = ui.shaped(comparisons.with_labels, table, by)
labels = dict(zip(table["group"], table["label"], strict=True))
reference = None
if by == "primary_technique":
    default = str(table["reference"].iloc[0])
    reference = reference_box.selectbox(
        "Compare with (reference)",
        list(table["group"]),
        index=list(table["group"]).index(default),
        format_func=labels.get,
        key="reference",
        help="The adjusted differences below are each technique minus this one.",
    )
    if reference != default:
        table = ui.compare_groups(filters, by=by, measure=measure, reference=reference, at=when)
        table = ui.shaped(comparisons.with_labels, table, by)
else:
    reference_box.caption("Groups overlap in this view, so there is no adjusted comparison.")

colors = technique_colors(ui.technique_keys())
measure_label = comparisons.MEASURE_LABELS[measure]

st.subheader("Change by technique")
source = diary_source_summary(outcomes, measure) if measure in DIARY_MEASURES else ""
if source:
    st.caption(f"{measure_label.capitalize()}: {source} (docs/metrics.md, Headache diaries).")
if when:
    st.caption(
        f"Values {comparisons.WHEN_CHOICES[when].lower()} after each client's first session: "
        f"their report nearest to it (within {TIME_POINT_WINDOW_DAYS} days); clients without "
        "one are not counted."
    )
st.caption(
    f"{comparisons.change_direction(measure)} How to read the chart: each dot is the average "
    "change of a technique's clients and the bar its 95 % interval. Techniques are listed by "
    "how many clients they have, largest first, not by how well they did. Bars that overlap a "
    "lot mean the data cannot tell the techniques apart."
)
ui.show_chart(
    partial(charts.change_forest_chart, table, colors=colors, measure_label=measure_label),
    "technique-change.png",
    key="png-change",
)

if comparisons.has_responder_rule(measure):
    st.subheader("Responders")
    ui.show_chart(
        partial(
            charts.responder_rate_chart,
            table,
            colors=colors,
            rule=comparisons.RESPONDER_RULES[measure],
        ),
        "technique-responders.png",
        key="png-responders",
    )
else:
    st.info(f"{measure_label} has no published responder threshold, so no responder rate.")

if reference is not None:
    reference_label = labels[reference]
    st.subheader("Compared with the reference, for similar clients")
    st.markdown(comparisons.adjusted_sign_note(measure, reference_label))
    ui.show_chart(
        partial(
            charts.adjusted_difference_chart,
            table,
            colors=colors,
            measure_label=measure_label,
            reference_label=reference_label,
        ),
        "technique-adjusted.png",
        key="png-adjusted",
    )

st.subheader("All numbers")
st.dataframe(
    ui.shaped(comparisons.group_table, table, by=by, measure=measure),
    hide_index=True,
    row_height=ui.WRAPPED_ROW_HEIGHT,  # a long "Note" wraps instead of running off the edge
    column_config=GROUP_TABLE_COLUMNS,
)
ui.download_table(table, f"techniques-{measure}.csv", key="csv-groups")

st.subheader("Immediate relief")
st.caption(
    "Pain straight after a session compared with pain just before it, per technique used in "
    "the session (0-10 scale; a higher number means more relief). This is how a client feels "
    "on leaving, not lasting change."
)
relief = ui.session_relief(filters, by="technique")
if relief.empty:
    st.info("No session in this selection has pain scored both before and after.")
else:
    ui.show_chart(
        partial(charts.relief_chart, ui.shaped(comparisons.relief_frame, relief), colors=colors),
        "technique-relief.png",
        key="png-relief",
    )
    st.dataframe(ui.shaped(comparisons.relief_table, relief), hide_index=True)
    ui.download_table(relief, "technique-relief.csv", key="csv-relief")

st.subheader("Time to response")
response_measure = measure if measure in ("hd28", "pain") else "hd28"
if response_measure != measure:
    st.caption("Time to response exists for headache days and pain only; showing headache days.")
st.caption(
    f"A responder here: {comparisons.RESPONDER_RULES[response_measure]}. Each line climbs "
    "when clients reach that point; its height at session 4 is the share of clients who had "
    "responded by their 4th session. Clients who stopped coming before responding count as "
    "not responded for as long as they came (Kaplan-Meier). Hover for the number of clients "
    "still followed: lines resting on few clients are uncertain."
)
curves = ui.time_to_response(filters, by=by, measure=response_measure)
if curves.empty:
    st.info("No client in this selection has a follow-up score to time a response.")
else:
    ui.show_chart(
        partial(
            charts.time_to_response_chart,
            ui.shaped(comparisons.response_curves, curves, table, by=by),
            colors=colors,
            measure_label=comparisons.MEASURE_LABELS[response_measure],
        ),
        "technique-time-to-response.png",
        key="png-response",
    )
    ui.download_table(curves, f"time-to-response-{response_measure}.csv", key="csv-response")
