"""Everything the pages share: the router, sign-in, the sidebar filters, cached loaders, downloads.

The only module of the package that imports streamlit. `app.py` calls `route()` on every
request: it signs the visitor in, draws what every page shares and hands back the page to run
(`run_page`). A page then reads `current_filters()` and loads frames through the cached loaders
and typed analysis wrappers here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import pickle
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import altair as alt
import pandas as pd
import streamlit as st
from sqlalchemy import Connection, Engine
from streamlit.elements.lib.column_types import ColumnConfig

from practice import (
    access,
    analysis,
    auth,
    comparisons,
    config,
    db,
    formatting,
    overview,
    progress,
    queries,
    recording,
)
from practice.analysis.labels import POPULATION_LABELS
from practice.bootstrap import open_database
from practice.exports import chart_png, chart_title, table_csv
from practice.filters import BASELINE_SOURCE_OPTIONS, Filters, filter_outcomes, filter_sessions
from practice.vocabulary import HEADACHE_TYPES, STATUSES, TECHNIQUES, technique_label
from practice.web_session import COOKIE_NAME, SESSION_PATH

_T = TypeVar("_T")
APP_TITLE = "Headway"
PAGE_ICON = "🧠"  # an emoji, not a :material/: icon, so that no web font is fetched offline
ROLE_LABELS = {"owner": "Owner", "therapist": "Therapist", "front_desk": "Front desk"}
_CLINICAL = frozenset({"owner", "therapist"})
_OWNER = frozenset({"owner"})


@dataclass(frozen=True)
class PageSpec:
    """Who may open a page file in pages/, and which sidebar filters it reads."""

    title: str
    roles: frozenset[str]
    filters: bool = False  # the page reads the sidebar filters
    population: bool = False  # ... including "Who is counted"


PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"
# Every file in pages/, in menu order. The first page a role may open is its home page (`/`).
# Menu entries carry no icons: an emoji needs a colour-emoji font the practice's machine may lack.
PAGES = {
    "0_Overview.py": PageSpec("Overview", _CLINICAL, filters=True, population=True),
    "1_Client_Progress.py": PageSpec("Client progress", _CLINICAL, filters=True),
    "2_Techniques.py": PageSpec("Techniques", _CLINICAL, filters=True, population=True),
    "3_Therapists.py": PageSpec("Therapists", _OWNER, filters=True, population=True),
    "4_Import_Data.py": PageSpec("Import data", frozenset({"owner", "front_desk"})),
    "5_Users_and_Audit.py": PageSpec("Users and audit log", _OWNER),
}
# Pages that hold no clinical detail stay open in demo mode after real data was imported, so
# that a trial upload can still be undone.
_OPEN_WITHOUT_OWNER = frozenset({"4_Import_Data.py"})
# The sidebar filters' widget keys: the one place in st.session_state where each filter lives.
FILTER_KEYS = {
    "period": "widget.period",
    "therapists": "widget.therapists",
    "techniques": "widget.techniques",
    "headache_types": "widget.headache_types",
    "population": "widget.population",
    "baseline_sources": "widget.baseline_sources",
    "locations": "widget.locations",
}
# "Who is counted" in words, shared by the sidebar and the pages' explanations.
POPULATION_HELP = (
    "Everyone with a follow-up score: each client counts with their last available value (last "
    "observation carried forward), however early they stopped. Completers attended at least the "
    "minimum number of sessions. Counting dropouts as not improved is the strictest view."
)
# A dataframe row this tall lets long text wrap onto three lines (Streamlit wraps text cells
# only in rows taller than 4rem, 64 px) instead of running past the right edge at 1440 px.
WRAPPED_ROW_HEIGHT = 76
# Set while app.py runs the page it routed to (see `run_page` and `require_router`), with the
# run's selected outcomes (`_selected_outcomes`).
_routing = threading.local()
_PAGE_KEY = "router.page"  # session key: the pages/ file this session's last run routed to
# Who may do each action, beyond being allowed on the page that offers it (`may_still_act`).
ACTION_ROLES: dict[str, frozenset[str]] = {
    "import": frozenset({"owner", "front_desk"}),
    "undo": frozenset({"owner", "front_desk"}),
    "download": frozenset(ROLE_LABELS),  # any role, on a page it may open
    # Sessions recorded in the app (practice/recording.py also checks client and therapist).
    "record_session": frozenset({"owner", "therapist"}),
    "delete_session": frozenset({"owner", "therapist"}),
}


@st.cache_resource(show_spinner="Opening the practice database…")
def get_engine() -> Engine:
    """The practice database, migrated and (on first run) seeded with the sample practice."""
    return open_database()


# --- the router --------------------------------------------------------------------------------
def route() -> st.Page:
    """Sign the visitor in, draw what every page shares, and return the page to run.

    app.py calls this on every request, before any page runs, so a deep link cannot skip
    sign-in. A page the user's role may not open is left out of their menu; opened by its URL,
    it is refused here (and the refusal logged).
    """
    return _route()[1]


def run_page(page: st.Page) -> None:
    """Run the page `route()` chose (app.py's last line)."""
    _routing.active = True
    _routing.selections = {}
    try:
        page.run()
    finally:
        _routing.active = False
        _routing.selections = None  # the run's selected outcomes go with it (`_selected_outcomes`)


def require_router(page_file: str) -> None:
    """The first line of every page (`ui.require_router(__file__)`): route it if app.py did not.

    Until the entry script has called st.navigation once in a server process, Streamlit
    emulates its old pages/ mode, in which a URL such as /Techniques runs the page file alone,
    without app.py (AppTest resets to this mode before every run). The page then routes itself
    exactly as app.py would (sign-in, role check, shared sidebar), runs as the routed page and
    stops the unrouted run. A page file run as the entry script itself is refused.
    """
    if getattr(_routing, "active", False):
        return
    name, page = _route()
    if name != Path(page_file).name:
        st.error("This page opens through app.py (`streamlit run app.py`), not on its own.")
        st.stop()
    run_page(page)  # the same file, run as the routed page so widgets keep their identity
    st.stop()


def _route() -> tuple[str, st.Page]:
    st.set_page_config(page_title=APP_TITLE, page_icon=PAGE_ICON, layout="wide")
    user = _signed_in_user()
    if user is None and _users_exist():
        # Every page stays reachable by its URL, so a deep link opens once the visitor has
        # signed in; `/` is the sign-in page, which sends each role to its own home page.
        pages = _file_pages(None)
        st.navigation(
            [st.Page(_sign_in_form, title="Sign in", default=True), *pages.values()],
            position="hidden",
        )
        _sign_in_form()
        _forget_cookie_in_browser()
        st.stop()
    pages = _file_pages(user)
    chosen = st.navigation(list(pages.values()))
    name = next(name for name, page in pages.items() if page is chosen)
    spec = PAGES[name]
    st.session_state[_PAGE_KEY] = name
    st.set_page_config(page_title=f"{spec.title} · {APP_TITLE}")
    _draw_account(user)
    if user is not None and user.role not in spec.roles:
        _refuse(spec.title, user)
    if user is None and name not in _OPEN_WITHOUT_OWNER and not _sample_only():
        st.title(spec.title)
        st.error(
            "Data beyond the sample practice is stored, and no user exists yet. Create the "
            "first owner, then sign in: `python -m practice users add NAME --role owner`."
        )
        st.stop()
    _draw_filters(spec)
    _remember_filters()
    st.title(spec.title)
    return name, chosen


def current_user() -> auth.SignedInUser | None:
    """The signed-in user, or None in demo mode."""
    return st.session_state.get("user")


def may_open(page_file: str) -> bool:
    """Whether the signed-in user (or the demo visitor) may open `pages/<page_file>`."""
    user = current_user()
    return user is None or user.role in PAGES[page_file].roles


def menu_pages(user: auth.SignedInUser | None) -> list[str]:
    """The pages/ files in `user`'s menu, in order (all of them in demo mode)."""
    return [name for name, spec in PAGES.items() if user is None or user.role in spec.roles]


def _file_pages(user: auth.SignedInUser | None) -> dict[str, st.Page]:
    """One st.Page per file in pages/: the user's menu pages visible, the others hidden.

    Hidden pages still open by their URL, and `route()` refuses them. The first menu page is
    the user's home (`/`); signed out, `route()` hides the whole menu.
    """
    unknown = sorted({p.name for p in PAGES_DIR.glob("*.py")} - set(PAGES))
    if unknown:
        raise RuntimeError(f"pages/{unknown[0]} is not listed in practice.ui.PAGES")
    menu = menu_pages(user)
    return {
        name: st.Page(
            PAGES_DIR / name,
            title=spec.title,
            default=user is not None and name == menu[0],
            visibility="visible" if name in menu else "hidden",
        )
        for name, spec in PAGES.items()
    }


def _users_exist() -> bool:
    with get_engine().connect() as conn:
        return auth.any_users(conn)


def _sample_only() -> bool:
    return load_counts(data_version()).sample_only


def _refuse(title: str, user: auth.SignedInUser) -> None:
    st.title(title)
    st.error(
        f"Your role ({ROLE_LABELS[user.role]}) cannot open **{title}**. "
        "Use the menu in the sidebar."
    )
    audit("page_refused", title)
    st.stop()


# Session keys of the sign-in: this tab's web session (auth.start_web_session), the ticket to
# hand its browser on this run, whether the browser's cookie is to be cleared, whether the
# cookie this tab opened with was tried already, and the filters last kept with the session.
_WEB_SESSION = "web_session"
_TICKET = "web_session.ticket"
_CLEAR_COOKIE = "web_session.clear_cookie"
_COOKIE_TRIED = "web_session.cookie_tried"
_FILTERS_KEPT = "web_session.filters"
_SIGNED_OUT_NOTICES = {
    "idle": "You were signed out after a period without activity.",
    "disabled": "Your account is no longer active.",
    "expired": f"You were signed out: a sign-in lasts at most {config.SESSION_MAX_HOURS:g} "
    "hours. Please sign in again.",
    "ended": "You were signed out (in another tab, or your password was changed).",
}


def _signed_in_user() -> auth.SignedInUser | None:
    """The session's user, re-read from the database; signed out after IDLE_MINUTES idle.

    A new browser tab (a reload, a link) starts without a user: the session cookie, if it
    belongs to a live session, signs it in (`_resume_from_cookie`).
    """
    user = st.session_state.get("user")
    if user is None:
        return _resume_from_cookie()
    now = dt.datetime.now(dt.UTC)

    def check(conn: Connection) -> tuple[auth.SignedInUser | None, str | None]:
        fresh = auth.load_user(conn, user.username)
        return fresh, _why_signed_out(conn, user, fresh, now)

    fresh, why = db.run_transaction(get_engine(), check)
    if why is not None or fresh is None:
        _forget_user()
        st.session_state["sign_in_notice"] = _SIGNED_OUT_NOTICES[why or "disabled"]
        return None
    st.session_state["user"] = fresh
    st.session_state["last_seen"] = now
    return fresh


def _why_signed_out(
    conn: Connection,
    user: auth.SignedInUser,
    fresh: auth.SignedInUser | None,
    now: dt.datetime,
) -> str | None:
    """None while the session lasts, else why it ended (the audit log has it)."""
    session_id = st.session_state.get(_WEB_SESSION)
    if session_id is not None:
        # Activity in any tab of the browser counts; the session may have been revoked.
        status = auth.keep_web_session(conn, session_id)
        if status == "active":
            return None
        return "disabled" if fresh is None else status
    last_seen = st.session_state.get("last_seen", now)
    idle = now - last_seen > dt.timedelta(minutes=config.IDLE_MINUTES)
    if fresh is None or idle:
        auth.record_event(conn, "signed_out", user.username, "idle" if idle else "disabled")
        return "idle" if idle else "disabled"
    return None


def _resume_from_cookie() -> auth.SignedInUser | None:
    """The user of this browser's live session cookie, tried once per tab."""
    token = _session_cookie()
    if token is None or st.session_state.get(_COOKIE_TRIED):
        return None
    st.session_state[_COOKIE_TRIED] = True
    resumed = db.run_transaction(get_engine(), lambda conn: auth.resume_web_session(conn, token))
    if resumed is None:
        st.session_state[_CLEAR_COOKIE] = True
        return None
    st.session_state["user"] = resumed.user
    st.session_state["last_seen"] = dt.datetime.now(dt.UTC)
    st.session_state[_WEB_SESSION] = resumed.session_id
    _restore_filters(resumed.filters)
    return resumed.user


def _session_cookie() -> str | None:
    """The session cookie the browser sent when this tab connected (HttpOnly: never in JS)."""
    token = st.context.cookies.get(COOKIE_NAME)
    return token if isinstance(token, str) and token else None


def _sign_in_form() -> None:
    """The sign-in form; on success the same URL reruns signed in."""
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

    def attempt(conn: Connection) -> tuple[auth.SignInResult, auth.WebSessionStart | None]:
        result = auth.sign_in(
            conn, username, password, address=address if isinstance(address, str) else None
        )
        start = auth.start_web_session(conn, result.user.username) if result.user else None
        return result, start

    result, start = db.run_transaction(get_engine(), attempt)
    if result.user is None or start is None:
        st.error(result.message)
        return
    st.session_state["user"] = result.user
    st.session_state["last_seen"] = dt.datetime.now(dt.UTC)
    st.session_state[_WEB_SESSION] = start.session_id
    st.session_state[_TICKET] = start.ticket
    st.rerun()


def _forget_user() -> None:
    if st.session_state.get(_WEB_SESSION) is not None or _session_cookie() is not None:
        st.session_state[_CLEAR_COOKIE] = True
    for key in ("user", "last_seen", _WEB_SESSION, _TICKET, _FILTERS_KEPT):
        st.session_state.pop(key, None)


def _sign_out() -> None:
    """The user's own sign-out: their browser's session is revoked and its cookie cleared."""
    audit("signed_out", "by the user")
    session_id = st.session_state.get(_WEB_SESSION)
    if session_id is not None:
        with get_engine().begin() as conn:
            auth.end_web_session(conn, session_id)
    _forget_user()


def _hand_ticket_to_browser() -> None:
    """Right after sign-in: the page exchanges the one-time ticket for the HttpOnly cookie."""
    ticket = st.session_state.pop(_TICKET, None)
    if ticket is not None:
        _call_session_route("POST", {"ticket": ticket}, done="kept")


def _forget_cookie_in_browser() -> None:
    """After a sign-out (or a dead cookie): the route clears the browser's cookie."""
    if st.session_state.pop(_CLEAR_COOKIE, False):
        _call_session_route("DELETE", {}, done="cleared")


def _call_session_route(method: str, body: dict[str, str], *, done: str) -> None:
    """A script without visible content that calls the session route from this page.

    It marks the page (`<html data-headway-session=...>`) when the answer comes, so that the
    browser tests wait for it. The only values put in the script are a ticket made by
    `secrets.token_urlsafe` (letters, digits, - and _) and a call id of hex digits, written as
    JSON strings. Streamlit runs an element's script each time it mounts it, and may mount one
    element twice: the call id makes the second run do nothing, so that a spent ticket's
    refusal never overwrites the first answer.
    """
    call = json.dumps(secrets.token_hex(8))
    script = (
        "(() => { const calls = (window.headwaySessionCalls ??= new Set()); "
        f"if (calls.has({call})) return; calls.add({call}); "
        f"fetch({json.dumps(SESSION_PATH)}, {{method: {json.dumps(method)}, "
        "credentials: 'same-origin', headers: {'Content-Type': 'application/json'}, "
        f"body: {json.dumps(json.dumps(body))}}})"
        f".then((r) => {{ document.documentElement.dataset.headwaySession = "
        f"r.ok ? {json.dumps(done)} : 'refused'; }}); }})();"
    )
    st.html(f"<script>{script}</script>", unsafe_allow_javascript=True)


def _remember_filters() -> None:
    """Keep the sidebar filters with the browser's web session when they change."""
    session_id = st.session_state.get(_WEB_SESSION)
    if session_id is None:
        return
    chosen = {
        key: _json_value(st.session_state[key])
        for key in FILTER_KEYS.values()
        if key in st.session_state
    }
    kept = json.dumps(chosen, sort_keys=True)
    if kept == st.session_state.get(_FILTERS_KEPT):
        return
    with get_engine().begin() as conn:
        auth.remember_filters(conn, session_id, kept)
    st.session_state[_FILTERS_KEPT] = kept


def _restore_filters(kept: str | None) -> None:
    """The filters a reloaded browser had chosen, back in their widget keys."""
    try:
        chosen = json.loads(kept) if kept else {}
    except ValueError:
        return
    for key in FILTER_KEYS.values():
        if key in chosen:
            st.session_state[key] = _python_value(chosen[key])
    st.session_state[_FILTERS_KEPT] = kept


def _json_value(value: object) -> object:
    """A filter's value as JSON: dates as {"date": ISO}, tuples as lists."""
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value


def _python_value(value: object) -> object:
    """The inverse of `_json_value`; a list of dates (the period) becomes a tuple."""
    if isinstance(value, dict) and isinstance(value.get("date"), str):
        return dt.date.fromisoformat(value["date"])
    if isinstance(value, list):
        items = [_python_value(v) for v in value]
        return tuple(items) if items and all(isinstance(v, dt.date) for v in items) else items
    return value


def _draw_account(user: auth.SignedInUser | None) -> None:
    """Who is signed in and the sign-out button, or the demo-mode notice; the sample notice."""
    with st.sidebar:
        if user is not None:
            who = user.username + (f" ({user.therapist_name})" if user.therapist_name else "")
            st.caption(f"Signed in as **{who}**, {ROLE_LABELS[user.role].lower()}.")
            if st.button("Sign out", key="sign_out"):
                _sign_out()
                st.rerun()
            _hand_ticket_to_browser()
        elif _sample_only():
            st.warning(
                "**Demo mode**: no user exists yet, so anyone can open every page. "
                "Create the first owner to require sign-in: "
                "`python -m practice users add NAME --role owner`."
            )
        if _sample_only():
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
        # Sessions recorded, corrected or deleted in the app change the data too.
        version = queries.fetch_data_version(conn, recorded_events=recording.AUDIT_EVENTS)
    _forget_older_versions(version)
    return version


@st.cache_data(show_spinner=False, max_entries=4)
def load_counts(version: tuple[int, int]) -> queries.PracticeCounts:
    """Headline counts of what is stored."""
    with get_engine().connect() as conn:
        return queries.fetch_counts(conn)


# The practice's frames and outcomes are cached as resources: one object shared by every session
# and rerun. st.cache_data would unpickle a fresh copy on every call (0.1-0.3 s each at 1,000,000
# sessions, several per rerun) and keep the pickle as well (twice the memory). Callers get
# `_shared` copies instead: shallow, so no data is copied, and under pandas' copy-on-write any
# change a caller makes (a new column, an assignment, an in-place sort) stays in its copy.
# Entries of an older data version are dropped when a newer one is first seen (`data_version`),
# so a process holds one version's frames, not one per import.


@st.cache_resource(show_spinner="Loading sessions…", max_entries=2)
def _cached_frames(version: tuple[int, int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    # Clients and sessions from one snapshot, as Arrow columns where the URL allows it.
    return queries.fetch_frames(get_engine())


@st.cache_resource(show_spinner=False, max_entries=2)
def _cached_diary(version: tuple[int, int]) -> pd.DataFrame:
    return queries.fetch_in_snapshot(get_engine(), queries.fetch_diary_days)


@st.cache_resource(show_spinner=False, max_entries=8)
def _cached_scoped_frames(
    version: tuple[int, int], user: auth.SignedInUser | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    return access.scope_frames(*_load_frames(version), user)


@st.cache_resource(show_spinner="Computing outcomes…", max_entries=2)
def _cached_practice_outcomes(
    version: tuple[int, int],
) -> tuple[pd.DataFrame, analysis.ReferenceValues]:
    return analysis.compute_outcomes_and_reference(
        *_load_frames(version), diary=_load_diary(version)
    )


@st.cache_resource(show_spinner="Computing outcomes…", max_entries=8)
def _cached_outcomes(
    version: tuple[int, int], user: auth.SignedInUser | None, at: str
) -> pd.DataFrame:
    outcomes, reference = _practice_outcomes(version)
    if not at and access.sees_everything(user):
        return outcomes
    # A narrower view is judged against the whole practice: the same client gets the same
    # labels and alerts for every user allowed to see them (docs/metrics.md).
    # The diary of every client: only the series in the scoped frames take their days.
    return analysis.compute_client_outcomes(
        *_scoped_frames(version, user),
        reference=reference,
        diary=_load_diary(version),
        at=at or None,
    )


@st.cache_resource(show_spinner=False, max_entries=8)
def _cached_relief_sessions(
    version: tuple[int, int], user: auth.SignedInUser | None
) -> pd.DataFrame:
    """The sessions the relief can count (attended, pain scored before and after), with only
    the columns the filters and the relief read."""
    sessions = _scoped_frames(version, user)[1]
    # The relief counts no other session, and the filters keep or drop each row on its own, so
    # a filter change filters these few rows, not every session (0.5 s at 1,000,000 sessions);
    # and only these columns: the filtered copy of every column took 300 MB.
    read = [c for c in _RELIEF_READS if c in sessions.columns]
    scored = (
        sessions["status"].eq("attended").fillna(False).astype(bool)
        & sessions["pain_pre"].notna()
        & sessions["pain_post"].notna()
    )
    return sessions.loc[scored, read]


_FRAME_CACHES = (
    _cached_frames,
    _cached_diary,
    _cached_scoped_frames,
    _cached_practice_outcomes,
    _cached_outcomes,
    _cached_relief_sessions,
)


def _shared(frame: pd.DataFrame) -> pd.DataFrame:
    """A cached frame as a caller may use it: a shallow copy (copy-on-write keeps the cached
    frame as it is whatever the caller does to its copy)."""
    return frame.copy(deep=False)


def _load_frames(version: tuple[int, int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    clients, sessions = _cached_frames(version)
    return _shared(clients), _shared(sessions)


def _load_diary(version: tuple[int, int]) -> pd.DataFrame:
    return _shared(_cached_diary(version))


def load_diary() -> pd.DataFrame:
    """The headache diary days of the clients the signed-in user may see."""
    diary = _load_diary(data_version())
    return diary[diary["client_id"].isin(load_clients()["client_id"])].reset_index(drop=True)


def _scoped_frames(
    version: tuple[int, int], user: auth.SignedInUser | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    clients, sessions = _cached_scoped_frames(version, user)
    return _shared(clients), _shared(sessions)


def _practice_outcomes(
    version: tuple[int, int],
) -> tuple[pd.DataFrame, analysis.ReferenceValues]:
    """Every client's outcomes and the practice-wide reference values, once per data version."""
    outcomes, reference = _cached_practice_outcomes(version)
    return _shared(outcomes), reference


def _load_outcomes(version: tuple[int, int], user: auth.SignedInUser | None) -> pd.DataFrame:
    return _shared(_cached_outcomes(version, user, ""))


def _load_outcomes_at(
    version: tuple[int, int], user: auth.SignedInUser | None, at: str
) -> pd.DataFrame:
    """The user's outcomes with each measure at time point `at` ("3m"; "" is the last value),
    judged against the practice's reference values like `_load_outcomes`."""
    return _shared(_cached_outcomes(version, user, at))


def _forget_older_versions(version: tuple[int, int]) -> None:
    """Drop the cached frames of every other data version once `version` is seen."""
    global _seen_version
    with _seen_lock:
        if version == _seen_version:
            return
        if _seen_version is not None:
            for cache in _FRAME_CACHES:
                cache.clear()
        _seen_version = version


_seen_version: tuple[int, int] | None = None
_seen_lock = threading.Lock()


def visible_counts() -> queries.PracticeCounts:
    """Headline counts of what is stored that the signed-in user may see (a therapist: their
    own clients and their sessions), like every other figure."""
    clients, sessions = _scoped_frames(data_version(), current_user())
    return access.scope_counts(load_counts(data_version()), clients, sessions, current_user())


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
    return _selected_outcomes(data_version(), current_user(), filters)


# Typed, cached analyses of the selected outcomes: one wrapper per use, so that mypy checks
# names and options. The cache key is the data version, the user, the filters and the options:
# a rerun that changes none of them costs nothing, however large the practice.
def off_track_alerts(filters: Filters) -> pd.DataFrame:
    """`analysis.off_track_alerts` of the selected outcomes."""
    return _off_track_alerts(data_version(), current_user(), filters)


@st.cache_data(show_spinner=False, max_entries=16)
def _off_track_alerts(
    version: tuple[int, int], user: auth.SignedInUser | None, filters: Filters
) -> pd.DataFrame:
    return analysis.off_track_alerts(_selected_outcomes(version, user, filters))


def compare_groups(
    filters: Filters, *, by: str, measure: str, reference: str | None = None, at: str = ""
) -> pd.DataFrame:
    """`analysis.compare_groups` of the selected outcomes (population from the filters), with
    each client's value at time point `at` ("3m"; "" the last available value)."""
    return _compare_groups(data_version(), current_user(), filters, by, measure, reference, at)


@st.cache_data(show_spinner="Comparing groups…", max_entries=64)
def _compare_groups(
    version: tuple[int, int],
    user: auth.SignedInUser | None,
    filters: Filters,
    by: str,
    measure: str,
    reference: str | None,
    at: str = "",
) -> pd.DataFrame:
    return analysis.compare_groups(
        _selected_outcomes(version, user, filters, at),
        by=by,
        measure=measure,
        population=filters.population,
        reference=reference,
    )


def funnel_frames(
    filters: Filters, *, measure: str, statistic: str, by: str = "therapist"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`analysis.funnel_data` by therapist (or `by` location) of the selected outcomes: the
    adjusted residuals (a table's "Position") and the points for `statistic` (the same frame
    when that is the residual), from one selection of the population's rows.

    Computed on every therapist (location) of the selection, then narrowed to those chosen in
    the sidebar: the practice's target, over-dispersion and limits do not move when one
    is picked (docs/metrics.md, "Funnel plot").
    """
    every, chosen = filters.for_every_therapist(), filters.therapists
    if by == "location":
        every, chosen = filters.for_every_location(), filters.locations
    frames = _funnel_frames(data_version(), current_user(), every, measure, statistic, by)
    if not chosen:
        return frames
    residuals, points = (
        frame if frame.empty else frame.loc[frame["group"].isin(chosen)].reset_index(drop=True)
        for frame in frames
    )
    return residuals, points


@st.cache_data(show_spinner="Comparing therapists…", max_entries=32)
def _funnel_frames(
    version: tuple[int, int],
    user: auth.SignedInUser | None,
    filters: Filters,
    measure: str,
    statistic: str,
    by: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    statistics = dict.fromkeys(["adjusted_residual", statistic])  # the residual once
    frames = analysis.funnel_frames(
        _selected_outcomes(version, user, filters),
        measure=measure,
        statistics=list(statistics),
        by=by,
        population=filters.population,
    )
    return frames[0], frames[-1]


def time_to_response(filters: Filters, *, by: str, measure: str) -> pd.DataFrame:
    """`analysis.time_to_response` in sessions of the selected outcomes."""
    return _time_to_response(data_version(), current_user(), filters, by, measure)


@st.cache_data(show_spinner="Timing responses…", max_entries=32)
def _time_to_response(
    version: tuple[int, int],
    user: auth.SignedInUser | None,
    filters: Filters,
    by: str,
    measure: str,
) -> pd.DataFrame:
    return analysis.time_to_response(
        _selected_outcomes(version, user, filters),
        by=by,
        measure=measure,
        scale="sessions",
        population=filters.population,
    )


def _selected_outcomes(
    version: tuple[int, int], user: auth.SignedInUser | None, filters: Filters, at: str = ""
) -> pd.DataFrame:
    """The outcomes `filters` select, selected once per page run: a page's analyses (the
    Therapists page has nine) each selected them again, a copy of every column of the chosen
    rows each time. Kept for the run only (`run_page`), so no selection outlives its page;
    outside a routed run (a fragment's rerun) each call selects."""
    selections = getattr(_routing, "selections", None)
    if selections is None:
        return filter_outcomes(_load_outcomes_at(version, user, at), filters)
    key = (version, user, filters, at)
    if key not in selections:
        selections[key] = filter_outcomes(_load_outcomes_at(version, user, at), filters)
    return _shared(selections[key])


def session_relief(filters: Filters, *, by: str) -> pd.DataFrame:
    """Immediate relief (pain before minus after) of the selected sessions, cached."""
    return _session_relief(data_version(), current_user(), filters, by)


@st.cache_data(show_spinner=False, max_entries=16)
def _session_relief(
    version: tuple[int, int], user: auth.SignedInUser | None, filters: Filters, by: str
) -> pd.DataFrame:
    clients = _scoped_frames(version, user)[0]
    sessions = _shared(_cached_relief_sessions(version, user))
    return analysis.immediate_relief(
        filter_sessions(sessions, clients, filters), by=by, clients=clients
    )


_RELIEF_READS = (
    *("client_id", "session_date", "therapist", "location", "techniques"),  # the filters
    *("status", "pain_pre", "pain_post"),  # the relief
)


def filtered_sessions(filters: Filters) -> pd.DataFrame:
    """Sessions the sidebar selects."""
    return filter_sessions(load_sessions(), load_clients(), filters)


def clear_caches() -> None:
    """Forget cached frames (after an import or an undo in this process)."""
    st.cache_data.clear()
    for cache in _FRAME_CACHES:
        cache.clear()


# --- sidebar filters ---------------------------------------------------------------------------
def current_filters() -> Filters:
    """What the sidebar filters (drawn by the router) select; "all" where a page has none."""
    state = st.session_state
    start, end = _period_bounds(state.get(FILTER_KEYS["period"]))
    return Filters(
        start,
        end,
        _strings(state.get(FILTER_KEYS["therapists"])),
        _strings(state.get(FILTER_KEYS["techniques"])),
        _strings(state.get(FILTER_KEYS["headache_types"])),
        str(state.get(FILTER_KEYS["population"], "all")),
        _strings(state.get(FILTER_KEYS["baseline_sources"])),
        _strings(state.get(FILTER_KEYS["locations"])),
    )


def _draw_filters(spec: PageSpec) -> None:
    """The sidebar filters the page reads.

    Each filter's value lives in its widget key alone, kept for the whole session
    (`persist_state="session"`): across page changes and on pages that do not draw it.
    """
    if not spec.filters:
        return
    sessions = load_sessions()
    keys = FILTER_KEYS
    with st.sidebar:
        st.header("Filters")
        st.date_input(
            "Session dates",
            value=_full_period(sessions),
            key=keys["period"],
            help="Series with a session in this period are included.",
            persist_state="session",
        )
        st.multiselect(
            "Therapist",
            options=sorted(sessions["therapist"].unique()),
            key=keys["therapists"],
            placeholder="All therapists",
            persist_state="session",
        )
        locations = _location_options(sessions)
        if locations:  # only a practice whose data names locations has the filter
            st.multiselect(
                "Location",
                options=locations,
                key=keys["locations"],
                placeholder="All locations",
                help="Series whose latest session was at these locations (docs/metrics.md, "
                "'Locations').",
                persist_state="session",
            )
        st.multiselect(
            "Primary technique",
            options=sorted(
                {t for ts in sessions["techniques"].unique() for t in ts.split(";") if t}
            ),
            format_func=technique_label,
            key=keys["techniques"],
            placeholder="All techniques",
            persist_state="session",
        )
        st.multiselect(
            "Headache type",
            options=list(HEADACHE_TYPES),
            format_func=lambda code: HEADACHE_TYPES[code],
            key=keys["headache_types"],
            placeholder="All headache types",
            persist_state="session",
        )
        st.multiselect(
            "Baseline",
            options=list(BASELINE_SOURCE_OPTIONS),
            format_func=lambda code: BASELINE_SOURCE_OPTIONS[code],
            key=keys["baseline_sources"],
            placeholder="Diary and recalled baselines",
            help="Where the intake's baseline came from: a headache diary kept before starting, "
            "or the client's recall at intake. Recalled baselines are less certain "
            "(docs/metrics.md, 'Baseline source').",
            persist_state="session",
        )
        if spec.population:
            st.radio(
                "Who is counted",
                options=list(POPULATION_LABELS),
                format_func=lambda code: POPULATION_LABELS[code],
                key=keys["population"],
                help=POPULATION_HELP,
                persist_state="session",
            )


def _location_options(sessions: pd.DataFrame) -> list[str]:
    """The locations the sessions name, sorted; empty when the data has none."""
    if "location" not in sessions:
        return []
    return sorted(sessions["location"].dropna().unique().tolist())


def _strings(values: object) -> tuple[str, ...]:
    return tuple(str(v) for v in values) if isinstance(values, list | tuple) else ()


def _full_period(sessions: pd.DataFrame) -> list[Any]:  # Any: date_input takes a mixed list
    if sessions.empty:
        return []
    return [sessions["session_date"].min().date(), sessions["session_date"].max().date()]


def _period_bounds(period: object) -> tuple[dt.date | None, dt.date | None]:
    if isinstance(period, tuple | list):
        start = period[0] if len(period) > 0 else None
        end = period[1] if len(period) > 1 else None
        return start, end
    return (period, period) if isinstance(period, dt.date) else (None, None)


# --- the action guard --------------------------------------------------------------------------
# Streamlit runs on_click callbacks before the script, and download builders on click, on a
# thread without the session: the route()'s check of the user comes too late for both. Each
# callback and builder asks `may_still_act` (or its builder twin) first, at the moment it runs.
@dataclass(frozen=True)
class Actor:
    """Who was signed in when a control was drawn (None: a demo visitor), when they were last
    active, and the roles of the page it is on."""

    username: str | None
    seen_at: dt.datetime
    page_roles: frozenset[str]


def may_still_act(action: str, client_id: str | None = None) -> bool:
    """Whether the signed-in user may still do `action` (on `client_id`) now: call it first in
    every on_click/on_change callback that changes or reveals something, and do nothing if False.

    Re-reads the user from the database: they must still exist and be active, not be idle
    longer than PRACTICE_IDLE_MINUTES, have a role allowed both on the page and for the action
    (`ACTION_ROLES`; an action not listed there is allowed to every role of the page), and, for
    a client, be allowed to see that client. A refusal is logged and signs the session out.
    """
    reason = refusal_reason(_current_actor(), action, client_id)
    if reason is None:
        return True
    _forget_user()
    st.session_state["sign_in_notice"] = f"Nothing was done: {reason}. Sign in again."
    return False


def refusal_reason(actor: Actor, action: str, client_id: str | None = None) -> str | None:
    """Why `actor` may not do `action` (on `client_id`) now, or None when they may; a refusal is
    recorded in the audit log ("action_refused")."""
    now = dt.datetime.now(dt.UTC)
    roles = actor.page_roles & ACTION_ROLES.get(action, actor.page_roles)

    def check(conn: Connection) -> str | None:
        user = auth.load_user(conn, actor.username) if actor.username else None
        reason = None
        if actor.username is None:
            reason = "sign-in is required now" if auth.any_users(conn) else None
        elif user is None:
            reason = "this account is no longer active"
        elif now - actor.seen_at > dt.timedelta(minutes=config.IDLE_MINUTES):
            reason = "you were signed out after a period without activity"
        elif user.role not in roles:
            reason = f"your role ({ROLE_LABELS[user.role]}) may not do this"
        elif client_id is not None and not _in_scope(user, client_id):
            reason = "this client is not among yours"
        if reason is not None:
            detail = f"{action}" + (f" on client {client_id}" if client_id else "") + f": {reason}"
            auth.record_event(conn, "action_refused", actor.username, detail)
        return reason

    return db.run_transaction(get_engine(), check)


def _current_actor() -> Actor:
    """The session's user as an Actor (read from the session: call on the script thread)."""
    user = current_user()
    page = st.session_state.get(_PAGE_KEY)
    return Actor(
        user.username if user else None,
        st.session_state.get("last_seen", dt.datetime.now(dt.UTC)),
        PAGES[page].roles if page in PAGES else frozenset(),
    )


def _in_scope(user: auth.SignedInUser, client_id: str) -> bool:
    clients, _ = _scoped_frames(data_version(), user)
    return bool((clients["client_id"] == client_id).any())


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


def _logged(
    build: Callable[[], bytes], detail: str, *, client_id: str | None = None
) -> Callable[[], bytes]:
    """`build`, run only if the user may still download it when clicked (`refusal_reason`),
    recording in the audit log who downloaded what (never the data itself)."""
    engine, actor = get_engine(), _current_actor()

    def build_and_log() -> bytes:
        reason = refusal_reason(actor, "download", client_id)
        if reason is not None:
            raise PermissionError(f"Nothing to download: {reason}.")
        with engine.begin() as conn:
            auth.record_event(conn, "export", actor.username, detail)
        return build()

    return build_and_log


def download_table(
    frame: pd.DataFrame,
    file_name: str,
    *,
    label: str = "Download CSV",
    key: str | None = None,
    headers: Mapping[str, str] | None = None,
    client_id: str | None = None,
) -> None:
    """A CSV download of `frame` in the spreadsheet conventions of `exports.table_csv`
    (`headers` name columns as the page does), formulas neutralised; logged when taken.
    `client_id`: the one client the table is about (re-checked as in scope on click)."""
    _offer_download(
        label,
        _logged(
            lambda: table_csv(frame, headers=headers),
            f"{file_name}: {len(frame)} rows",
            client_id=client_id,
        ),
        file_name=file_name,
        mime="text/csv",
        key=key or f"csv-{file_name}",
    )


def download_report(
    label: str,
    data: Callable[[], bytes],
    file_name: str,
    *,
    key: str,
    help: str | None = None,
    client_id: str | None = None,
) -> None:
    """A PDF download built only when clicked, logged in the audit log when taken (`client_id`:
    the one client it is about)."""
    _offer_download(
        label,
        _logged(data, file_name, client_id=client_id),
        file_name=file_name,
        mime="application/pdf",
        key=key,
        help=help,
    )


def show_chart(
    chart: alt.TopLevelMixin | partial[alt.TopLevelMixin],
    file_name: str,
    *,
    key: str | None = None,
    client_id: str | None = None,
) -> None:
    """Draw an Altair chart with a PNG download under it, logged when taken (with the client
    whose trajectory it shows, when it shows one).

    Given as `partial(builder, *arguments)`, the chart is built and drawn once per set of
    arguments and then replayed (`_draw_chart`).
    """
    if isinstance(chart, partial):
        title = _draw_chart(
            chart,
            _qualified_name(chart.func),
            tuple(_hashable(value) for value in chart.args),
            {name: _hashable(value) for name, value in chart.keywords.items()},
        )
        build: Callable[[], alt.TopLevelMixin] = chart
    else:
        _send_chart(chart)
        title, build = chart_title(chart), lambda: chart
    about = f"chart '{title}'" + (f" of client {client_id}" if client_id else "")
    _offer_download(
        "Download PNG",
        _logged(lambda: chart_png(build()), f"{file_name}: {about}", client_id=client_id),
        file_name=file_name,
        mime="image/png",
        key=key or f"png-{file_name}",
    )


def explain(title: str, body: str) -> None:
    """A folded plain-language explanation of the terms on a page."""
    with st.expander(title):
        st.markdown(body)


def client_link_column(label: str = "Client") -> ColumnConfig:
    """A table column of `formatting.client_link`s that shows each client's plain id."""
    return st.column_config.LinkColumn(label, display_text=formatting.CLIENT_LINK_TEXT)


def show_client_table(
    frame: pd.DataFrame, columns: list[str], *, file_name: str, order: str
) -> None:
    """A table of clients whose ids link to their progress page, `TABLE_PAGE_ROWS` at a time
    (`order`: the frame's order, e.g. "by id"), with a CSV download of every row."""
    show_paged_table(
        frame[columns],
        key=f"page-{file_name}",
        order=order,
        prepare=lambda rows: rows.assign(link=rows["client_id"].map(formatting.client_link)),
        hide_index=True,
        row_height=WRAPPED_ROW_HEIGHT,  # "Why" wraps instead of running past the edge
        column_order=["link", *[c for c in columns if c != "client_id"]],
        column_config={
            "link": client_link_column(),
            "client_name": "Name",
            "therapist": "Therapist",
            "sessions_attended": st.column_config.NumberColumn("Sessions"),
            "pain_pct_change": st.column_config.NumberColumn("Pain change %", format="%+.0f"),
            "hd28_pct_change": st.column_config.NumberColumn(
                "Headache days change %", format="%+.0f"
            ),
            "reason": st.column_config.TextColumn("Why", width=320),
        },
    )
    download_table(frame[columns], file_name)


# --- recording a session (Client progress) ---------------------------------------------------
_NEW = "record"  # widget key prefix of the new-session form
_NOTICE = "recording.notice"
_PROBLEMS = "recording.problems"  # form prefix -> field -> messages
_PERIODS = {"7": "in the last 7 days", "28": "in the last 28 days"}
_SCORES = (  # field, step (whole-number scores step by 1)
    ("pain_pre", 0.5),
    ("pain_post", 0.5),
    ("medication_days_7d", 1.0),
    ("stress", 0.5),
    ("sleep_quality", 0.5),
    ("hit6", 1.0),
    ("midas", 1.0),
)


@dataclass(frozen=True)
class _FormChoices:
    therapists: list[str]
    techniques: list[str]


def record_session_section(client_id: str) -> None:
    """Record, correct and delete this client's sessions, for users who may (else nothing)."""
    user = current_user()
    with get_engine().connect() as conn:
        if not recording.may_record(conn, user, client_id):
            return
        recorded = recording.fetch_recorded_sessions(conn, client_id)
        names = queries.fetch_therapist_names(conn)
        keys = set(queries.fetch_technique_keys(conn))
    own = user.therapist_name if user is not None and user.role == "therapist" else None
    choices = _FormChoices(
        therapists=[own] if own else names,
        techniques=sorted(set(TECHNIQUES) | keys, key=technique_label),
    )
    notice = st.session_state.pop(_NOTICE, None)
    if notice:
        st.success(notice)
    failed = st.session_state.get(_PROBLEMS, {})
    with st.expander("✍️ Record a session", expanded=_NEW in failed):
        _entry_form(_NEW, client_id, choices, {})
    if recorded.empty:
        return
    rows = recorded.set_index("session_id")
    with st.expander(f"✏️ Correct or delete a session recorded here ({len(rows)})"):
        chosen = st.selectbox(
            "Session",
            rows.index.tolist(),
            format_func=lambda i: (
                f"{rows.at[i, 'session_date']:%d %b %Y} · {rows.at[i, 'therapist']}"
            ),
            key="recording.chosen",
        )
        _entry_form(f"correct.{chosen}", client_id, choices, rows.loc[chosen].to_dict(), chosen)
        st.button(
            "Delete this session",
            key=f"delete.{chosen}",
            on_click=_delete_recorded,
            args=(int(chosen), client_id),
            help="Deletes the session from Headway; its values stay in the audit log.",
        )


def _entry_form(
    prefix: str,
    client_id: str,
    choices: _FormChoices,
    stored: dict[str, object],
    session_id: int | None = None,
) -> None:
    """The session form (blank, or filled with a stored session to correct)."""

    def given(name: str) -> object:
        value = stored.get(name)
        return None if value is None or (isinstance(value, float) and pd.isna(value)) else value

    label = recording.ENTRY_LABELS
    with st.form(f"{prefix}-form", border=False):
        left, middle, right = st.columns(3)
        left.date_input(
            label["session_date"],
            value=given("session_date") or dt.date.today(),  # type: ignore[call-overload]
            format="YYYY-MM-DD",
            key=f"{prefix}.session_date",
        )
        therapist = given("therapist")
        middle.selectbox(
            label["therapist"],
            choices.therapists,
            index=choices.therapists.index(therapist) if therapist in choices.therapists else 0,
            key=f"{prefix}.therapist",
        )
        status = str(given("status") or "attended")
        right.selectbox(
            label["status"],
            list(STATUSES),
            index=list(STATUSES).index(status) if status in STATUSES else 0,
            format_func=STATUSES.__getitem__,
            key=f"{prefix}.status",
            help="Follow-up: an assessment visit without treatment, e.g. a check-up months "
            "after the course.",
        )
        used = [k for k in str(given("techniques") or "").split(";") if k in choices.techniques]
        st.multiselect(
            label["techniques"],
            choices.techniques,
            default=used,
            format_func=technique_label,
            key=f"{prefix}.techniques",
        )
        monthly = given("headache_days_28d")
        days, period = st.columns(2)
        count = monthly if monthly is not None else given("headache_days_7d")
        days.number_input(
            label["headache_days_7d"],
            value=None if count is None else float(count),  # type: ignore[arg-type]
            step=1.0,
            key=f"{prefix}.headache_days",
        )
        period.radio(
            "Headache days counted",
            list(_PERIODS),
            index=1 if monthly is not None else 0,
            format_func=_PERIODS.__getitem__,
            horizontal=True,
            key=f"{prefix}.period",
            help="Since the last weekly visit (7 days) or over the last 28 days.",
        )
        columns = st.columns(len(_SCORES))
        for column, (name, step) in zip(columns, _SCORES, strict=True):
            value = given(name)
            column.number_input(
                label[name],
                value=None if value is None else float(value),  # type: ignore[arg-type]
                step=step,
                key=f"{prefix}.{name}",
            )
        st.text_area(label["notes"], value=str(given("notes") or ""), key=f"{prefix}.notes")
        st.form_submit_button(
            "Record session" if session_id is None else "Save correction",
            on_click=_submit_entry,
            args=(prefix, client_id, session_id),
        )
    problems = st.session_state.get(_PROBLEMS, {}).get(prefix)
    if problems:
        st.error(
            "Nothing was saved. Please correct:\n"
            + "\n".join(
                f"- **{label.get(field, field) if field else 'Session'}**: {message}"
                for field, messages in problems.items()
                for message in messages
            )
        )


def _submit_entry(prefix: str, client_id: str, session_id: int | None) -> None:
    """Form callback: check and write the entry, or keep its problems for the form to show."""
    problems: dict[str, dict[str, list[str]]] = st.session_state.setdefault(_PROBLEMS, {})
    problems.pop(prefix, None)
    if not may_still_act("record_session", client_id):
        return
    entry = _form_entry(prefix, client_id)
    try:
        if session_id is None:
            recording.record_session(get_engine(), current_user(), entry)
            notice = f"Session of {entry.session_date:%d %b %Y} recorded."
        else:
            changed = recording.correct_session(get_engine(), current_user(), session_id, entry)
            notice = (
                f"Correction saved ({', '.join(sorted(changed))})."
                if changed
                else "Nothing changed."
            )
    except recording.EntryRejected as exc:
        problems[prefix] = exc.problems
        return
    except recording.NotAllowed as exc:
        problems[prefix] = {"": [str(exc)]}
        return
    _forget_form(prefix)
    st.session_state[_NOTICE] = notice


def _form_entry(prefix: str, client_id: str) -> recording.SessionEntry:
    state = st.session_state
    days, weekly = state.get(f"{prefix}.headache_days"), state.get(f"{prefix}.period") == "7"
    scores = {name: state.get(f"{prefix}.{name}") for name, _ in _SCORES}
    return recording.SessionEntry(
        client_id=client_id,
        session_date=state.get(f"{prefix}.session_date"),
        therapist=str(state.get(f"{prefix}.therapist") or ""),
        techniques=tuple(state.get(f"{prefix}.techniques") or ()),
        status=str(state.get(f"{prefix}.status") or "attended"),
        headache_days_7d=days if weekly else None,
        headache_days_28d=None if weekly else days,
        notes=state.get(f"{prefix}.notes") or None,
        **scores,
    )


def _forget_form(prefix: str) -> None:
    """Clear a form's widgets after it was saved (a new session starts blank)."""
    for key in [k for k in st.session_state if str(k).startswith(f"{prefix}.")]:
        del st.session_state[key]


def _delete_recorded(session_id: int, client_id: str) -> None:
    """Button callback: delete a session recorded in the app."""
    if not may_still_act("delete_session", client_id):
        return
    try:
        recording.delete_session(get_engine(), current_user(), session_id)
    except recording.NotAllowed as exc:
        st.session_state[_NOTICE] = None
        st.session_state.setdefault(_PROBLEMS, {})[f"correct.{session_id}"] = {"": [str(exc)]}
        return
    _forget_form(f"correct.{session_id}")
    st.session_state[_NOTICE] = "Session deleted (its values stay in the audit log)."


# --- the client picker and paged tables --------------------------------------------------------
# No widget sends a list that grows with the practice (issue 12): at 1,000,000 sessions the
# picker's 160,000 labels were 3.3 MB and a caseload 4.3 MB, sent on every rerun.
CLIENT_MATCHES = 50  # the client picker offers at most this many matches of its search
TABLE_PAGE_ROWS = 50  # rows a client table shows at a time; its download holds them all


def client_matches(filters: Filters, query: str) -> tuple[pd.DataFrame, int, int]:
    """The first `CLIENT_MATCHES` clients (`client_id`, `label`) whose id or name contains
    `query` (`progress.search_clients`) among those the user may see and the sidebar's
    therapist, location, headache-type and baseline filters keep; how many match; how many
    were searched."""
    return _client_matches(
        data_version(),
        current_user(),
        (filters.therapists, filters.headache_types, filters.baseline_sources, filters.locations),
        str(query or "").strip().casefold(),
    )


@st.cache_data(show_spinner=False, max_entries=64)
def _client_matches(
    version: tuple[int, int],
    user: auth.SignedInUser | None,
    narrowed_by: tuple[tuple[str, ...], ...],
    query: str,
) -> tuple[pd.DataFrame, int, int]:
    choices = _client_choices(version, user, narrowed_by)
    return (*progress.search_clients(choices, query, limit=CLIENT_MATCHES), len(choices))


# A shared, read-only frame (never changed by a caller): cache_resource hands back the object
# itself, where cache_data would unpickle a copy of every client's label on each search.
@st.cache_resource(show_spinner=False, max_entries=4)
def _client_choices(
    version: tuple[int, int],
    user: auth.SignedInUser | None,
    narrowed_by: tuple[tuple[str, ...], ...],
) -> pd.DataFrame:
    therapists, headache_types, baseline_sources, locations = narrowed_by
    return progress.client_choices(
        *_scoped_frames(version, user),
        therapists=therapists,
        headache_types=headache_types,
        baseline_sources=baseline_sources,
        locations=locations,
    )


def show_paged_table(
    frame: pd.DataFrame,
    *,
    key: str,
    order: str,
    prepare: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    **dataframe_args: Any,
) -> None:
    """`frame` as a table of `TABLE_PAGE_ROWS` rows at a time, in its own order (`order` says
    which, e.g. "newest first"), with a page number under it when there is more than one page.

    `prepare` turns the page's rows into what is shown (e.g. ids into links), so that only
    the rows on screen pay for it; `dataframe_args` go to `st.dataframe`.
    """
    table = st.container()
    shown = _page_of_rows(frame, key=key, order=order)
    table.dataframe(prepare(shown) if prepare else shown, **dataframe_args)


def _page_of_rows(frame: pd.DataFrame, *, key: str, order: str) -> pd.DataFrame:
    pages = max(1, -(-len(frame) // TABLE_PAGE_ROWS))
    if pages == 1:
        st.session_state.pop(key, None)
        return frame
    if st.session_state.get(key, 1) > pages:  # fewer rows than when the page was chosen
        st.session_state[key] = pages
    number_box, caption_box = st.columns([1, 4], vertical_alignment="bottom")
    number = number_box.number_input(
        f"Page (of {pages:,})", min_value=1, max_value=pages, step=1, key=key
    )
    first = (int(number) - 1) * TABLE_PAGE_ROWS
    shown = frame.iloc[first : first + TABLE_PAGE_ROWS]
    caption_box.caption(
        f"Rows {first + 1:,}-{first + len(shown):,} of {len(frame):,}, {order}. The download "
        "holds every row."
    )
    return shown


def client_links(rows: pd.DataFrame) -> pd.DataFrame:
    """`rows` with their "Client" ids as links to Client progress (`client_link_column`)."""
    return rows.assign(Client=rows["Client"].map(formatting.client_link))


def caseload_table(filters: Filters, therapist: str) -> pd.DataFrame:
    """`comparisons.caseload_table` (plain ids) of the selected outcomes, cached."""
    return _caseload_table(data_version(), current_user(), filters, therapist)


@st.cache_data(show_spinner=False, max_entries=16)
def _caseload_table(
    version: tuple[int, int], user: auth.SignedInUser | None, filters: Filters, therapist: str
) -> pd.DataFrame:
    return comparisons.caseload_table(
        _selected_outcomes(version, user, filters), therapist, links=False
    )


# Building an Altair chart and validating its spec against the Vega-Lite schema costs 50-300 ms
# a chart whatever its size, on every rerun. A cached function that draws replays the element
# it drew (Streamlit's cached element replay): the same arguments draw the same chart, so a
# rerun sends the recorded chart without building it. The arguments are small, aggregated
# frames (charts never get raw sessions), hashed by content as part of the key.
@st.cache_data(show_spinner=False, max_entries=256)
def _draw_chart(
    _build: partial[alt.TopLevelMixin],
    builder: str,
    args: tuple[Any, ...],
    keywords: dict[str, Any],
) -> str:
    # Altair checks every schema object it creates against the Vega-Lite schema ("debug mode",
    # for clearer tracebacks while a chart is being written): 30-50 % of building a chart, on
    # every filter change. The builders' tests build them with the checks on and validate each
    # spec. The switch is process-wide, not per thread: a chart built on another thread
    # meanwhile is only checked less, never drawn differently.
    with alt.utils.schemapi.debug_mode(False):
        chart = _build()
        _send_chart(chart)
    return chart_title(chart)


def _send_chart(chart: alt.TopLevelMixin) -> None:
    """`st.altair_chart(chart)` without Altair's check of the spec against the Vega-Lite schema.

    The check (jsonschema over the whole spec) took 30-90 ms a chart at 100,000 sessions, on
    every filter change, and a page draws up to five charts. It guards the builders, not the
    data: every builder's spec is validated by its tests (tests/test_charts_*.py call
    `to_dict()`). The spec sent is the same dict; only the check is left out.
    """
    # Streamlit converts the chart with `chart.to_dict()`: an instance attribute answers before
    # the class's method (Altair's own __setattr__ would store it as a chart property).
    object.__setattr__(chart, "to_dict", partial(type(chart).to_dict, chart, validate=False))
    try:
        st.altair_chart(chart, width="stretch")  # type: ignore[call-overload]
    finally:
        object.__delattr__(chart, "to_dict")


def _qualified_name(function: Callable[..., Any]) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def _hashable(value: object) -> object:
    """`value` as Streamlit's cache hashes it cheaply: an Altair object (a colour scale) by its
    spec, a frame by a digest of its pickle (about 20x faster than Streamlit's own frame hash,
    which took 15-100 ms a chart)."""
    if isinstance(value, alt.SchemaBase):
        return (type(value).__name__, value.to_dict(validate=False))
    if isinstance(value, pd.DataFrame | pd.Series):
        return (type(value).__name__, hashlib.blake2b(pickle.dumps(value), digest_size=16).digest())
    return value


def technique_keys() -> list[str]:
    """`comparisons.technique_keys` of the sessions the user may see (the charts' colours)."""
    return _technique_keys(data_version(), current_user())


@st.cache_data(show_spinner=False, max_entries=8)
def _technique_keys(version: tuple[int, int], user: auth.SignedInUser | None) -> list[str]:
    return comparisons.technique_keys(_scoped_frames(version, user)[1])


@dataclass(frozen=True)
class OverviewFigures:
    """What the Overview shows of the selected outcomes and sessions (`overview_figures`)."""

    headlines: overview.Headlines
    baselines: str  # overview.baseline_source_text
    empty: str | None  # comparisons.empty_population_text
    trend: pd.DataFrame  # overview.monthly_trend, one row a month
    distribution: pd.DataFrame  # overview.change_distribution, one row a band


def overview_figures(filters: Filters, *, start: object, end: object) -> OverviewFigures:
    """The Overview's figures of the selection, cached per data version, user, filters and
    the trend's period (`start` to `end`): a rerun no longer recomputes them."""
    return _overview_figures(data_version(), current_user(), filters, start, end)


@st.cache_data(show_spinner=False, max_entries=16)
def _overview_figures(
    version: tuple[int, int],
    user: auth.SignedInUser | None,
    filters: Filters,
    start: object,
    end: object,
) -> OverviewFigures:
    outcomes = _selected_outcomes(version, user, filters)
    clients, sessions = _scoped_frames(version, user)
    chosen = filter_sessions(sessions, clients, filters)
    population = filters.population
    return OverviewFigures(
        headlines=overview.compute_headlines(outcomes, chosen, population=population),
        baselines=overview.baseline_source_text(overview.baseline_source_counts(outcomes)),
        empty=comparisons.empty_population_text(outcomes, population),
        trend=overview.monthly_trend(chosen, start=start, end=end),
        distribution=overview.change_distribution(outcomes, population=population),
    )


def client_frames(client_id: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One client's sessions, outcome rows (one per series) and headache diary days, of what
    the user may see: what Client progress shows, cut once per client from the practice's
    frames instead of on every rerun."""
    return _client_frames(data_version(), current_user(), client_id)


@st.cache_data(show_spinner=False, max_entries=32)
def _client_frames(
    version: tuple[int, int], user: auth.SignedInUser | None, client_id: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    sessions = _scoped_frames(version, user)[1]
    outcomes = _load_outcomes(version, user)
    diary = _load_diary(version)
    return (
        sessions.loc[sessions["client_id"] == client_id].reset_index(drop=True),
        outcomes.loc[outcomes["client_id"] == client_id].reset_index(drop=True),
        diary.loc[diary["client_id"] == client_id].reset_index(drop=True),
    )


def shaped(function: Callable[..., _T], *args: Any, **keywords: Any) -> _T:
    """`function(*args, **keywords)`, cached by the content of its arguments: for the display
    tables a page shapes from cached analyses (small frames), rebuilt only when those change.
    `function` must be pure; the result is a copy (st.cache_data), so callers may change it."""
    return _shaped(
        function,
        args,
        keywords,
        _qualified_name(function),
        tuple(_hashable(value) for value in args),
        {name: _hashable(value) for name, value in keywords.items()},
    )


@st.cache_data(show_spinner=False, max_entries=256)
def _shaped(
    _function: Callable[..., Any],
    _args: tuple[Any, ...],
    _keywords: dict[str, Any],
    function: str,
    args: tuple[Any, ...],
    keywords: dict[str, Any],
) -> Any:
    return _function(*_args, **_keywords)
