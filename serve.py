"""Serve Headway: app.py and its pages, plus the session cookie's route (bash scripts/dashboard).

`streamlit run serve.py` finds `app` below and serves it through Starlette (st.App): every
page is app.py's, exactly as with `streamlit run app.py`, and /api/session sets and clears the
HttpOnly cookie that keeps a sign-in across reloads and new tabs (practice/web_session.py).
Run as `streamlit run app.py` instead, Headway works the same but a reload asks to sign in.
"""

import streamlit as st

from practice.web_session import session_routes

app = st.App("app.py", routes=session_routes())
