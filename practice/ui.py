"""Everything the pages share: page setup, the cached database and frames, sidebar notes.

The only module of the package that imports streamlit.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from practice import queries
from practice.bootstrap import open_database

APP_TITLE = "Headway"
PAGE_ICON = "🧠"  # an emoji, not a :material/: icon, so that no web font is fetched offline


@st.cache_resource(show_spinner="Opening the practice database…")
def get_engine() -> Engine:
    """The practice database, migrated and (on first run) seeded with the sample practice."""
    return open_database()


def page_setup(title: str) -> None:
    """Set the page config and draw the shared sidebar; call first on every page."""
    st.set_page_config(page_title=f"{title} · {APP_TITLE}", page_icon=PAGE_ICON, layout="wide")
    st.title(title)
    counts = load_counts()
    if counts.sample_only:
        st.sidebar.info(
            "You are looking at the **synthetic sample practice**: invented "
            "clients, not real people. Import your own exports to replace it."
        )


@st.cache_data(show_spinner=False, ttl=60)
def load_counts() -> queries.PracticeCounts:
    """Headline counts of what is stored."""
    with get_engine().connect() as conn:
        return queries.fetch_counts(conn)


@st.cache_data(show_spinner="Loading sessions…", ttl=60)
def load_sessions() -> pd.DataFrame:
    """Every stored session (client code, therapist, scores, techniques)."""
    with get_engine().connect() as conn:
        return queries.fetch_sessions(conn)
