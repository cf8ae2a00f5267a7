"""Everything the pages share: page setup, the sidebar filters, cached loaders, downloads.

The only module of the package that imports streamlit. Pages call `page_setup()` first, then
`sidebar_filters()`, then load frames through the cached loaders here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

import altair as alt
import pandas as pd
import streamlit as st
from sqlalchemy import Engine, text

from practice import access, analysis, auth, config, queries
from practice.bootstrap import open_database
from practice.exports import chart_png, chart_title, table_csv
from practice.filters import Filters, filter_outcomes, filter_sessions
from practice.vocabulary import HEADACHE_TYPES, technique_label

APP_TITLE = "Headway"
PAGE_ICON = "🧠"  # an emoji, not a :material/: icon, so that no web font is fetched offline
# Each page and the roles that may open it. Links carry no icons: an emoji needs a colour-emoji
# font the practice's machine may lack.
PAGES = (
    ("app.py", "Overview", frozenset({"owner", "therapist"})),
    ("pages/1_Client_Progress.py", "Client progress", frozenset({"owner", "therapist"})),
    ("pages/2_Techniques.py", "Techniques", frozenset({"owner", "therapist"})),
    ("pages/3_Therapists.py", "Therapists", frozenset({"owner"})),
    ("pages/4_Import_Data.py", "Import data", frozenset({"owner", "front_desk"})),
    ("pages/5_Users_and_Audit.py", "Users and audit log", frozenset({"owner"})),
)
ROLE_LABELS = {"owner": "Owner", "therapist": "Therapist", "front_desk": "Front desk"}
# Pages that hold no clinical detail stay open in demo mode after real data was imported, so
# that a trial upload can still be undone.
_OPEN_WITHOUT_OWNER = frozenset({"Import data"})
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
    """Set the page config, check who is signed in and may see this page, draw the sidebar.

    Call first on every page: with a pages/ folder each page runs on its own (a deep link
    skips app.py), so this page-level check is the only gate that holds.
    """
    st.set_page_config(page_title=f"{title} · {APP_TITLE}", page_icon=PAGE_ICON, layout="wide")
    user = _signed_in_user()
    allowed = _page_roles(title)
    if user is None:
        _demo_mode_or_sign_in(title)
    elif user.role not in allowed:
        _draw_navigation(user)
        st.title(title)
        st.error(
            f"Your role ({ROLE_LABELS[user.role]}) cannot open **{title}**. "
            "Use the links in the sidebar."
        )
        audit("page_refused", title)
        st.stop()
    else:
        _draw_navigation(user)
    st.title(title)


def current_user() -> auth.SignedInUser | None:
    """The signed-in user, or None in demo mode."""
    return st.session_state.get("user")


def _page_roles(title: str) -> frozenset[str]:
    return next(roles for _, label, roles in PAGES if label == title)


def _signed_in_user() -> auth.SignedInUser | None:
    """The session's user, re-read from the database; signed out after IDLE_MINUTES idle."""
    user = st.session_state.get("user")
    if user is None:
        return None
    now = dt.datetime.now(dt.UTC)
    last_seen = st.session_state.get("last_seen", now)
    with get_engine().begin() as conn:
        fresh = auth.load_user(conn, user.username)
        idle = now - last_seen > dt.timedelta(minutes=config.IDLE_MINUTES)
        if fresh is None or idle:
            auth.record_event(conn, "signed_out", user.username, "idle" if idle else "disabled")
    if fresh is None or idle:
        _forget_user()
        st.session_state["sign_in_notice"] = (
            "You were signed out after a period without activity."
            if idle
            else "Your account is no longer active."
        )
        return None
    st.session_state["user"] = fresh
    st.session_state["last_seen"] = now
    return fresh


def _demo_mode_or_sign_in(title: str) -> None:
    with get_engine().connect() as conn:
        has_users = auth.any_users(conn)
    if has_users:
        _sign_in_form()
        st.stop()
    _draw_navigation(None)
    if load_counts(data_version()).sample_only:
        st.sidebar.warning(
            "**Demo mode**: no user exists yet, so anyone can open every page. "
            "Create the first owner to require sign-in: "
            "`python -m practice users add NAME --role owner`."
        )
    elif title not in _OPEN_WITHOUT_OWNER:
        st.title(title)
        st.error(
            "Data beyond the sample practice is stored, and no user exists yet. Create the "
            "first owner, then sign in: `python -m practice users add NAME --role owner`."
        )
        st.stop()


