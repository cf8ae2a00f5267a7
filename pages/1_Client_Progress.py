"""Client progress: one client's intake, change over a treatment series, charts and sessions.

Deep link: /Client_Progress?client=C0042 (optionally &series=2). Picking another client updates
the link, so the address bar can be shared.
"""

from functools import partial

import streamlit as st

from practice import progress, reports, ui
from practice.charts import client as charts
from practice.charts import diary as diary_charts
from practice.formatting import escape_markdown

CLIENT_KEY, SERIES_KEY, SEARCH_KEY = "client", "series", "client_search"
# The client this page last put in the address bar: a link naming someone else was opened.
LAST_CLIENT = "client_progress.last_client"


def forget_series() -> None:
    """A newly picked client starts on their latest series."""
    st.session_state.pop(SERIES_KEY, None)
    if "series" in st.query_params:
        del st.query_params["series"]


ui.require_router(__file__)
filters = ui.current_filters()
clients, sessions, outcomes = ui.load_clients(), ui.load_sessions(), ui.load_outcomes()

# --- which client ------------------------------------------------------------------------------
requested = st.query_params.get("client")
linked = progress.find_client(clients, requested)
if linked is not None and linked != st.session_state.get(LAST_CLIENT):
    st.session_state[CLIENT_KEY] = linked
    st.session_state.pop(SERIES_KEY, None)
elif requested is None and st.session_state.get(LAST_CLIENT) and CLIENT_KEY not in st.session_state:
    st.session_state[CLIENT_KEY] = st.session_state[LAST_CLIENT]  # back from another page
if requested and linked is None and st.session_state.get(CLIENT_KEY) is None:
    st.warning(
        f"⚠️ The link asks for client **{escape_markdown(requested)}**, but no client "
        "has that id. Check the id, or search for the client by name below."
    )

search_box, pick_box = st.columns([2, 3])
query = search_box.text_input(
    "Find a client",
    key=SEARCH_KEY,
    placeholder="Part of a name or an id",
    help="Finds clients whose id or name contains what you type, ignoring case.",
)
matches, found, total = ui.client_matches(filters, query)
labels = dict(zip(matches["client_id"], matches["label"], strict=True))
current = st.session_state.get(CLIENT_KEY)
if current is not None and current not in labels:  # linked, or found by an earlier search
    name = clients.loc[clients["client_id"] == current, "client_name"]
    labels = {current: progress.client_label(current, name.iloc[0] if len(name) else None)}
    labels.update(zip(matches["client_id"], matches["label"], strict=True))
chosen = pick_box.selectbox(
    "Client",
    list(labels),
    index=None,
    format_func=labels.get,
    key=CLIENT_KEY,
    placeholder="Choose a client…",
    on_change=forget_series,
    help=f"The first {ui.CLIENT_MATCHES} matches of the search, by id.",
)
narrowed = bool(filters.therapists or filters.headache_types or filters.baseline_sources)
pool = (
    f"the {total:,} clients that match the sidebar's therapist, headache-type and baseline filters"
    if narrowed
    else f"all {total:,} clients (the sidebar's therapist, headache-type and baseline filters "
    "narrow them)"
)
st.caption(
    (
        f"{found:,} of {pool} have “{escape_markdown(query.strip())}” in their id or name."
        if query.strip()
        else f"Choosing from {pool}."
    )
    + (
        f" The list shows the first {ui.CLIENT_MATCHES}, by id: type more of a name or an id "
        "to find the others."
        if found > ui.CLIENT_MATCHES
        else ""
    )
    + " A client's own history below is always shown in full (all dates, therapists and "
    "techniques)."
)
if chosen is None:
    st.info("👤 Choose a client to see their intake, progress and sessions.")
    st.stop()
st.session_state[LAST_CLIENT] = chosen
if st.query_params.get("client") != chosen:
    st.query_params["client"] = chosen

client = clients.loc[clients["client_id"] == chosen].iloc[0]
st.header(escape_markdown(labels[chosen]))

# --- which series ------------------------------------------------------------------------------
own_sessions, own_outcomes, own_diary = ui.client_frames(chosen)
series = progress.series_choices(own_outcomes, chosen)
if series.empty:
    st.info("No sessions are recorded for this client yet: only the intake below.")
    number = None
