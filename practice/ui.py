"""Everything the pages share: page setup, the sidebar filters, cached loaders, downloads.

The only module of the package that imports streamlit. Pages call `page_setup()` first, then
`sidebar_filters()`, then load frames through the cached loaders here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import altair as alt
import pandas as pd
import streamlit as st
from sqlalchemy import Engine, text

from practice import analysis, queries
from practice.bootstrap import open_database
from practice.exports import chart_png, table_csv
from practice.filters import Filters, filter_outcomes, filter_sessions
from practice.vocabulary import HEADACHE_TYPES, technique_label

APP_TITLE = "Headway"
PAGE_ICON = "🧠"  # an emoji, not a :material/: icon, so that no web font is fetched offline
# Links carry no icons: an emoji needs a colour-emoji font the practice's machine may lack.
PAGES = (
    ("app.py", "Overview"),
    ("pages/1_Client_Progress.py", "Client progress"),
    ("pages/2_Techniques.py", "Techniques"),
    ("pages/3_Therapists.py", "Therapists"),
    ("pages/4_Import_Data.py", "Import data"),
)
POPULATION_LABELS = {
    "all": "Everyone with a follow-up score",
    "completers": "Completers only",
    "dropouts_as_nonresponders": "Everyone; dropouts count as not improved",
}
_FILTER_DEFAULTS: dict[str, object] = {
    "period": None,
    "therapists": [],
    "techniques": [],
    "headache_types": [],
    "population": "all",
}


@st.cache_resource(show_spinner="Opening the practice database…")
def get_engine() -> Engine:
    """The practice database, migrated and (on first run) seeded with the sample practice."""
    return open_database()


def page_setup(title: str) -> None:
    """Set the page config, draw the navigation and the sample notice; call first on a page."""
    st.set_page_config(page_title=f"{title} · {APP_TITLE}", page_icon=PAGE_ICON, layout="wide")
    with st.sidebar:
        for path, label in PAGES:
            st.page_link(path, label=label)
        if load_counts(data_version()).sample_only:
            st.info(
                "You are looking at the **synthetic sample practice**: invented clients, "
                "not real people. Import your own exports to replace it."
            )
    st.title(title)


def data_version() -> tuple[int, int]:
    """Changes whenever an import or an undo changes the data, so cached frames refresh.

    The loaders below take it as an argument only so that it is part of their cache key
    (an argument named with a leading underscore would be left out of the key).
    """
    with get_engine().connect() as conn:
        row = conn.execute(text("SELECT COALESCE(MAX(id), 0), COUNT(undone_at) FROM imports")).one()
    return int(row[0]), int(row[1])


@st.cache_data(show_spinner=False, max_entries=4)
def load_counts(version: tuple[int, int]) -> queries.PracticeCounts:
    """Headline counts of what is stored."""
    with get_engine().connect() as conn:
        return queries.fetch_counts(conn)


@st.cache_data(show_spinner="Loading sessions…", max_entries=2)
def _load_frames(version: tuple[int, int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    with get_engine().connect() as conn:
        return queries.fetch_clients(conn), queries.fetch_sessions(conn)


@st.cache_data(show_spinner="Computing outcomes…", max_entries=2)
def _load_outcomes(version: tuple[int, int]) -> pd.DataFrame:
    clients, sessions = _load_frames(version)
    return analysis.compute_client_outcomes(clients, sessions)


def load_clients() -> pd.DataFrame:
    """Every client with their intake."""
    return _load_frames(data_version())[0]


def load_sessions() -> pd.DataFrame:
    """Every stored session (client code, therapist, scores, techniques)."""
    return _load_frames(data_version())[1]


def load_outcomes() -> pd.DataFrame:
    """Per-client outcomes of every treatment series (see docs/metrics.md)."""
    return _load_outcomes(data_version())


def filtered_outcomes(filters: Filters) -> pd.DataFrame:
    """Outcomes of the series the sidebar selects."""
    return filter_outcomes(load_outcomes(), filters)


def filtered_sessions(filters: Filters) -> pd.DataFrame:
    """Sessions the sidebar selects."""
    return filter_sessions(load_sessions(), load_clients(), filters)


def clear_caches() -> None:
    """Forget cached frames (after an import or an undo in this process)."""
    st.cache_data.clear()


# --- sidebar filters ---------------------------------------------------------------------------
def sidebar_filters(*, population: bool = True) -> Filters:
    """Draw the shared filters; their values persist from page to page in the session."""
    sessions = load_sessions()
    with st.sidebar:
        st.header("Filters")
        period = _persisted(
            st.date_input,
            "period",
            "Session dates",
            default=_full_period(sessions),
            help="Series with a session in this period are included.",
        )
        therapists = _persisted(
            st.multiselect,
            "therapists",
            "Therapist",
            options=sorted(sessions["therapist"].unique()),
            placeholder="All therapists",
        )
        techniques = _persisted(
            st.multiselect,
            "techniques",
            "Primary technique",
            options=sorted(
                {t for ts in sessions["techniques"].unique() for t in ts.split(";") if t}
            ),
            format_func=technique_label,
            placeholder="All techniques",
        )
        types = _persisted(
            st.multiselect,
            "headache_types",
            "Headache type",
            options=list(HEADACHE_TYPES),
            format_func=HEADACHE_TYPES.get,
            placeholder="All headache types",
        )
        chosen: object = "all"
        if population:
            chosen = _persisted(
                st.radio,
                "population",
                "Who is counted",
                options=list(POPULATION_LABELS),
                format_func=POPULATION_LABELS.get,
                help="Completers attended at least the minimum number of "
                "sessions. Counting dropouts as not improved is the "
                "strictest view.",
            )
    start, end = _period_bounds(period)
    return Filters(
        start, end, _strings(therapists), _strings(techniques), _strings(types), str(chosen)
    )


def _strings(values: object) -> tuple[str, ...]:
    return tuple(str(v) for v in values) if isinstance(values, list | tuple) else ()


def _persisted(
    widget: Callable[..., object],
    name: str,
    label: str,
    *,
    default: object = None,
    **options: object,
) -> object:
    """A widget whose value outlives page changes (Streamlit forgets widget state per page)."""
    store, key = f"filter.{name}", f"widget.{name}"
    if store not in st.session_state:
        st.session_state[store] = default if default is not None else _FILTER_DEFAULTS[name]
    if key not in st.session_state:  # a new page: give the widget the value kept for it
        st.session_state[key] = st.session_state[store]
    value = widget(label, key=key, **options)
    st.session_state[store] = value
    return value


def _full_period(sessions: pd.DataFrame) -> tuple[dt.date, dt.date] | tuple[()]:
    if sessions.empty:
        return ()
    return sessions["session_date"].min().date(), sessions["session_date"].max().date()


def _period_bounds(period: object) -> tuple[dt.date | None, dt.date | None]:
    if isinstance(period, tuple | list):
        start = period[0] if len(period) > 0 else None
        end = period[1] if len(period) > 1 else None
        return start, end
    return (period, period) if isinstance(period, dt.date) else (None, None)


# --- output helpers ----------------------------------------------------------------------------
def download_table(
    frame: pd.DataFrame, file_name: str, *, label: str = "Download CSV", key: str | None = None
) -> None:
    """A CSV download of `frame`, with spreadsheet formulas neutralised."""
    st.download_button(
        label,
        data=lambda: table_csv(frame),
        file_name=file_name,
        mime="text/csv",
        key=key or f"csv-{file_name}",
    )


def show_chart(chart: alt.TopLevelMixin, file_name: str, *, key: str | None = None) -> None:
    """Draw an Altair chart with a PNG download under it."""
    st.altair_chart(chart, width="stretch")  # type: ignore[call-overload]
    st.download_button(
        "Download PNG",
        data=lambda: chart_png(chart),
        file_name=file_name,
        mime="image/png",
        key=key or f"png-{file_name}",
    )


def explain(title: str, body: str) -> None:
    """A folded plain-language explanation of the terms on a page."""
    with st.expander(title):
        st.markdown(body)


def client_link(client_id: str) -> str:
    """The Client progress page's deep link for one client."""
    return f"/Client_Progress?client={client_id}"


def show_client_table(frame: pd.DataFrame, columns: list[str], *, file_name: str) -> None:
    """A table of clients whose ids link to their progress page, with a CSV download."""
    shown = frame[columns].assign(link=frame["client_id"].map(client_link))
    st.dataframe(
        shown,
        hide_index=True,
        column_order=["link", *[c for c in columns if c != "client_id"]],
        column_config={
            "link": st.column_config.LinkColumn("Client", display_text=r"client=(.*)$"),
            "client_name": "Name",
            "therapist": "Therapist",
            "sessions_attended": st.column_config.NumberColumn("Sessions"),
            "pain_pct_change": st.column_config.NumberColumn("Pain change %", format="%+.0f"),
            "hd28_pct_change": st.column_config.NumberColumn(
                "Headache days change %", format="%+.0f"
            ),
            "reason": st.column_config.TextColumn("Why", width="large"),
        },
    )
    download_table(frame[columns], file_name)
