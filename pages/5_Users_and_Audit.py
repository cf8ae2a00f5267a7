"""Users and audit log: who may sign in, and who did what (owners only)."""

import streamlit as st

from practice import auth, ui
from practice.formatting import audit_table, users_table

ui.require_router(__file__)
st.caption(
    "Users are managed from the command line on the practice's computer, so that no "
    "password ever passes through a web form other than sign-in."
)
with ui.get_engine().connect() as conn:
    users = users_table(auth.list_users(conn))  # role names, no "None"
    events = audit_table(auth.fetch_audit_log(conn))  # event names, details in words

st.subheader("Users")
if users.empty:
    st.info(
        "No user exists yet: the app runs in demo mode. Create the first owner with "
        "`python -m practice users add NAME --role owner`."
    )
else:
    st.dataframe(
        users,
        hide_index=True,
        placeholder="",
        column_config={
            "username": "User",
            "role": "Role",
            "therapist_name": "Therapist in the exports",
            "locations": "Locations",
            "disabled": "Disabled",
            "created_at": st.column_config.DatetimeColumn("Created"),
        },
    )
st.markdown(
    "`python -m practice users add NAME --role owner|therapist|front_desk "
    "[--therapist NAME] [--location NAME ...]` · `users passwd NAME` · "
    "`users disable NAME` · `users list`"
)

st.subheader("Audit log")
st.caption(
    "The newest 1,000 events: sign-ins and failed sign-ins, imports and undos, exports "
    "of client data, refused pages and user changes. It never holds a password or the "
    "content of an export."
)
st.dataframe(
    events,
    hide_index=True,
    placeholder="",
    column_config={
        "at": st.column_config.DatetimeColumn("When (UTC)"),
        "username": "User",
        "event": "Event",
        "detail": st.column_config.TextColumn("Detail", width="large"),
    },
)
ui.download_table(events, "audit-log.csv")