else:
    numbers = series["series_number"].tolist()
    if st.session_state.get(SERIES_KEY) not in numbers:
        from_link = progress.find_series(st.query_params.get("series"), numbers)
        st.session_state[SERIES_KEY] = from_link if from_link is not None else numbers[0]
    if len(numbers) > 1:
        number = st.selectbox(
            "Treatment series",
            numbers,
            format_func=dict(zip(numbers, series["label"], strict=True)).get,
            key=SERIES_KEY,
            help=progress.SERIES_HELP,
        )
        st.query_params["series"] = str(number)
    else:
        number = numbers[0]
        st.caption(series["label"].iloc[0])
        if "series" in st.query_params:
            del st.query_params["series"]

outcome = None
if number is not None:
    outcome = own_outcomes.loc[own_outcomes["series_number"] == number].iloc[0]
    cards = st.columns(4)
    for card, key in zip(cards, ("hd28", "pain"), strict=False):
        card.metric(**progress.headline_metric(outcome, key))
    facts = dict(progress.series_facts(outcome))
    cards[2].metric(
        "Sessions attended", int(outcome["sessions_attended"]), help=facts["Sessions attended"]
    )
    cards[3].metric(
        "Series status", str(outcome["series_status"]).capitalize(), help=facts["Status"]
    )

ui.download_report(
    "Download PDF report",
    data=partial(
        reports.client_report_pdf, clients, sessions, chosen, series=number, outcomes=outcomes
    ),
    file_name=f"{chosen}_series{number}_report.pdf" if number else f"{chosen}_report.pdf",
    key="pdf-report",
    client_id=chosen,
    help="One A4 page for the client or their GP or neurologist: headache days and pain at "
    "the start and now, what changed and whether it is meaningful and reliable, medication "
    "days, techniques used and the two trajectory charts of this series.",
)

# --- intake ------------------------------------------------------------------------------------
st.subheader("Intake")
left, right = st.columns([2, 3])
left.markdown(
    "  \n".join(
        f"**{label}:** {escape_markdown(text)}"
        for label, text in progress.intake_facts(client, outcome)
    )
)
baselines = progress.baseline_table(client)
right.dataframe(
    baselines,
    hide_index=True,
    placeholder="–",
    column_config={
        "measure": "Measure",
        "value": st.column_config.NumberColumn("At intake", format="%.1f"),
        "how_to_read": st.column_config.TextColumn("How to read it", width="large"),
    },
)
with right:
    if baselines["value"].isna().all():
        st.caption("No baseline was recorded at intake: each series starts from its first report.")
    ui.download_table(
        baselines,
        f"{chosen}_intake.csv",
        key="csv-intake",
        headers={"value": "At intake"},
        client_id=chosen,
    )
if outcome is not None:
    flags = progress.risk_flags(outcome)
    for flag in flags:
        st.warning(f"⚠️ {flag}")
    unchecked = progress.unchecked_flags(outcome)
    if unchecked:
        st.caption(f"Cannot check {' or '.join(unchecked)}.")
    elif not flags:
        st.success(f"✅ {progress.NO_FLAGS_TEXT}")

# --- recording a session (therapists for their own clients, owners) ---------------------------
ui.record_session_section(chosen)

if outcome is None:
    st.stop()

# --- change over the series --------------------------------------------------------------------
st.subheader(f"Change over series {number}")
st.markdown("  \n".join(f"**{label}:** {text}" for label, text in progress.series_facts(outcome)))
summary = progress.change_summary(outcome)
st.dataframe(
    summary,
    hide_index=True,
    placeholder="–",
    # "What it means" wraps onto four lines instead of running off the edge at 1440 px.
    row_height=ui.WRAPPED_ROW_HEIGHT + 16,
    column_config={
        "measure": st.column_config.TextColumn("Measure", width=130),
        "baseline": st.column_config.NumberColumn("Baseline", format="%.1f"),
        "baseline_from": st.column_config.TextColumn("Baseline from", width=110),
        "latest_from": st.column_config.TextColumn("Latest from", width=100),
        "latest": st.column_config.NumberColumn("Latest", format="%.1f"),
        "change": st.column_config.NumberColumn("Change", format="%+.1f"),
        "pct_change": st.column_config.NumberColumn("Change (%)", format="%+.0f"),
        "result": st.column_config.TextColumn("Result", width=120),
        "meaning": st.column_config.TextColumn("What it means", width=260),
    },
)
ui.download_table(
    summary, f"{chosen}_series{number}_change.csv", key="csv-change", client_id=chosen
)
ui.explain(
    "How to read the change",
    f"""
* **Baseline** is the value at intake for a first series, else the first score of the series.
  **Latest** is the most recent later score; headache and medication days average the reports
  of the last 28 days. A series without a later score says *no follow-up score yet*.
* **Meaningful**: big enough to matter to a client (50 % fewer headache days;
  {progress.MEANINGFUL_RULES["pain"]}; HIT-6 down 6 points; one MIDAS grade).
* **Reliable**: bigger than the usual ups and downs of the measure (reliable change index,
  Jacobson & Truax), so unlikely to be noise alone. **Not enough data to judge**: too few
  clients of the practice have a starting value of the measure to tell a change from its
  usual ups and downs, so Headway does not claim there was no change.
* Change during treatment is not proof that the treatment caused it: headaches come and go,
  and clients often start at a bad time and improve anyway. See docs/metrics.md.
""",
)