def _sign_in_form() -> None:
    st.title(f"Sign in to {APP_TITLE}")
    notice = st.session_state.pop("sign_in_notice", None)
    if notice:
        st.info(notice)
    auth.warm_up()
    with st.form("sign_in"):
        username = st.text_input("User name", key="sign_in_user")
        password = st.text_input("Password", type="password", key="sign_in_password")
        submitted = st.form_submit_button("Sign in")
    if not submitted:
        return
    # Recent failures for the name or from this address make sign_in wait first (throttling).
    address = st.context.ip_address  # None for localhost (and not a str under AppTest)
    with get_engine().begin() as conn:
        result = auth.sign_in(
            conn, username, password, address=address if isinstance(address, str) else None
        )
    if result.user is None:
        st.error(result.message)
        return
    st.session_state["user"] = result.user
    st.session_state["last_seen"] = dt.datetime.now(dt.UTC)
    st.rerun()


def _forget_user() -> None:
    for key in ("user", "last_seen"):
        st.session_state.pop(key, None)


def _draw_navigation(user: auth.SignedInUser | None) -> None:
    with st.sidebar:
        for path, label, roles in PAGES:
            if user is None or user.role in roles:
                st.page_link(path, label=label)
        if user is not None:
            who = user.username + (f" ({user.therapist_name})" if user.therapist_name else "")
            st.caption(f"Signed in as **{who}**, {ROLE_LABELS[user.role].lower()}.")
            if st.button("Sign out", key="sign_out"):
                audit("signed_out", "by the user")
                _forget_user()
                st.rerun()
        if load_counts(data_version()).sample_only:
            st.info(
                "You are looking at the **synthetic sample practice**: invented clients, "
                "not real people. Import your own exports to replace it."
            )


def audit(event: str, detail: str | None = None) -> None:
    """Record what the signed-in user (or the demo visitor) did in the audit log."""
    user = current_user()
    with get_engine().begin() as conn:
        auth.record_event(conn, event, user.username if user else None, detail)


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


@st.cache_data(show_spinner=False, max_entries=2)
def _load_diary(version: tuple[int, int]) -> pd.DataFrame:
    with get_engine().connect() as conn:
        return queries.fetch_diary_days(conn)


def load_diary() -> pd.DataFrame:
    """The headache diary days of the clients the signed-in user may see."""
    diary = _load_diary(data_version())
    return diary[diary["client_id"].isin(load_clients()["client_id"])].reset_index(drop=True)


