"""Overview: what the practice database holds."""

import streamlit as st

from practice import ui

ui.page_setup("Overview")
counts = ui.load_counts()
if counts.sessions == 0:
    st.info(
        "No sessions are stored yet. Import a CSV export with `python -m practice import FILE.csv`."
    )
    st.stop()

clients, sessions, therapists, period = st.columns(4)
clients.metric("Clients", f"{counts.clients:,}")
sessions.metric("Sessions", f"{counts.sessions:,}")
therapists.metric("Therapists", counts.therapists)
period.metric(
    "Sessions from – to", f"{counts.first_session:%d %b %Y} – {counts.last_session:%d %b %Y}"
)

st.subheader("Latest sessions")
st.caption(
    "The 200 most recent sessions, newest first. Pain is 0 (none) to 10 (worst); "
    "headache days are days with any headache in the week before the session."
)
latest = ui.load_sessions().sort_values("session_date", ascending=False).head(200)
st.dataframe(
    latest[
        [
            "session_date",
            "client_id",
            "therapist",
            "status",
            "techniques",
            "pain_pre",
            "pain_post",
            "headache_days_7d",
        ]
    ],
    hide_index=True,
    column_config={
        "session_date": st.column_config.DateColumn("Date"),
        "client_id": "Client",
        "therapist": "Therapist",
        "status": "Status",
        "techniques": "Techniques",
        "pain_pre": "Pain before",
        "pain_post": "Pain after",
        "headache_days_7d": "Headache days (7 d)",
    },
)