# --- charts ------------------------------------------------------------------------------------
st.subheader("Over the sessions")
frame = progress.series_sessions(own_sessions, chosen, number)
stem = f"{chosen}_series{number}"
if outcome["sessions_attended"] == 0:
    st.info("No session of this series was attended yet: only missed or cancelled bookings.")
else:
    pain = progress.pain_points(frame)
    if pain.empty:
        st.info("No pain scores recorded in this series.")
    else:
        ui.show_chart(
            partial(charts.pain_chart, pain, baseline=outcome["pain_baseline"]),
            f"{stem}_pain.png",
            key="png-pain",
            client_id=chosen,
        )
    days = progress.headache_day_points(frame)
    if days.empty:
        st.info("No headache days recorded in this series.")
    else:
        ui.show_chart(
            partial(charts.headache_days_chart, days, baseline=outcome["hd28_baseline"]),
            f"{stem}_headache_days.png",
            key="png-headache-days",
            client_id=chosen,
        )
    wellbeing = progress.wellbeing_points(frame, outcome)
    if wellbeing.empty:
        st.caption("No stress, sleep or medication scores recorded in this series.")
    else:
        ui.show_chart(
            partial(charts.wellbeing_chart, wellbeing),
            f"{stem}_wellbeing.png",
            key="png-wellbeing",
            client_id=chosen,
        )
    used = progress.technique_points(frame)
    if used.empty:
        st.info("No techniques recorded at the attended sessions of this series.")
    else:
        ui.show_chart(
            partial(charts.techniques_chart, used, technique_keys=ui.technique_keys()),
            f"{stem}_techniques.png",
            key="png-techniques",
            client_id=chosen,
        )

# --- headache diary ----------------------------------------------------------------------------
calendar = progress.client_diary(own_diary, own_sessions, chosen)
if not calendar.empty:
    st.subheader("Headache diary")
    st.caption(progress.diary_caption(calendar, outcome))
    ui.show_chart(
        partial(diary_charts.diary_calendar_chart, calendar),
        f"{chosen}_diary.png",
        key="png-diary",
        client_id=chosen,
    )
    windows = progress.diary_window_table(own_diary, outcome)
    if not windows.empty:
        st.caption(
            "The series' 28-day windows: baseline is the 28 days before the first session. A "
            "window with fewer logged days is pro-rated, or left out when too few are logged."
        )
        st.dataframe(
            windows,
            hide_index=True,
            placeholder="–",
            column_config={
                "Headache days per 28 days": st.column_config.NumberColumn(format="%.1f"),
                "Medication days per 28 days": st.column_config.NumberColumn(format="%.1f"),
                "Mean severity on headache days (0-3)": st.column_config.NumberColumn(
                    format="%.1f"
                ),
            },
        )

# --- sessions ----------------------------------------------------------------------------------
st.subheader("Sessions")
table = progress.session_table(frame)
st.caption(
    "Every booked session of the series, oldest first. Session numbers count attended sessions; "
    "relief is pain before minus pain after."
)
st.dataframe(
    table,
    hide_index=True,
    placeholder="",
    column_config={
        "Date": st.column_config.DateColumn("Date", format="D MMM YYYY"),
        "Relief": st.column_config.NumberColumn("Relief", format="%+.1f"),
        "Notes": st.column_config.TextColumn("Notes", width="large"),
    },
)
ui.download_table(table, f"{stem}_sessions.csv", key="csv-sessions", client_id=chosen)