@st.cache_data(show_spinner=False, max_entries=8)
def _scoped_frames(
    version: tuple[int, int], user: auth.SignedInUser | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    clients, sessions = _load_frames(version)
    return access.scope_frames(clients, sessions, user)


@st.cache_data(show_spinner="Computing outcomes…", max_entries=2)
def _practice_outcomes(
    version: tuple[int, int],
) -> tuple[pd.DataFrame, analysis.ReferenceValues]:
    """Every client's outcomes and the practice-wide reference values, once per data version."""
    return analysis.compute_outcomes_and_reference(
        *_load_frames(version), diary=_load_diary(version)
    )


@st.cache_data(show_spinner="Computing outcomes…", max_entries=8)
def _load_outcomes(version: tuple[int, int], user: auth.SignedInUser | None) -> pd.DataFrame:
    outcomes, reference = _practice_outcomes(version)
    if user is None or user.role == "owner":
        return outcomes
    # A narrower view is judged against the whole practice: the same client gets the same
    # labels and alerts for every user allowed to see them (docs/metrics.md).
    scoped = _scoped_frames(version, user)
    # The diary of every client: only the series in `scoped` take their days.
    return analysis.compute_client_outcomes(
        *scoped, reference=reference, diary=_load_diary(version)
    )


def load_clients() -> pd.DataFrame:
    """The clients the signed-in user may see, with their intake."""
    return _scoped_frames(data_version(), current_user())[0]


def load_sessions() -> pd.DataFrame:
    """The sessions the signed-in user may see (client code, therapist, scores, techniques)."""
    return _scoped_frames(data_version(), current_user())[1]


def load_outcomes() -> pd.DataFrame:
    """Per-client outcomes of every series the user may see (see docs/metrics.md)."""
    return _load_outcomes(data_version(), current_user())


def filtered_outcomes(filters: Filters) -> pd.DataFrame:
    """Outcomes of the series the sidebar selects."""
    return filter_outcomes(load_outcomes(), filters)


def analysed(function: str, filters: Filters, **options: object) -> pd.DataFrame:
    """`practice.analysis.<function>(outcomes, **options)` on the selected outcomes, cached.

    The cache key is the data version, the user, the filters and the options, so a rerun
    that changes none of them costs nothing, however large the practice.
    """
    return _analysed(
        data_version(), current_user(), filters, function, tuple(sorted(options.items()))
    )


@st.cache_data(show_spinner="Comparing groups…", max_entries=64)
def _analysed(
    version: tuple[int, int],
    user: auth.SignedInUser | None,
    filters: Filters,
    function: str,
    options: tuple[tuple[str, object], ...],
) -> pd.DataFrame:
    outcomes = filter_outcomes(_load_outcomes(version, user), filters)
    return getattr(analysis, function)(outcomes, **dict(options))


def session_relief(filters: Filters, *, by: str) -> pd.DataFrame:
    """Immediate relief (pain before minus after) of the selected sessions, cached."""
    return _session_relief(data_version(), current_user(), filters, by)


@st.cache_data(show_spinner=False, max_entries=16)
def _session_relief(
    version: tuple[int, int], user: auth.SignedInUser | None, filters: Filters, by: str
) -> pd.DataFrame:
    clients, sessions = _scoped_frames(version, user)
    return analysis.immediate_relief(
        filter_sessions(sessions, clients, filters), by=by, clients=clients
    )


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
# Downloads build their file on click, on a thread without the session: who is asking is
# captured when the button is drawn. A click does not rerun the page (on_click="ignore"): a rerun
# replaced every button's file id while the click's request was on its way, so the request could
# name an id already forgotten ("Deferred file ... not found") and the download spun forever;
# and the rerun's charts switched Altair's global settings while a PDF drew its own charts.
def _offer_download(
    label: str,
    build: Callable[[], bytes],
    *,
    file_name: str,
    mime: str,
    key: str,
    help: str | None = None,
) -> None:
    st.download_button(
        label,
        data=build,
        file_name=file_name,
        mime=mime,
        key=key,
        help=help,
        on_click="ignore",
    )


def _logged(build: Callable[[], bytes], detail: str) -> Callable[[], bytes]:
    """`build`, recording in the audit log who downloaded what (never the data itself)."""
    engine, user = get_engine(), current_user()

    def build_and_log() -> bytes:
        with engine.begin() as conn:
            auth.record_event(conn, "export", user.username if user else None, detail)
        return build()

    return build_and_log


def download_table(
    frame: pd.DataFrame,
    file_name: str,
    *,
    label: str = "Download CSV",
    key: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> None:
    """A CSV download of `frame` in the spreadsheet conventions of `exports.table_csv`
    (`headers` name columns as the page does), formulas neutralised; logged when taken."""
    _offer_download(
        label,
        _logged(lambda: table_csv(frame, headers=headers), f"{file_name}: {len(frame)} rows"),
        file_name=file_name,
        mime="text/csv",
        key=key or f"csv-{file_name}",
    )


def download_report(
    label: str, data: Callable[[], bytes], file_name: str, *, key: str, help: str | None = None
) -> None:
    """A PDF download built only when clicked, logged in the audit log when taken."""
    _offer_download(
        label,
        _logged(data, file_name),
        file_name=file_name,
        mime="application/pdf",
        key=key,
        help=help,
    )


def show_chart(
    chart: alt.TopLevelMixin,
    file_name: str,
    *,
    key: str | None = None,
    client_id: str | None = None,
) -> None:
    """Draw an Altair chart with a PNG download under it, logged when taken (with the client
    whose trajectory it shows, when it shows one)."""
    st.altair_chart(chart, width="stretch")  # type: ignore[call-overload]
    about = f"chart '{chart_title(chart)}'" + (f" of client {client_id}" if client_id else "")
    _offer_download(
        "Download PNG",
        _logged(lambda: chart_png(chart), f"{file_name}: {about}"),
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
